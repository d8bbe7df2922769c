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


# ---- issue 23, item 14: the interrupted message matches what is on disk --------------------

@pytest.mark.parametrize("when", ["after", "before"])
@pytest.mark.parametrize("in_place", [False, True], ids=["-o", "--in-place"])
def test_sigterm_at_the_rename_says_what_was_written(tmp_path, monkeypatch, capsys, when,
                                                     in_place):
    """SIGTERM right after the atomic rename of the output (or of the book itself, with
    --in-place): exit 130 and the message names the file written whole (was: "no output was
    written"); right before the rename: nothing is written, and it says so."""
    from xlvalue.cli.main import main

    from .malformed import book

    src = book(tmp_path / "in.xlsx")
    before = src.read_bytes()
    target = src if in_place else tmp_path / "out.xlsx"
    real_replace = os.replace

    def replace(a, b, **kwargs):
        if Path(b) == target and when == "before":
            os.kill(os.getpid(), signal.SIGTERM)
        real_replace(a, b, **kwargs)
        if Path(b) == target:
            os.kill(os.getpid(), signal.SIGTERM)  # handled at the next step: right here
    monkeypatch.setattr(os, "replace", replace)
    argv = ["run", str(src), "-q", "--only", "rfm",
            *(["--in-place"] if in_place else ["-o", str(target)])]
    code = main(argv)
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 130, err
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    bak = tmp_path / "in.xlsx.bak"
    if when == "before":
        assert err.strip() == ("interrupted after writing " + str(bak) + " (each complete); "
                               "nothing else was written" if in_place
                               else "interrupted; no output was written")
        assert src.read_bytes() == before and not (tmp_path / "out.xlsx").exists()
        return
    assert "no output was written" not in err
    assert _valid_output(target)
    written = f"{bak}, {target}" if in_place else str(target)
    assert err.strip() == (f"interrupted after writing {written} (each complete); nothing "
                           "else was written")
    if in_place:
        assert bak.read_bytes() == before


# ---- issue 23, item 15: --in-place on a symbolic link ---------------------------------------

def test_in_place_on_a_symlinked_workbook_is_refused(tmp_path, capsys):
    """--in-place on a link is refused before anything is read (was: the link replaced by a
    file, the linked workbook left unchanged); the link and its workbook stay as they were."""
    from xlvalue.cli.main import main

    from .malformed import book

    real = book(tmp_path / "real.xlsx")
    before = real.read_bytes()
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    code = main(["run", str(link), "--in-place", "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "is a symbolic link" in err and "run on the linked workbook itself" in err
    assert link.is_symlink() and real.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.xlsx", "real.xlsx"]
    assert main(["run", str(real), "--in-place", "-q", "--only", "rfm"]) == 0  # the book itself
    assert link.is_symlink() and _valid_output(link)
