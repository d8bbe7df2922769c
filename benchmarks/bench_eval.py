"""`xlvalue eval` on the realistic cases of issue 17, end to end (a fresh `xlvalue eval`
process each, interpreter start and imports included): the demo workbook with
`=XV_RFM(Transactions!A1:C6920)` (6,919 purchases), the shipped formulas workbook, and the
same XV_RFM over whole columns (`Transactions!A:C`). The
direct path (XV_ formulas over constants computed without the `formulas` engine) against the
engine-only path (the path before it: `evaluate(..., engine_only=True)`), both measured in
this run; plus the in-process time of `evaluate` alone. Target: at least 5x faster."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from xlvalue.formula_eval.evaluate import evaluate
from xlvalue.pipeline import new_template

from .common import report

ROOT = Path(__file__).resolve().parents[1]

# the old path through the same CLI: cmd_eval imports `evaluate` when it runs
ENGINE_ONLY = ("import functools, sys; import xlvalue.formula_eval.evaluate as e; "
               "e.evaluate = functools.partial(e.evaluate, engine_only=True); "
               "from xlvalue.cli.main import main; sys.exit(main(sys.argv[1:]))")
DIRECT = "import sys; from xlvalue.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _cli(code: str, book: Path, tmp: Path) -> float:
    """Wall time of one `xlvalue eval BOOK` process (the console script's own code)."""
    args = [sys.executable, "-c", code, "eval", str(book), "--report", str(tmp / "v.csv"), "-q"]
    t = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env={**os.environ, "TQDM_DISABLE": "1"})
    return time.perf_counter() - t


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(quick: bool = False) -> None:
    repeat = 1 if quick else 3
    load = os.getloadavg()[0]
    print(f"  load average {load:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        demo = new_template(tmp / "demo.xlsx", demo=True)
        wb = openpyxl.load_workbook(demo)
        wb["Settings"]["E2"] = "=XV_RFM(Transactions!A1:C6920)"
        wb.save(tmp / "rfm.xlsx")
        wb["Settings"]["E2"] = "=XV_RFM(Transactions!A:C)"
        wb.save(tmp / "columns.xlsx")
        cases = [("XV_RFM over Transactions!A1:C6920 (demo)", tmp / "rfm.xlsx"),
                 ("templates/xlvalue_formulas.xlsx (8 formulas)",
                  ROOT / "templates" / "xlvalue_formulas.xlsx"),
                 ("XV_RFM over Transactions!A:C (demo)", tmp / "columns.xlsx")]
        for name, book in cases:
            whole_columns = "A:C" in name  # a million rows per column: the old path once
            ours = min(_cli(DIRECT, book, tmp) for _ in range(repeat))
            old = min(_cli(ENGINE_ONLY, book, tmp) for _ in range(1 if whole_columns else repeat))
            report(f"eval CLI: {name}", ours, old, "engine-only", "ratio <= 0.2 (5x faster)")
            print(f"  speed-up end to end {old / ours:.1f}x", flush=True)
            if whole_columns:
                continue
            evaluate(book)  # imports out of the in-process timings
            ours = min(_timed(lambda b=book: evaluate(b)) for _ in range(repeat))
            old = min(_timed(lambda b=book: evaluate(b, engine_only=True)) for _ in range(repeat))
            report(f"evaluate(): {name}", ours, old, "engine-only")
            print(f"  speed-up in process {old / ours:.1f}x", flush=True)
