"""The sampling controls that the reverse process and the comparison share: their number boxes (limits from
core.diffusion.sampling), the class and scheduler choices, and reading a run's denoiser and settings from them."""
from __future__ import annotations

from core.data import CLASSES
from core.diffusion import sampling
from core.diffusion.hub_unets import open_denoiser
from explorers.common import Box
from explorers.inputs import PRIVATE

STEPS = Box("Steps", 1, sampling.MAX_STEPS, 50)
ETA = Box("DDIM η", 0, sampling.MAX_ETA, 0.0, whole=False)
SEED = Box("Seed", 0, 2**31 - 1, 0)
GUIDANCE = Box("Guidance w", 0, sampling.MAX_GUIDANCE, sampling.DEFAULT_GUIDANCE, whole=False)
RESCALE = Box("Guidance rescale φ", 0, sampling.MAX_RESCALE, 0.0, whole=False)
UNCONDITIONAL = "unconditional"


def class_choices() -> list:
    return [("unconditional (the ∅ token)", UNCONDITIONAL)] + [(f"{c}: {name}", str(c))
                                                              for c, name in enumerate(CLASSES)]


def scheduler_choices() -> list:
    return [(text, name) for name, (_, _, text) in sampling.SCHEDULERS.items()]


def read_settings(cls, w_box, scheduler, steps_box, seed_box, eta_box=0.0, thresholding=False, rescale_box=0.0,
                  model="default", w=GUIDANCE, steps=STEPS):
    """The denoiser and settings of a run from the page's boxes (each clamped and named by Box.read), the readings
    to echo, and a note on the model (a fallback, or that an unconditional model ignores the class)."""
    denoiser, note = open_denoiser(model)
    readings = [w.read(w_box), steps.read(steps_box), SEED.read(seed_box), ETA.read(eta_box),
                RESCALE.read(rescale_box)]
    w_used, steps_used, seed, eta, rescale = (r.value for r in readings)
    label = None if cls in (None, UNCONDITIONAL) else int(cls)
    if label is not None and not denoiser.conditional:
        label, note = None, (note or "") + f" {denoiser.name} is unconditional, so the class is not used."
    settings = sampling.check(denoiser, label, w_used, scheduler, steps_used, seed, eta, bool(thresholding),
                              rescale)
    return denoiser, settings, readings, (note or "").strip()


def echo_on_commit(sliders: list, numbers: list) -> None:
    """A value typed into a box is checked when it is committed (a slider's release, a number box's Enter), with
    Box.read's warning and the value used echoed, not only when the run starts."""
    for component, box in sliders + numbers:
        event = component.release if (component, box) in sliders else component.submit
        event(lambda value, box=box: box.read(value).shown, component, component, **PRIVATE)
