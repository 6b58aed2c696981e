"""Giving memory back to the system once large request bodies are gone.

glibc keeps freed heap pages for reuse, so a burst of large bodies would leave the process
hundreds of megabytes bigger for good. `malloc_trim(0)` hands free pages back, including those
in the middle of the heap. It runs only when the last large body in flight is released: an
ordinary request never pays for it. Without glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

LARGE_BODY = 4 * 1024 * 1024  # bodies from this size on are worth a trim when they go


def _find_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_trim = _find_trim()


def give_back() -> bool:
    """Returns free heap pages to the system; False where the C library cannot."""
    if _trim is None:
        return False
    _trim(0)
    return True
