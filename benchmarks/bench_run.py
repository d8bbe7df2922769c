"""`xlvalue run` on a 200,000-purchase workbook vs openpyxl load + save of the same file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.workbook.defined_name import DefinedName

from xlvalue.cli.headless_run import run_workbook

from .common import best_of, report


def build(path: Path, n_rows: int, n_customers: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Transactions")
    ws.append(["CustomerID", "Date", "Amount"])
    start = np.datetime64("2022-01-01", "D")
    ids = rng.integers(0, n_customers, n_rows)
    days = start + rng.integers(0, 730, n_rows).astype("timedelta64[D]")
    amounts = np.round(rng.gamma(2.0, 20.0, n_rows), 2)
    for cid, day, amt in zip(ids, days.astype(object), amounts, strict=True):
        ws.append([f"C{cid:06d}", day, float(amt)])
    wb.defined_names["xv_Transactions"] = DefinedName(
        "xv_Transactions", attr_text=f"Transactions!$A$1:$C${n_rows + 1}")
    wb.save(path)


def run(quick: bool = False) -> None:
    n_rows = 40_000 if quick else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "big.xlsx"
        build(book, n_rows, n_rows // 10)

        def openpyxl_roundtrip():
            wb = openpyxl.load_workbook(book)
            wb.save(Path(tmp) / "openpyxl.xlsx")

        t_ours, _ = best_of(lambda: run_workbook(book, Path(tmp) / "out.xlsx",
                                                 only="rfm,ranking"), repeat=2)
        t_all, _ = best_of(lambda: run_workbook(book, Path(tmp) / "out_all.xlsx"), repeat=1)
        t_ref, _ = best_of(openpyxl_roundtrip, repeat=1)
        report(f"xlvalue run --only rfm,ranking, {n_rows:,} purchases", t_ours, t_ref,
               "openpyxl load+save", "<= 0.5x")
        report(f"xlvalue run (all analyses), {n_rows:,} purchases", t_all, t_ref,
               "openpyxl load+save")
