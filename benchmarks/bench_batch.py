"""Batch: 100 demo workbooks with --jobs 2 vs --jobs 1, and a Dask LocalCluster vs the pool;
the RFM summary of 10,000,000 purchases read from Parquet."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from xlvalue.analytics.rfm import rfm_summary
from xlvalue.cli.batch import run_batch
from xlvalue.workbook.transactions_file import read_transactions_file

from .common import best_of, peak_memory, report

ROOT = Path(__file__).resolve().parents[1]


def run(quick: bool = False) -> None:
    copies = 10 if quick else 100
    with tempfile.TemporaryDirectory() as tmp:
        books = []
        for i in range(copies):
            p = Path(tmp) / f"book{i:03d}.xlsx"
            shutil.copy(ROOT / "templates" / "xlvalue_demo.xlsx", p)
            books.append(p)
        out = Path(tmp) / "out"
        t1, _ = best_of(lambda: run_batch(books, 1, out, "rfm,ranking", progress=False), 1)
        t2, _ = best_of(lambda: run_batch(books, 2, out, "rfm,ranking", progress=False), 1)
        report(f"batch {copies} books, --jobs 2 (ratio = 1 / speed-up)", t2, t1, "--jobs 1",
               "<= 0.556x (>= 1.8x speed-up)")
        try:
            from xlvalue.cluster.dask_rfm import client_for

            td, _ = best_of(lambda: run_batch(books, 2, out, "rfm,ranking", "local",
                                              progress=False), 1)
            report(f"batch {copies} books, Dask LocalCluster 2 workers (incl. start)", td, t2,
                   "process pool", "<= 1.2x")
            with client_for("local", 2) as client:
                client.run(lambda: __import__("xlvalue.cli.headless_run"))  # a long-lived cluster is warm
                tw, _ = best_of(lambda: run_batch(books, 2, out, "rfm,ranking", progress=False,
                                                  client=client), 1)
            report(f"batch {copies} books, running LocalCluster 2 workers", tw, t2,
                   "process pool", "<= 1.2x")
        except ImportError:
            print("dask not installed: LocalCluster comparison skipped")
        n = 2_000_000 if quick else 10_000_000
        rng = np.random.default_rng(0)
        start = np.datetime64("2022-01-01", "D")
        frame = pd.DataFrame({
            "CustomerID": pd.array(rng.integers(0, n // 10, n).astype(str), dtype="string"),
            "Date": start + rng.integers(0, 730, n).astype("timedelta64[D]"),
            "Amount": np.round(rng.gamma(2.0, 20.0, n), 2)})
        path = Path(tmp) / "log.parquet"
        frame.to_parquet(path)
        del frame

        def from_parquet():
            log, _, _ = read_transactions_file(path)
            return rfm_summary(log, int(log.day.max()))

        t, summary = best_of(from_parquet, 1)
        peak, _ = peak_memory(from_parquet)
        input_bytes = n * (8 + 8 + 8)
        print(f"RFM summary of {n:,} purchases from Parquet: {t:.2f} s, {len(summary):,} "
              f"customers, peak {peak / 1e6:,.0f} MB = {peak / input_bytes:.2f}x the 3 input "
              "columns as 8-byte values", flush=True)
        if sys.platform.startswith("linux"):
            _whole_run(Path(tmp), path, n, input_bytes)


def _whole_run(tmp: Path, log_path: Path, n: int, input_bytes: int) -> None:
    """`xlvalue run --only rfm,ranking` on a workbook whose TransactionsFile is the Parquet
    log, in a child process: time and peak resident memory above the interpreter's baseline."""
    from openpyxl import Workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = Workbook()
    ws = wb.active
    ws.title = "Settings"
    ws.append(["Key", "Value"])
    ws.append(["TransactionsFile", log_path.name])
    wb.defined_names["xv_Settings"] = DefinedName("xv_Settings", attr_text="Settings!$A$1:$B$2")
    book = tmp / "big.xlsx"
    wb.save(book)
    out = subprocess.run([sys.executable, "-m", "benchmarks.peak_run", str(book), "--only",
                          "rfm,ranking", "-o", str(tmp / "big_out.xlsx")], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    code, seconds, peak, base = out.stdout.split()[-4:]
    own = int(peak) - int(base)
    print(f"xlvalue run --only rfm,ranking, {n:,} purchases from Parquet: {float(seconds):.1f} s, "
          f"peak RSS {int(peak) / 1e6:,.0f} MB, {own / 1e6:,.0f} MB above the {int(base) / 1e6:,.0f} MB "
          f"after imports = {own / input_bytes:.2f}x the 3 input columns as 8-byte values "
          f"(exit {code})", flush=True)
