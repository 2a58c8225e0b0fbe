"""torch on one intra-op thread while small networks train or sample (the GAN tab's 2-D runs, the diffusion tab's
2-D toy). A net of a few dozen weights is bound by Python's overhead per torch call, which two threads of torch's
pool only slow down (measured on 2 cores: 160-210 GAN iterations/s against 860-990 on one thread).

torch's thread count acts as one setting for the whole process (a thread's set_num_threads(1) is what every
thread's ops then use, and another thread's set_num_threads(2) undoes it), so `one_thread()` counts its users: the
first sets one thread, the last restores the default; meanwhile the app's other work runs on one thread too. A
plain save-and-restore in two places would break that: one saving "1" while the other holds it would leave the
whole process on one thread for good."""
from __future__ import annotations

import contextlib
import threading

import torch

DEFAULT_THREADS = torch.get_num_threads()
_lock = threading.Lock()
_users = 0


@contextlib.contextmanager
def one_thread():
    """torch on one intra-op thread while the body runs; nests and overlaps across threads, and the default comes
    back when the last user leaves."""
    global _users
    with _lock:
        _users += 1
        if _users == 1:
            torch.set_num_threads(1)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                torch.set_num_threads(DEFAULT_THREADS)
