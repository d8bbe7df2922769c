"""Killed runs, concurrent runs and formula injection: the files stay whole and inert."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from xlvalue.cli.headless_run import run_workbook

from .conftest import write_tables


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _valid_output(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    return "xv_RFM" in openpyxl.load_workbook(path, read_only=True).sheetnames


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xlvalue", "run", *args, "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_sigkill_during_runs_leaves_files_whole(demo_book, demo_run, tmp_path):
    rng = random.Random(42)
    book = tmp_path / "book.xlsx"
    book.write_bytes(demo_book.read_bytes())
    original = _sha(book)
    out = tmp_path / "out.xlsx"
    out.write_bytes(demo_run[1].read_bytes())  # a previous good output of the same book
    for _ in range(5):
        proc = _start(str(book), "-o", str(out))
        time.sleep(rng.uniform(0.0, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _sha(book) == original
        assert _valid_output(out)
    inplace = tmp_path / "inplace.xlsx"
    inplace.write_bytes(demo_book.read_bytes())
    for _ in range(5):
        before = _sha(inplace)
        proc = _start(str(inplace), "--in-place")
        time.sleep(rng.uniform(0.0, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # either untouched or completely rewritten, never half-written
        assert _sha(inplace) == before or _valid_output(inplace)
        with zipfile.ZipFile(inplace) as zf:
            assert zf.testzip() is None


@pytest.mark.slow
def test_two_runs_writing_the_same_output(demo_book, tmp_path):
    out = tmp_path / "same.xlsx"
    procs = [_start(str(demo_book), "-o", str(out)) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert _valid_output(out)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_formula_like_text_is_written_as_text(tmp_path):
    names = ['=HYPERLINK("http://x","y")', "+1+2", "-3", "@SUM(A1)", "\tx", "\rdata"]
    ids = [f"C{i}" for i in range(len(names))]
    tx = pd.DataFrame({"CustomerID": ids * 2,
                       "Date": pd.to_datetime(["2024-01-01"] * 6 + ["2024-02-01"] * 6),
                       "Amount": [10.0 + i for i in range(12)]})
    customers = pd.DataFrame({"CustomerID": ids, "Name": names})
    book = write_tables(tmp_path / "inj.xlsx", {"xv_Transactions": tx, "xv_Customers": customers})
    wb = openpyxl.load_workbook(book)  # openpyxl takes '=...' for a formula: store it as text
    for row in wb["Customers"].iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].data_type = "s"
    wb.save(book)
    report = run_workbook(book, only="rfm")
    with zipfile.ZipFile(report.output) as zf:
        ours = [n for n in zf.namelist() if n.startswith("xl/worksheets/xlvalue_")]
        assert ours and all(b"<f>" not in zf.read(n) and b"<f " not in zf.read(n) for n in ours)
    ws = openpyxl.load_workbook(report.output)["xv_RFM"]
    values = {c.value for row in ws.iter_rows() for c in row}
    assert '=HYPERLINK("http://x","y")' in values and "@SUM(A1)" in values
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
