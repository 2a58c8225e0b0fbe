"""The diffusion topic: noise schedules, the forward process, sampling with diffusers' schedulers, the 2-D toy.

diffusers is imported here, on first use, by one thread at a time: it takes 4 s (so not at the app's start), and
two events importing it at once saw a half-initialised module ("module 'diffusers' has no attribute
'DDIMScheduler'")."""
import importlib
import threading

_IMPORTING = threading.Lock()


def diffusers_class(name: str):
    """The diffusers class `name` (DDPMScheduler, UNet2DModel ...)."""
    with _IMPORTING:
        return getattr(importlib.import_module("diffusers"), name)
