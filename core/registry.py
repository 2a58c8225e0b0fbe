"""Models loaded once per process and shared: one registry per kind of model (the CNNs, the vision transformers,
the text transformers), with a lock per model and a memory of failed downloads.

- One lock per model: a second caller of the same model waits for its one download or trace instead of starting
  another, while a 500 MB download never holds up someone using a bundled model.
- A model whose weights cannot be had raises ModelUnavailable. When a download failed (DownloadFailed), the
  registry remembers that for `retry_seconds` and says so again at once, instead of waiting for the hub's retries
  on every click of an offline machine.
- `resolve` falls back to the bundled model, with one line saying why.
- `max_loaded` bounds how many models stay in memory (the text registry accepts any Hugging Face id); the least
  recently used one is forgotten first.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from core.validate import echo

log = logging.getLogger(__name__)

RETRY_SECONDS = 300
M = TypeVar("M")


class ModelUnavailable(ValueError):
    """A valid model whose weights cannot be had here; the message is one line for a person."""


class DownloadFailed(ModelUnavailable):
    """The weights are not cached and the download failed: not worth retrying for a while."""


class Registry(Generic[M]):
    def __init__(self, build: Callable[[str], M], bundled: str, names: tuple[str, ...] | None = None,
                 label: str | None = None, max_loaded: int | None = None, retry_seconds: float = RETRY_SECONDS):
        """`names`: the models that may be asked for (None: any name `build` accepts); `label`: how the fallback
        note names the bundled model."""
        self.build, self.bundled, self.names, self.label = build, bundled, names, label or bundled
        self.max_loaded, self.retry_seconds = max_loaded, retry_seconds
        self.loaded: OrderedDict[str, M] = OrderedDict()
        self.failed: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def load(self, name: str) -> M:
        """Model `name` with its real weights; ModelUnavailable when they cannot be had."""
        if self.names is not None and name not in self.names:
            raise ValueError(f"Unknown model {echo(name)}; choose one of {', '.join(self.names)}.")
        with self._locks_lock:
            if name in self.loaded:
                self.loaded.move_to_end(name)
                return self.loaded[name]
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self.loaded:
                failed_at, reason = self.failed.get(name, (None, ""))
                if failed_at is not None and time.monotonic() - failed_at < self.retry_seconds:
                    raise ModelUnavailable(reason)
                try:
                    model = self.build(name)
                except DownloadFailed as e:
                    self.failed[name] = (time.monotonic(), str(e))
                    raise
                with self._locks_lock:
                    self.loaded[name] = model
                    while self.max_loaded is not None and len(self.loaded) > self.max_loaded:
                        self.loaded.popitem(last=False)
            return self.loaded[name]

    def resolve(self, name: str) -> tuple[M, str | None]:
        """Model `name`, or the bundled one with one line saying why `name` could not be loaded."""
        try:
            return self.load(name), None
        except ModelUnavailable as e:
            log.info("%s", e)
            return self.load(self.bundled), f"{e} Showing the bundled {self.label} instead."

    def clear(self) -> None:
        """Forget loaded models and failed downloads (tests point the caches somewhere new)."""
        with self._locks_lock:
            self.loaded.clear()
            self.failed.clear()
