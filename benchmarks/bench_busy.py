"""Model fits on a busy machine: BLAS threads against two background processes.

Two child processes spin on the CPU while a BG/NBD model is fitted on 300,000 simulated
customers, three ways: with the BLAS library's default threads (what the fit did before it
limited them), as xlvalue fits by default (MLEModel.blas_threads = 1), and inside an explicit
one-thread limit. The target: the default fit takes at most 1.5x the one-thread time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from xlvalue.analytics.models import BetaGeoModel
from xlvalue.analytics.models.base import MLEModel, limited_blas_threads

BUSY_SECONDS = 600  # each spinner stops by itself after this, whatever happens to us
SPIN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextmanager
def busy_processes(count: int = 2) -> Iterator[None]:
    """`count` child processes spinning on the CPU (bounded in time), ended on exit."""
    children = [subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=BUSY_SECONDS)])
                for _ in range(count)]
    try:
        time.sleep(0.5)  # let them start spinning
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


@contextmanager
def blas_default() -> Iterator[None]:
    """Fits as before the limit: BLAS keeps the library's default thread count."""
    saved = MLEModel.blas_threads
    MLEModel.blas_threads = None
    try:
        yield
    finally:
        MLEModel.blas_threads = saved


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(quick: bool = False) -> None:
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"BLAS libraries: {', '.join(blas) or 'none found'}")
    n = 300_000
    truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    T_days = np.random.default_rng(1).integers(7, 730, n)
    x, tx, T = BetaGeoModel.simulate(truth, n, T=T_days / 7.0)
    tx = np.floor(tx * 7.0) / 7.0  # day resolution, as a transaction log gives

    def fit() -> BetaGeoModel:
        return BetaGeoModel().fit(x, tx, T)

    def fit_library_default() -> BetaGeoModel:
        with blas_default():
            return fit()

    def fit_one_thread() -> BetaGeoModel:
        with blas_default(), limited_blas_threads(1):
            return fit()

    repeat = 1 if quick else 3
    idle = median_time(fit, repeat)
    with busy_processes(2):
        library = median_time(fit_library_default, repeat)
        ours = median_time(fit, repeat)
        one = median_time(fit_one_thread, repeat)
    print(f"BG/NBD fit, {n:,} simulated customers, median of {repeat}")
    print(f"  no spinners, xlvalue default              {idle:8.2f} s")
    print(f"  two busy processes, BLAS library default  {library:8.2f} s   "
          f"{library / one:5.2f}x one thread")
    print(f"  two busy processes, xlvalue default       {ours:8.2f} s   "
          f"{ours / one:5.2f}x one thread   (target <= 1.5x)")
    print(f"  two busy processes, one BLAS thread       {one:8.2f} s", flush=True)
