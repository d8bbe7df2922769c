"""Process limits of the command line: BLAS threads, address-space limits, out of memory.

Under an address-space limit (`ulimit -v`, or `ulimit -d`), OpenBLAS spins for ever when it
cannot map a thread's work buffer: in its thread set-up while numpy loads (a buffer per
thread), and in the first BLAS call of a thread that has none yet (a model fit), in native
code that SIGTERM never interrupts. So the entry point (`xlvalue`, `python -m xlvalue`:
xlvalue.__main__.console) sets the BLAS libraries to one thread before numpy loads (the fits
run on one thread anyway: analytics.models.base.limited_blas_threads), and under such a limit
lets each BLAS library map its buffer at start, while there is room: what runs out later is
Python's own memory, a MemoryError, which the command line turns into one line (exit 2).
Under a limit too small for OpenBLAS even to load (it then prints its own message and ends
the process, exit 1), the run is refused before anything loads, and pyarrow allocates with
the system allocator (mimalloc, its default, reserves 1 GiB of address space at a time).
"""

from __future__ import annotations

import errno
import os

__all__ = ["BLAS_THREAD_VARIABLES", "MIN_ADDRESS_SPACE", "OUT_OF_MEMORY", "address_space_limit",
           "address_space_limited", "limit_native_threads", "out_of_memory", "prepare_process",
           "reserve_blas_buffers"]

# read by OpenBLAS, MKL, Apple Accelerate and BLIS when they load; a value already set wins
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                         "BLIS_NUM_THREADS")

OUT_OF_MEMORY = ("out of memory: the process reached its memory limit (ulimit -v, a "
                 "container's limit, or the machine's memory); nothing was written. Give it "
                 "more memory, or run fewer books at once (batch -j)")


# numpy and scipy with their OpenBLAS libraries need ~260 MiB of address space to load (Linux,
# x86-64, measured); below this a limit is refused before they load
MIN_ADDRESS_SPACE = 320 << 20


def limit_native_threads() -> None:
    """One BLAS thread unless the environment says otherwise; before numpy loads."""
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


def address_space_limit() -> int | None:
    """The smaller soft limit on the address space (RLIMIT_AS) and data segment (RLIMIT_DATA)
    in bytes, None when neither is set (or on Windows)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    limits = []
    for name in ("RLIMIT_AS", "RLIMIT_DATA"):
        which = getattr(resource, name, None)
        if which is not None:
            soft = resource.getrlimit(which)[0]
            if soft != resource.RLIM_INFINITY:
                limits.append(soft)
    return min(limits) if limits else None


def address_space_limited() -> bool:
    """A soft limit on the address space (RLIMIT_AS) or data segment (RLIMIT_DATA) is set."""
    return address_space_limit() is not None


def prepare_process() -> str | None:
    """Before numpy loads: one BLAS thread, and under an address-space limit the system
    allocator for pyarrow (and no jemalloc background thread). Returns why the process cannot
    run (a limit below MIN_ADDRESS_SPACE), or None."""
    limit_native_threads()
    limit = address_space_limit()
    if limit is None:
        return None
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    # pyarrow's jemalloc would start a background thread and print when it cannot
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", "background_thread:false")
    if limit < MIN_ADDRESS_SPACE:
        return (f"the address-space limit (ulimit -v or -d) is {limit >> 20} MiB, below the "
                f"{MIN_ADDRESS_SPACE >> 20} MiB in which xlvalue's libraries (numpy, scipy, "
                "pyarrow) can load; raise the limit")
    return None


def reserve_blas_buffers() -> None:
    """Under an address-space limit, have numpy's and scipy's BLAS map their work buffer now
    (a 2x2 Cholesky factorisation each): a later call reuses it instead of spinning on a
    mapping that no longer fits. Without a limit nothing is done (nor imported)."""
    if not address_space_limited():
        return
    import numpy as np
    from scipy import linalg

    a = np.eye(2)
    np.linalg.cholesky(a)
    linalg.cholesky(a)


def out_of_memory(exc: BaseException) -> bool:
    """The failure is memory running out: a MemoryError, ENOMEM, or a library that could not
    be mapped while it loaded ('failed to map segment from shared object')."""
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    if isinstance(exc, ImportError):
        text = str(exc).lower()
        return "failed to map segment" in text or "cannot allocate memory" in text
    return False
