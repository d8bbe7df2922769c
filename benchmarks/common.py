"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """Best wall time of `repeat` calls, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def peak_memory(fn: Callable[[], object]) -> tuple[int, object]:
    """Peak bytes allocated by Python and numpy during fn (tracemalloc)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, result


def report(name: str, ours: float, ref: float, ref_name: str, target: str = "") -> None:
    ratio = ours / ref if ref else float("nan")
    line = f"{name:<48} ours {ours * 1000:9.1f} ms   {ref_name} {ref * 1000:9.1f} ms   ratio {ratio:6.3f}x"
    if target:
        line += f"   (target {target})"
    print(line, flush=True)
