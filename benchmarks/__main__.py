"""Run the benchmark groups and print ratios against same-run references."""

from __future__ import annotations

import argparse
import platform

import numpy as np

from . import (
    bench_batch,
    bench_busy,
    bench_costing,
    bench_covariates,
    bench_coverage,
    bench_eval,
    bench_intervals,
    bench_lite,
    bench_models,
    bench_rfm,
    bench_run,
    bench_udfs,
)

GROUPS = {"rfm": bench_rfm.run, "run": bench_run.run, "models": bench_models.run,
          "costing": bench_costing.run, "udfs": bench_udfs.run, "batch": bench_batch.run,
          "busy": bench_busy.run, "intervals": bench_intervals.run, "lite": bench_lite.run,
          "eval": bench_eval.run, "coverage": bench_coverage.run,
          "covariates": bench_covariates.run}
OPT_IN = {"coverage"}  # minutes of CPU: run only when named


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    p.add_argument("groups", nargs="*", help=f"any of {', '.join(GROUPS)} (default: all but "
                   f"{', '.join(sorted(OPT_IN))})")
    p.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    args = p.parse_args()
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        p.error(f"unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    for name in args.groups or [g for g in GROUPS if g not in OPT_IN]:
        print(f"== {name}", flush=True)
        GROUPS[name](quick=args.quick)


if __name__ == "__main__":
    main()
