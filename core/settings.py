"""Every environment variable Glassbox reads, in one place: its name, its type, its default and what it means.

A value is read when it is asked for (`MAX_PARAMS.get()`), so a variable set after start-up (a test, a launcher)
is obeyed; what sizes something once (a pool of training slots, gradio's queue) asks once, at import. A value
that cannot be read is logged and its default used, so a typo never stops the server; the launch flags' three
(host, port, device) are argparse defaults instead, and argparse refuses a bad one in one line.

The README's table of settings is SETTINGS, written out; tests/unit/test_settings.py checks that they agree.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
TRUE = {"1", "true", "yes", "on"}  # as huggingface_hub reads its own flags


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{value} is below 1")
    return value


def _flag(text: str) -> bool:
    return text.strip().lower() in TRUE


def _ids(text: str) -> frozenset[str] | None:
    """A comma-separated allow-list; None (any id) when it names nothing."""
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    return names or None


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    meaning: str
    parse: Callable[[str], Any] = str
    shown_default: str = ""   # the default as the README says it, where repr() would not read well

    def raw(self) -> str | None:
        """The variable as set, stripped; None when it is unset or empty."""
        value = os.environ.get(self.name, "").strip()
        return value or None

    def get(self, default: Any = None):
        """The parsed value; `default` (else the setting's own) when it is unset or cannot be read."""
        fallback = self.default if default is None else default
        value = self.raw()
        if value is None:
            return fallback
        try:
            return self.parse(value)
        except ValueError:
            log.warning("%s=%s cannot be read; using %s", self.name, value, fallback)
            return fallback


HOST = Setting("GLASSBOX_HOST", None, "address to bind (`--host`); else `GRADIO_SERVER_NAME`, else `127.0.0.1`, or "
               "`0.0.0.0` on a Hugging Face Space (where `SPACE_ID` is set); `0.0.0.0` serves a classroom on the LAN",
               shown_default="`127.0.0.1`")
PORT = Setting("GLASSBOX_PORT", "7860", "port (`--port`)", shown_default="`7860`")
DEVICE = Setting("GLASSBOX_DEVICE", "auto", "where the models run (`--device`): `auto` (cuda, then mps, then cpu), "
                 "`cpu`, `cuda` or `mps`", shown_default="`auto`")
CONCURRENCY = Setting("GLASSBOX_CONCURRENCY", 2, "how many events of one kind run at once; a classroom's other "
                      "requests queue instead of thrashing the machine", _positive)
SESSIONS = Setting("GLASSBOX_SESSIONS", 1000, "how many visitors' sessions gradio keeps (each about 0.4 MB; the "
                   "least recently used goes first)", _positive)
MAX_WAITING = Setting("GLASSBOX_MAX_WAITING", 16, "how many requests one client may have queued or running at once "
                     "(a page's session; a REST caller's address); more are refused at once with \"you already have "
                     "N requests waiting\" (HTTP 429), so no script can fill the queue that visitors share (opening a "
                     "tab sends up to 2 events at once; a visitor clicking through every tab of a busy server may "
                     "have 10 waiting)", _positive)
ORIGINS = Setting("GLASSBOX_ORIGINS", None, "comma-separated origins (`https://example.org`) whose pages may call "
                  "the server besides its own; `*` allows any; every other cross-origin request is refused", _ids,
                  shown_default="the page's own")
MAX_TRAINING = Setting("GLASSBOX_MAX_TRAINING", None, "how many GAN runs (visitors' and API calls') train at once, "
                       "each in a thread (a 2-D run in a worker process) of its own, for at most 5 minutes a press "
                       "of play; a visitor's run beyond them waits in line (the page says its place) and starts by "
                       "itself when a slot frees, and API calls are refused while visitors wait", _positive,
                       shown_default="half the CPU cores, at least 2; twice that with a GPU")
MAX_IMAGE_RUNS = Setting("GLASSBOX_MAX_IMAGE_RUNS", 20, "how many visitors' image-mode GAN runs (10-20 MB each) the "
                         "server keeps; a new one frees the least recently started one that is not training",
                         _positive)
CLEANUP_AGE = Setting("GLASSBOX_CLEANUP_AGE", 3600, "seconds an upload or a download file is kept: gradio's "
                      "cache (`GRADIO_TEMP_DIR`, else `/tmp/gradio`) and the app's `/tmp/glassbox-*` folders are "
                      "pruned of older files every minute (or every `GLASSBOX_CLEANUP_AGE` seconds if fewer)",
                      _positive)
DATA = Setting("GLASSBOX_DATA", None, "a folder of Fashion-MNIST IDX files, tried before Debian's "
               "`dataset-fashion-mnist`", Path, shown_default="unset")
CACHE = Setting("GLASSBOX_CACHE", Path.home() / ".cache" / "glassbox", "where downloads are kept (the "
                "Fashion-MNIST download)", Path, shown_default="`~/.cache/glassbox`")
OFFLINE = Setting("GLASSBOX_OFFLINE", False, "`1` forbids every download (torchvision weights, Hugging Face models, "
                  "the Fashion-MNIST download); so does `HF_HUB_OFFLINE=1` or `TRANSFORMERS_OFFLINE=1`, and the "
                  "app's notes name the one that was set", _flag, shown_default="off")
LOCAL_MODELS = Setting("GLASSBOX_LOCAL_MODELS", False, "`1` lets the Attention tab's model box open a local model "
                       "folder", _flag, shown_default="off")
TEXT_MODELS = Setting("GLASSBOX_TEXT_MODELS", None, "comma-separated allow-list of the Hugging Face ids the "
                      "Attention tab may open; unset means any id under the size cap", _ids,
                      shown_default="any id")
DIFFUSION_MODELS = Setting("GLASSBOX_DIFFUSION_MODELS", None, "comma-separated allow-list of the diffusers "
                           "UNet2DModel repos the Diffusion tab may open; unset means any id under the size cap",
                           _ids, shown_default="any id")
MAX_PARAMS = Setting("GLASSBOX_MAX_PARAMS", None, "the largest model (in parameters) a tab may open from the Hub, "
                     "counted before any weights are read", int,
                     shown_default="200 M for text models, 100 M for diffusion models")
REQUIRE_BROWSER = Setting("GLASSBOX_REQUIRE_BROWSER", False, "tests only: `1` makes the browser and deploy tests "
                          "fail, not skip, when Chromium or HAProxy is missing (`.ci/run` sets it)", _flag,
                          shown_default="off")
FUZZ_EXAMPLES = Setting("GLASSBOX_FUZZ_EXAMPLES", 30, "tests only: how many seeded examples the fuzz suite "
                        "(`tests/api/test_fuzz.py`) draws per endpoint", _positive)

SETTINGS = (HOST, PORT, DEVICE, CONCURRENCY, SESSIONS, MAX_WAITING, ORIGINS, MAX_TRAINING, MAX_IMAGE_RUNS,
            CLEANUP_AGE, DATA, CACHE, OFFLINE, LOCAL_MODELS, TEXT_MODELS, DIFFUSION_MODELS, MAX_PARAMS,
            REQUIRE_BROWSER, FUZZ_EXAMPLES)
# Downloads are forbidden by the project's own flag or by either of Hugging Face's.
OFFLINE_VARIABLES = (OFFLINE.name, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def offline_by() -> str | None:
    """The variable that forbids downloads, as it is set ("HF_HUB_OFFLINE=1"), or None when downloads are allowed."""
    for name in OFFLINE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.lower() in TRUE:
            return f"{name}={value}"
    return None


def readme_table() -> str:
    """The README's table of settings, one row per setting."""
    rows = ["| environment variable | default | meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = s.shown_default or f"`{s.default}`"
        rows.append(f"| `{s.name}` | {default} | {s.meaning} |")
    return "\n".join(rows)
