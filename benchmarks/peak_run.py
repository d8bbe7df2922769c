"""Child process of the batch benchmark: `xlvalue run` with its peak resident memory.

Prints one line: exit code, seconds, peak RSS, and the RSS after the imports (the baseline
every run of the interpreter pays), so the parent can report the run's own memory. Linux
only: the peak is VmHWM of /proc/self/status, which starts afresh at exec (ru_maxrss does
not: a child started by a big parent would report the parent's peak).
"""

from __future__ import annotations

import resource
import sys
import time


def _rss_now() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _peak_rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    import xlvalue.cli.headless_run  # noqa: F401  (imports are part of the baseline, not of the run)
    import xlvalue.cli.main

    base = _rss_now()
    started = time.perf_counter()
    code = xlvalue.cli.main.main(["run", *sys.argv[1:], "-q"])
    seconds = time.perf_counter() - started
    peak = _peak_rss()
    print(f"{code} {seconds:.3f} {peak} {base}")
