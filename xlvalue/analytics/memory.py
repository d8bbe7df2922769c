"""Giving freed memory back to the system between the steps of a big run.

numpy frees large arrays at once, but Arrow's memory pool keeps freed blocks for reuse and
glibc keeps freed heap below its top: after a 10M-row step several hundred MB can stay
resident though nothing uses them, and the next step's peak lands on top.
"""

from __future__ import annotations

import ctypes

import pyarrow as pa

__all__ = ["release_memory"]


def release_memory() -> None:
    """Hand freed memory back: Arrow's pool, then glibc's heap (glibc's part is a no-op
    elsewhere). Cheap (milliseconds); call it after a step that freed large arrays."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        pass
