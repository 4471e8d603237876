"""Hand the memory a start-up freed back to the system.

A replay allocates far more than it keeps (decoded messages, fetch buffers, duplicate
texts): glibc keeps what was freed in its heaps, so the process would stay as large as
its peak. ``malloc_trim`` returns every free page; elsewhere (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether it could (glibc only)."""
    return _TRIM is not None and _TRIM(0) == 1
