"""What every tab that opens Hugging Face repositories shares: the size cap (GLASSBOX_MAX_PARAMS), an allow-list
read from an environment variable, the hub-id check, and turning the hub's many failures into one line for a
person (a DownloadFailed when the files are neither cached nor downloadable, so the Registry remembers it), and
local_only(): whether loaders must keep to the cache, because a setting forbids downloads or the Hub is out of reach."""
from __future__ import annotations

import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from core import offline, settings
from core.registry import DownloadFailed

log = logging.getLogger(__name__)

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
MAX_HUB_ID = 96  # characters, the hub's own limit
# huggingface_hub retries a failed connection five times with back-off, about 24 s before it gives up; one short
# request first, remembered for a while, makes a machine without internet fall back to the cache at once.
REACH_TIMEOUT = 2.0   # seconds for the one probing request
REACH_SECONDS = 60.0  # how long its answer is trusted
_reach: dict[str, tuple[float, bool]] = {}  # endpoint: (when asked, reachable)
_reach_lock = threading.Lock()


def max_params(default: int) -> int:
    """GLASSBOX_MAX_PARAMS, or the tab's `default` when it is unset or not a whole number."""
    return settings.MAX_PARAMS.get(default)


def is_hub_id(model_id: str) -> bool:
    return len(model_id) <= MAX_HUB_ID and bool(HUB_ID.match(model_id)) and ".." not in model_id \
        and "--" not in model_id


def reachable() -> bool:
    """Whether the Hugging Face Hub answers at all (any HTTP status counts, through any proxy the environment
    names), asked at most once per REACH_SECONDS; concurrent callers wait for the one request."""
    from huggingface_hub import constants
    endpoint = constants.ENDPOINT
    with _reach_lock:
        asked, answer = _reach.get(endpoint, (-REACH_SECONDS, False))
        if time.monotonic() - asked < REACH_SECONDS:
            return answer
        try:
            # A new opener reads the proxy settings as they are now (urlopen's shared one keeps its first).
            opener = urllib.request.build_opener()
            opener.open(urllib.request.Request(endpoint, method="HEAD"), timeout=REACH_TIMEOUT).close()
            answer = True
        except urllib.error.HTTPError:  # it answered, if only with an error status
            answer = True
        except (OSError, ValueError) as e:  # no route, no name, refused, timed out; or a malformed endpoint
            log.info("The Hugging Face Hub (%s) cannot be reached: %s", endpoint, e)
            answer = False
        _reach[endpoint] = (time.monotonic(), answer)
        return answer


def local_only() -> bool:
    """Whether loading must keep to the Hugging Face cache (local_files_only): a setting forbids downloads
    (core.offline), or the Hub cannot be reached."""
    return offline.forbidden_by() is not None or not reachable()


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
