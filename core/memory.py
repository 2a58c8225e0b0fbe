"""Giving freed memory back to the system.

A heavy request (a 40 MP upload, DDPM-1000 keeping every frame) allocates hundreds of MB in numpy and torch
buffers; freed, most of it stays in glibc's heaps, fragmented between what the server still holds, so the
process kept it for good (RSS after a sweep of the heaviest requests stayed 1.5 times its level after warm-up,
2 minutes later). glibc's malloc_trim hands the free pages of every heap back.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def trim() -> bool:
    """Return the free pages of the C heaps to the system (glibc's malloc_trim(0)); False where there is no glibc
    (macOS, musl), whose allocators give memory back on their own terms."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))
