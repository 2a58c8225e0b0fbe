"""Whether this server may download anything, and which setting says it may not. Any one of these forbids every
download (torchvision weights, Hugging Face models, the Fashion-MNIST download): GLASSBOX_OFFLINE, the project's
own, and HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE, the Hugging Face conventions."""
from __future__ import annotations

from core import settings

VARIABLES = settings.OFFLINE_VARIABLES  # any one of them, set to 1, forbids every download


def tell_huggingface_hub() -> None:
    """Put huggingface_hub in (or out of) offline mode to match. It reads HF_HUB_OFFLINE once, at import, and
    outside offline mode it fetches a registry from the Hub to build its user agent even for local_files_only
    loads: one connection that GLASSBOX_OFFLINE alone, or a variable set after the import, would not stop."""
    from huggingface_hub import constants
    constants.HF_HUB_OFFLINE = forbidden_by() is not None


def forbidden_by() -> str | None:
    """The setting that forbids downloads, as it is set ("HF_HUB_OFFLINE=1"), or None when downloads are allowed."""
    return settings.offline_by()
