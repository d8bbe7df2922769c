"""Child process of the batch benchmark: `xlvalue run` with its peak resident memory.

Prints one line: seconds, peak RSS, and the RSS after the imports (the baseline every run of
the interpreter pays), so the parent can report the run's own memory. Linux/macOS only
(resource.getrusage).
"""

from __future__ import annotations

import resource
import sys
import time


def _rss_now() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


if __name__ == "__main__":
    import xlvalue.cli
    import xlvalue.engine  # noqa: F401  (imports are part of the baseline, not of the run)

    base = _rss_now()
    started = time.perf_counter()
    code = xlvalue.cli.main(["run", *sys.argv[1:], "-q"])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(f"{code} {seconds:.3f} {peak} {base}")
