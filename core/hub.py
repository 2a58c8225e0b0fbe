"""What every tab that opens Hugging Face repositories shares: the size cap (GLASSBOX_MAX_PARAMS), an allow-list
read from an environment variable, the hub-id check, and turning the hub's many failures into one line for a
person (a DownloadFailed when the files are neither cached nor downloadable, so the Registry remembers it)."""
from __future__ import annotations

import logging
import os
import re
from typing import Callable

from core import offline
from core.registry import DownloadFailed

log = logging.getLogger(__name__)

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
MAX_HUB_ID = 96  # characters, the hub's own limit


def max_params(default: int) -> int:
    """GLASSBOX_MAX_PARAMS, or `default` when it is unset or not a whole number."""
    try:
        return int(os.environ.get("GLASSBOX_MAX_PARAMS", default))
    except ValueError:
        log.warning("GLASSBOX_MAX_PARAMS is not a whole number; using %d", default)
        return default


def allow_list(variable: str) -> set[str] | None:
    """The comma-separated ids in environment variable `variable`; None (any id) when it is unset or empty."""
    names = os.environ.get(variable, "").strip()
    return {n.strip() for n in names.split(",") if n.strip()} if names else None


def is_hub_id(model_id: str) -> bool:
    return len(model_id) <= MAX_HUB_ID and bool(HUB_ID.match(model_id)) and ".." not in model_id \
        and "--" not in model_id


def readable_error(e: BaseException) -> str:
    """The first line of an exception's message, cut to 160 characters."""
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return first[:160]


def unreachable(e: BaseException | None) -> bool:
    """Whether loading failed because the files are neither cached nor downloadable (not because the id is bad)."""
    from huggingface_hub.errors import LocalEntryNotFoundError
    while e is not None:
        if isinstance(e, LocalEntryNotFoundError):
            return True
        e = e.__cause__ or e.__context__
    return False


def not_cached(model_id: str) -> str:
    """The one line for a repository that is not cached and cannot be downloaded here."""
    forbidden = offline.forbidden_by()
    where = f"{forbidden} forbids downloading it" if forbidden else "the Hugging Face Hub cannot be reached"
    return f"{model_id} is not in this machine's Hugging Face cache and {where}."


def fetch(model_id: str, load: Callable):
    """Call a hub loader, turning its many failures into one line for a person: DownloadFailed when the files
    cannot be had here, ValueError otherwise."""
    try:
        return load()
    except Exception as e:  # the hub and its libraries fail in many ways: missing repo, no safetensors, network
        if unreachable(e):
            raise DownloadFailed(not_cached(model_id)) from e
        raise ValueError(f"{model_id} cannot be loaded: {readable_error(e)}") from e
