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


# ---- issue 23, item 13: batch and signals -----------------------------------------------------

_SLOW_BATCH = """
import os, sys, time
from pathlib import Path
import xlvalue.cli.headless_run as hr
real = hr.run_workbook
def run_workbook(book, *args, **kwargs):  # marks its start (worker pid), then waits
    Path(os.environ["XV_MARKS"], Path(book).stem).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("XV_DELAY_" + Path(book).stem, "0")))
    return real(book, *args, **kwargs)
hr.run_workbook = run_workbook
from xlvalue.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _slow_batch(tmp_path: Path, delays: dict[str, float], jobs: int = 2
                ) -> tuple[subprocess.Popen, Path, Path]:
    """`xlvalue batch` in a child process over books named by `delays` (seconds each book
    waits before it runs); each book's worker writes its pid to marks/<book> as it starts."""
    from .malformed import book

    books, marks = tmp_path / "books", tmp_path / "marks"
    books.mkdir()
    marks.mkdir()
    for name in delays:
        book(books / f"{name}.xlsx")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XV_")}
    env.update({"XV_MARKS": str(marks)}, **{f"XV_DELAY_{k}": str(v) for k, v in delays.items()})
    with open(tmp_path / "stderr.txt", "wb") as err:  # a file: orphans cannot hold it open
        proc = subprocess.Popen(
            [sys.executable, "-c", _SLOW_BATCH, "batch", str(books / "*.xlsx"), "-o",
             str(tmp_path / "out"), "-q", "-j", str(jobs), "--only", "rfm", "--summary",
             str(tmp_path / "summary.csv")], env=env, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True)
    return proc, marks, tmp_path / "out"


def _until(condition, seconds: float = 90.0) -> bool:
    """Poll `condition` until it holds or `seconds` pass (a bound for liveness, not a timing
    claim: a healthy run meets it in a fraction of it)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (a dead orphan nobody reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _finish(proc: subprocess.Popen, seconds: float) -> tuple[int | None, str]:
    """The child's exit code (None if it did not end in time: then its group is killed) and
    its stderr."""
    try:
        code = proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    err = Path(proc.args[proc.args.index("--summary") + 1]).with_name("stderr.txt")
    return code, err.read_text(errors="replace")


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@pytest.mark.slow
@needs_proc
def test_sigterm_to_a_batch_stops_it_and_keeps_what_was_done(tmp_path):
    """SIGTERM to the batch while two books run and two wait: it ends within the stop's grace
    (was: only after every book), exit 130, the two finished books kept, the summary written
    with all six (the running ones stopped, the waiting ones not done), no temporary file
    left and no worker alive (was: 'no output was written', no summary)."""
    proc, marks, out = _slow_batch(tmp_path, {"b0": 0, "b1": 0, "b2": 60, "b3": 60, "b4": 60,
                                              "b5": 60})
    started = _until(lambda: (marks / "b2").exists() and (marks / "b3").exists())
    workers = {int((marks / m).read_text()) for m in ("b2", "b3")} if started else set()
    proc.send_signal(signal.SIGTERM)
    code, err = _finish(proc, 30)
    assert started and code == 130, err
    assert "interrupted" in err and "no output was written" not in err
    summary = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False)
    status = dict(zip(summary["book"].map(lambda b: Path(b).stem), summary["status"],
                      strict=True))
    assert status == {"b0": "ok", "b1": "ok", "b2": "error", "b3": "error", "b4": "error",
                      "b5": "error"}
    errors = dict(zip(summary["book"].map(lambda b: Path(b).stem), summary["error"],
                      strict=True))
    assert "stopped by SIGTERM; nothing was written" in errors["b2"]
    assert "not" in errors["b4"] and "the batch was stopped first" in errors["b4"]
    assert sorted(p.name for p in out.iterdir()) == ["b0_xlvalue.xlsx", "b1_xlvalue.xlsx"]
    assert all(_valid_output(p) for p in out.iterdir())
    assert not [p for p in (tmp_path / "books").iterdir() if p.suffix == ".tmp"]
    assert _until(lambda: not any(_running(w) for w in workers), 10)


@pytest.mark.slow
@needs_proc
def test_sigterm_to_one_worker_loses_only_its_book(tmp_path):
    """SIGTERM to the worker running one book: that book is reported as stopped, the others
    are written, exit 2 (was: the whole batch aborted, exit 130, no summary)."""
    proc, marks, out = _slow_batch(tmp_path, {"b0": 0, "b1": 60, "b2": 0, "b3": 0})
    started = _until(lambda: (marks / "b1").exists())
    if started:
        os.kill(int((marks / "b1").read_text()), signal.SIGTERM)
    code, err = _finish(proc, 90)
    assert started and code == 2, err
    summary = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False)
    status = dict(zip(summary["book"].map(lambda b: Path(b).stem), summary["status"],
                      strict=True))
    assert status == {"b0": "ok", "b1": "error", "b2": "ok", "b3": "ok"}
    assert "b1.xlsx: stopped by SIGTERM" in summary.loc[status_index(summary, "b1"), "error"]
    assert sorted(p.name for p in out.iterdir()) == ["b0_xlvalue.xlsx", "b2_xlvalue.xlsx",
                                                     "b3_xlvalue.xlsx"]


def status_index(summary: pd.DataFrame, stem: str) -> int:
    return int(summary.index[summary["book"].map(lambda b: Path(b).stem) == stem][0])


@pytest.mark.slow
@needs_proc
def test_workers_die_with_a_killed_batch(tmp_path):
    """SIGKILL to the batch process: its workers stop their books and end within seconds,
    writing nothing (was: orphans that ran every book, then waited forever)."""
    proc, marks, out = _slow_batch(tmp_path, {"b0": 60, "b1": 60, "b2": 0, "b3": 0})
    started = _until(lambda: (marks / "b0").exists() and (marks / "b1").exists())
    workers = {int((marks / m).read_text()) for m in ("b0", "b1")} if started else set()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    gone = _until(lambda: not any(_running(w) for w in workers), 20)
    for w in workers:  # the test's own children's children, if they outlived the bound
        if _running(w):
            os.kill(w, signal.SIGKILL)
    assert started and gone
    assert not out.exists() or not list(out.iterdir())
    started_later = {m.name: m.read_text() for m in marks.iterdir()} if (
        (marks / "b2").exists() or (marks / "b3").exists()) else {}
    assert not started_later, (workers, started_later)  # no book begun once the batch died


# ---- issue 23, item 12: memory limits ---------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit -v as on Linux")
@pytest.mark.parametrize("megabytes", [200, 420])
def test_a_run_under_an_address_space_limit_ends_in_one_line(demo_book, tmp_path, megabytes):
    """`ulimit -v` 200 or 420 MB (RLIMIT_AS) on the demo: the run ends, either written or as
    one `error: ... out of memory` line with exit 2 and nothing written (was: spinning for
    ever in OpenBLAS's thread set-up, where SIGTERM does not reach, or `internal error:
    MemoryError:` / `ImportError: ... failed to map segment`, exit 1)."""
    import resource

    from xlvalue.cli.limits import BLAS_THREAD_VARIABLES, OUT_OF_MEMORY

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    out = tmp_path / "out.xlsx"
    with open(tmp_path / "err.txt", "wb") as err_file:
        proc = subprocess.Popen([sys.executable, "-m", "xlvalue", "run", str(demo_book), "-o",
                                 str(out), "-q"], preexec_fn=limit, env=env,
                                stdout=subprocess.DEVNULL, stderr=err_file,
                                start_new_session=True)
    try:
        code: int | str = proc.wait(timeout=150)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # SIGTERM would not stop the spin
        proc.wait()
        code = "hang"
    err = (tmp_path / "err.txt").read_text(errors="replace").strip()
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert len(err.splitlines()) == 1 and (err.endswith(OUT_OF_MEMORY) or (
            "below the 320 MiB in which xlvalue's libraries" in err)), err
        assert not out.exists()
    else:
        assert _valid_output(out)
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
