"""Issue 16 beyond the corpus: batches that survive a dying worker, temp files of killed runs,
writes on a full disk (a file-size limit), values at Excel's edges (dates before 1900-03-01,
_x0041_ escapes, texts longer than a cell holds)."""

from __future__ import annotations

import os
import re
import signal
import stat
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlvalue.cli import batch
from xlvalue.cli.main import main
from xlvalue.workbook.cells import days_from_serial, serial_from_days
from xlvalue.workbook.writer import TMP_MARK, atomic_write

# isort: off
from .malformed import book  # first: malformed imports hostile's cases
from .hostile import SHEET, shared_strings
from .test_malformed import in_child
# isort: on


# ---- batch: one bad book never stops the others -----------------------------------------

@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_survives_a_worker_that_aborts(tmp_path, monkeypatch, capsys, jobs):
    """A book whose process dies (a native abort) is an error row naming it; the 4 good books
    are written; the summary is complete; exit 2."""
    books = [book(tmp_path / f"b{i}.xlsx") for i in range(4)]
    book(tmp_path / "bad.xlsx")
    real = batch.run_one

    def run_one(path, out_dir, only, *rest):
        if Path(path).name == "bad.xlsx":
            import faulthandler

            faulthandler.disable()  # pytest's dump of the aborting worker is noise here
            os.abort()  # SIGABRT, as a Rust panic that aborts
        return real(path, out_dir, only, *rest)
    run_one.__module__, run_one.__qualname__ = batch.__name__, "run_one"
    monkeypatch.setattr(batch, "run_one", run_one)
    out = tmp_path / "out"
    out.mkdir()
    summary_file = tmp_path / "summary.csv"
    code = main(["batch", str(tmp_path / "*.xlsx"), "-o", str(out), "-q", "--jobs", str(jobs),
                 "--summary", str(summary_file)])
    assert code == 2
    summary = pd.read_csv(summary_file)
    assert len(summary) == 5
    status = dict(zip(summary["book"].map(lambda b: Path(b).name), summary["status"], strict=True))
    assert status == {"b0.xlsx": "ok", "b1.xlsx": "ok", "b2.xlsx": "ok", "b3.xlsx": "ok",
                      "bad.xlsx": "error"}
    error = summary.loc[summary["book"].str.endswith("bad.xlsx"), "error"].item()
    assert "bad.xlsx" in error and "ended abnormally" in error
    assert sorted(p.name for p in out.iterdir()) == [f"b{i}_xlvalue.xlsx" for i in range(4)]
    assert len(books) == 4


# ---- temporary files of killed runs -------------------------------------------------------

def test_stale_temp_files_of_dead_runs_are_removed(tmp_path):
    """A run killed while writing leaves `.<name>.xlvalue-<pid>-*.tmp`; the next write to the
    same target removes those whose process is gone, and keeps a live process's."""
    target = tmp_path / "out.xlsx"
    dead_pid = 2**22 + 12345  # above any pid_max: no such process
    stale = tmp_path / f".out.xlsx{TMP_MARK}{dead_pid}-abc.tmp"
    live = tmp_path / f".out.xlsx{TMP_MARK}{os.getppid()}-def.tmp"
    other = tmp_path / f".other.xlsx{TMP_MARK}{dead_pid}-ghi.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"half a zip")
    atomic_write(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new"
    assert not stale.exists() and live.exists() and other.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.xlsx")] == [live.name]


def test_sigkill_during_a_write_then_a_later_run(tmp_path):
    """A child killed by SIGKILL in the middle of writing `-o` over an existing output: the old
    output is intact, the temp file stays until the next run, which removes it."""
    src = book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"previous output")
    pid = os.fork()
    if pid == 0:
        from xlvalue.workbook import writer

        def save_then_die(self, path):
            path.write_bytes(b"half")
            os.kill(os.getpid(), 9)
        writer._Package.save = save_then_die
        try:
            main(["run", str(src), "-o", str(out), "-q"])
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
    assert out.read_bytes() == b"previous output"
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and f"{TMP_MARK}{pid}-" in temps[0].name
    assert main(["run", str(src), "-o", str(out), "-q"]) == 0
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert zipfile.is_zipfile(out)


# ---- full disk: every write checked --------------------------------------------------------

LIMIT = 24 * 1024  # bytes a file may grow to in the child (RLIMIT_FSIZE)


@pytest.mark.parametrize("what", ["run -o", "run --in-place", "eval --report", "batch --summary"])
def test_writes_on_a_full_disk_fail_cleanly(tmp_path, what):
    """With a file-size limit (as on a full or tiny filesystem) every write fails as one clean
    error line, exit 2, and leaves nothing half-written behind."""
    from .hostile import eval_book

    src = book(tmp_path / "in.xlsx", rows=[[f"C{i % 40}", "2024-01-03", 10.0 + i]
                                           for i in range(400)])
    before = src.read_bytes()
    argv = {"run -o": ["run", str(src), "-o", str(tmp_path / "out.xlsx"), "-q"],
            "run --in-place": ["run", str(src), "--in-place", "-q"],
            "eval --report": ["eval", str(eval_book(tmp_path / "e.xlsx")), "--report",
                              str(tmp_path / "big.json")],
            "batch --summary": ["batch", str(src), "-q", "--summary", str(tmp_path / "s.csv")]}
    if what == "eval --report":
        before = None
    if what == "batch --summary":  # the book's output fails, and so does the summary
        (tmp_path / "outdir").mkdir()
        argv[what][2:2] = ["-o", str(tmp_path / "outdir")]
    limit = {"eval --report": 100, "batch --summary": 100}.get(what, LIMIT)
    code, err, _, _ = in_child(argv[what], {}, tmp_path / "err.txt", fsize=limit)
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert "cannot write" in err, err
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")
            or p.name in ("out.xlsx", "big.json", "s.csv")]
    assert left == []
    bak = tmp_path / "in.xlsx.bak"
    assert not bak.exists() or bak.read_bytes() == src.read_bytes()  # whole, or none
    if before is not None:
        assert src.read_bytes() == before


# ---- values at Excel's edges ---------------------------------------------------------------

def test_serials_follow_excels_phantom_leap_day():
    """Serial 1 is 1900-01-01, 59 is 1900-02-28, 60 the phantom 1900-02-29 (no day), 61 is
    1900-03-01 (Excel's documented 1900 date system), and back."""
    days = np.array(["1900-01-01", "1900-02-28", "1900-03-01", "2024-01-03", "1899-12-31"],
                    "datetime64[D]")
    np.testing.assert_array_equal(serial_from_days(days)[:4], [1, 59, 61, 45294])
    assert np.isnan(serial_from_days(days)[4])
    back = days_from_serial(np.array([1.0, 59.0, 61.0, 45294.0, 60.0, 0.0]))
    np.testing.assert_array_equal(back[:4], days[:4])
    assert np.isnat(back[4]) and np.isnat(back[5])


def test_date_cells_before_march_1900_written_as_excel_counts(tmp_path):
    """A first purchase on 1900-01-01 is written as serial 1 (not 2, a day off in Excel)."""
    rows = [["A", "1900-01-01", 5.0], ["A", "1900-02-28", 5.0], ["B", "1900-03-01", 5.0],
            ["B", "1900-03-05", 5.0]]
    src = book(tmp_path / "old.xlsx", rows=rows, settings={"AsOfDate": "1900-04-01"})
    out = tmp_path / "out.xlsx"
    assert main(["run", str(src), "-o", str(out), "-q", "--only", "rfm"]) == 0
    import datetime as dt

    import python_calamine as pc

    cells = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("xv_RFM").to_python()
    assert cells[1][:3] == ["customer_id", "first_purchase", "last_purchase"]
    assert cells[2][:3] == ["A", dt.date(1900, 1, 1), dt.date(1900, 2, 28)]
    assert cells[3][:3] == ["B", dt.date(1900, 3, 1), dt.date(1900, 3, 5)]
    with zipfile.ZipFile(out) as zf:
        xml = zf.read("xl/worksheets/xlvalue_xv_rfm.xml").decode()
    assert re.search(r'<c r="B3" s="\d+"><v>1</v>', xml)  # serial 1 = 1900-01-01
    assert re.search(r'<c r="C3" s="\d+"><v>59</v>', xml)
    assert re.search(r'<c r="B4" s="\d+"><v>61</v>', xml)


def test_escape_like_text_round_trips(tmp_path):
    """An id the user typed as _x0041_ (Excel stores _x005F_x0041_) stays _x0041_ in the
    output, which is written escaped so Excel shows it as typed, not as 'A'."""
    def edit(path: Path) -> Path:
        path = shared_strings(path, "0")
        with zipfile.ZipFile(path) as zf:
            parts = {n: zf.read(n) for n in zf.namelist()}
        parts["xl/sharedStrings.xml"] = parts["xl/sharedStrings.xml"].replace(
            b"<t>C0</t>", b"<t>_x005F_x0041_</t>")
        with zipfile.ZipFile(path, "w") as zf:
            for n, d in parts.items():
                zf.writestr(n, d)
        return path
    src = edit(tmp_path / "esc.xlsx")
    out = tmp_path / "out.xlsx"
    assert main(["run", str(src), "-o", str(out), "-q", "--only", "rfm"]) == 0
    import python_calamine as pc

    ids = [r[0] for r in pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name(
        "xv_RFM").to_python()]
    assert "_x0041_" in ids and "A" not in ids
    with zipfile.ZipFile(out) as zf:
        xml = zf.read("xl/worksheets/xlvalue_xv_rfm.xml").decode()
    assert "<t>_x005F_x0041_</t>" in xml
    assert SHEET  # the input sheet part the builder edited


def test_text_longer_than_a_cell_holds_is_refused_not_written():
    """A 40,000-character text (Excel's limit is 32,767) is never written into a cell."""
    from xlvalue.errors import InputError
    from xlvalue.workbook.sheetxml import StyleIds, column_cells

    with pytest.raises(InputError, match="40,000 characters, more than the 32,767"):
        column_cells(pd.Series(["x" * 40_000, "y"]), "customer", StyleIds())


# ---- the sheet scan: every way of writing a position --------------------------------------

@pytest.mark.parametrize("xml, extent", [
    ('<row r="3"><c r="B3"><v>1</v></c></row>', (3, 2)),
    ("<row r='7'><c r='AB7'><v>1</v></c></row>", (7, 28)),
    ('<x:row r="2"><x:c r="XFD2"><x:v>1</x:v></x:c></x:row>', (2, 16384)),
    ("<row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row>", (2, 2)),
    ('<row r="5"/><row><c r="C6"/><c/></row>', (6, 4)),
    ('<!-- <row r="900"><c r="ZZ900"/></row> --><row r="1"><c r="A1"/></row>', (1, 1)),
    ('<?pi <c r="XFD1"?><row r="1"><c r="A1"/></row><![CDATA[<c r="XFD9">]]>', (1, 1)),
    ('<row r="1" spans="1:3"><c r="A1" s="2" t="s"><v>0</v></c><c r="C1"><f>1+1</f></c></row>',
     (1, 3)),
])
def test_sheet_scan_extent(xml, extent):
    """The extent calamine would load, for positions written every way (rows and cells
    without r count on from the previous one, as calamine counts them)."""
    from xlvalue.workbook.sheet_scan import scan_sheet

    head = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    data = (head + xml + "</sheetData></worksheet>").encode()
    for chunk in (1, 7, len(data)):  # however the stream is cut
        scan = scan_sheet((data[i:i + chunk] for i in range(0, len(data), chunk)), "b.xlsx",
                          "S", "xl/worksheets/sheet1.xml", shared_count=1)
        assert (scan.last_row, scan.last_col) == extent


def test_sheet_scan_windows_never_split_a_row(monkeypatch):
    """Windows cut at row starts: a sheet scanned in tiny windows gives the whole picture."""
    from xlvalue.workbook import sheet_scan

    monkeypatch.setattr(sheet_scan, "WINDOW", 64)
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="e"><v>#N/A</v></c><c r="B{i}"><f>X()</f></c>'
                   f'</row>' for i in range(1, 200))
    data = f"<worksheet><sheetData>{rows}</sheetData></worksheet>".encode()
    scan = sheet_scan.scan_sheet((data[i:i + 50] for i in range(0, len(data), 50)), "b", "S",
                                 "p")
    assert (scan.last_row, scan.last_col) == (199, 2)
    assert scan.formulas == 199
    assert len(scan.markers) == 2 * 199
    assert str(scan.markers[(198, 0)]) == "#N/A" and str(scan.markers[(198, 1)]) == "=X()"


def test_eval_over_its_own_input_refused_before_any_write(tmp_path, capsys):
    """`eval BOOK -o BOOK` is refused before the values report is written."""
    from .hostile import eval_book

    src = eval_book(tmp_path / "e.xlsx")
    before = src.read_bytes()
    assert main(["eval", str(src), "-o", str(src)]) == 2
    assert "-o would overwrite the input" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.xlsx"]
    assert src.read_bytes() == before


def test_user_sheet_losing_tab_selected_is_streamed_intact(tmp_path):
    """When the output opens on xv_Summary, a user sheet's tabSelected goes; the rest of that
    sheet (streamed from the source, never held whole) is byte for byte the input's."""
    from .hostile import _edit, _sub

    src = _edit(book(tmp_path / "in.xlsx", rows=[[f"C{i % 7}", "2024-01-03", 1.0 + i]
                                                   for i in range(3000)]),
                _sub(SHEET, r"<sheetView ", '<sheetView tabSelected="1" '))
    out = tmp_path / "out.xlsx"
    assert main(["run", str(src), "-o", str(out), "-q", "--only", "rfm"]) == 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out) as zout:
        before, after = zin.read(SHEET), zout.read(SHEET)
        assert zout.testzip() is None
    assert b"tabSelected" in before and b"tabSelected" not in after
    assert after == before.replace(b' tabSelected="1"', b"", 1)


# ---- issue 23, item 10: a TransactionsFile is opened once, and read from that descriptor ---

SECRET = "CustomerID,Date,Amount\nS3CRET,2024-01-01,1\n"


def _log_book(folder: Path, name: str, parquet: bool = False) -> tuple[Path, Path]:
    """books/book.xlsx naming `name` (written beside it), and ../secret/log.* outside."""
    from .conftest import write_tables

    books, secret = folder / "books", folder / "secret"
    books.mkdir()
    secret.mkdir()
    own = pd.DataFrame({"CustomerID": ["A", "B"], "Date": ["2024-01-02", "2024-01-09"],
                        "Amount": [5.0, 7.0]})
    outside = pd.DataFrame({"CustomerID": ["S3CRET"], "Date": ["2024-01-01"], "Amount": [1.0]})
    ext = ".parquet" if parquet else ".csv"
    target = books / (name + ext)
    target.parent.mkdir(parents=True, exist_ok=True)
    for frame, path in ((own, target), (outside, secret / ("log" + ext))):
        frame.to_parquet(path) if parquet else frame.to_csv(path, index=False)
    return write_tables(books / "book.xlsx", {}, {"TransactionsFile": name + ext}), target


def _swap_after_check(monkeypatch, swap) -> None:
    """Run `swap(path)` right after the TransactionsFile's name was checked (resolved and
    found inside the allowed folders): the window in which the file used to be reopened by
    name."""
    import xlvalue.workbook.transactions_file as tf

    real = tf.resolve_transactions_file

    def resolve(*args, **kwargs):
        path = real(*args, **kwargs)
        swap(path)
        return path
    monkeypatch.setattr(tf, "resolve_transactions_file", resolve)


def _leaked(out: Path) -> bool:
    if not out.exists():
        return False
    import python_calamine as pc

    rows = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("xv_RFM").to_python()
    return any("S3CRET" in str(r) for r in rows)


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_transactions_file_swapped_for_an_outside_link_after_the_check(tmp_path, monkeypatch,
                                                                       capsys, parquet):
    """The name passed the folder check, then became a link to ../secret: nothing outside is
    read (was: the outside file's rows in the output); a clean refusal, exit 2."""
    book, target = _log_book(tmp_path, "log", parquet)
    outside = tmp_path / "secret" / target.name

    def swap(path: Path) -> None:
        path.unlink()
        path.symlink_to(outside)
    _swap_after_check(monkeypatch, swap)
    out = tmp_path / "out.xlsx"
    code = main(["run", str(book), "-o", str(out), "-q", "--only", "rfm"])
    err = capsys.readouterr().err
    assert not _leaked(out)
    assert code == 2, err
    assert "replaced by a symbolic link after it was checked" in err and "S3CRET" not in err


def test_a_folder_on_the_path_swapped_for_an_outside_link_after_the_check(tmp_path, monkeypatch,
                                                                         capsys):
    """TransactionsFile sub/log.csv: after the check, `sub` becomes a link to ../secret. The
    last step is a regular file (O_NOFOLLOW alone would open it): the descriptor's real path
    is not the checked one, so it is refused."""
    book, target = _log_book(tmp_path, "sub/log")

    def swap(path: Path) -> None:
        path.parent.rename(path.parent.with_name("old"))
        path.parent.symlink_to(tmp_path / "secret")
    _swap_after_check(monkeypatch, swap)
    out = tmp_path / "out.xlsx"
    code = main(["run", str(book), "-o", str(out), "-q", "--only", "rfm"])
    err = capsys.readouterr().err
    assert not _leaked(out)
    assert code == 2, err
    assert "changed after it was checked" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_transactions_file_swapped_after_it_was_opened(tmp_path, monkeypatch, kind):
    """The file becomes a FIFO (or an outside link) right after its first open: the read
    goes on from the open descriptor (was: reopened by name inside the CSV reader, which hung
    on the FIFO where SIGTERM does not reach, or read the outside file)."""
    import builtins

    import xlvalue.workbook.transactions_file  # noqa: F401 - imported before os.open is wrapped

    from .test_malformed import in_child

    book, target = _log_book(tmp_path, "log")
    swapped: list[str] = []

    def swap_once(path) -> None:
        if not swapped and Path(os.fsdecode(path)).name == target.name:  # opened by any way
            swapped.append(kind)
            target.rename(target.with_name("moved.csv"))
            if kind == "fifo":
                os.mkfifo(target)
            else:
                target.symlink_to(tmp_path / "secret" / "log.csv")

    real_os_open, real_open = os.open, builtins.open

    def os_open(path, *args, **kwargs):
        fd = real_os_open(path, *args, **kwargs)
        swap_once(path)
        return fd

    def py_open(file, *args, **kwargs):
        fh = real_open(file, *args, **kwargs)
        if isinstance(file, str | bytes | os.PathLike):
            swap_once(file)
        return fh
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", py_open)
    out = tmp_path / "out.xlsx"
    code, err, _, _ = in_child(["run", str(book), "-o", str(out), "-q", "--only", "rfm"], {},
                               tmp_path / "err.txt", timeout=30)
    monkeypatch.undo()
    mode = os.lstat(target).st_mode  # the swap happened (in the child)
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISLNK(mode)
    assert code == 0, err
    assert not _leaked(out)
    import python_calamine as pc

    rows = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("xv_RFM").to_python()
    assert {"A", "B"} <= {r[0] for r in rows}  # the file's own rows, read from the descriptor


def test_a_hard_link_to_an_outside_file_is_refused(tmp_path, capsys):
    """A hard link beside the workbook gives an outside file a name inside the folder: a file
    with more than one name is refused (was: read)."""
    book, target = _log_book(tmp_path, "log")
    target.unlink()
    os.link(tmp_path / "secret" / "log.csv", target)
    out = tmp_path / "out.xlsx"
    code = main(["run", str(book), "-o", str(out), "-q", "--only", "rfm"])
    err = capsys.readouterr().err
    assert not _leaked(out)
    assert code == 2 and "has 2 names (hard links)" in err, err


def test_a_nul_in_the_transactions_file_setting_is_a_user_error(tmp_path, capsys):
    """TransactionsFile 'log_x0000_.csv' (a NUL) is one clean line, exit 2 (was: internal
    error, exit 1)."""
    from .conftest import write_tables
    from .hostile import _edit, _sub

    book = write_tables(tmp_path / "book.xlsx", {}, {"TransactionsFile": "logNUL.csv"})
    _edit(book, _sub(SHEET, "logNUL", "log_x0000_"))
    code = main(["run", str(book), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "TransactionsFile holds a NUL character" in err and "internal error" not in err


# ---- issue 23, item 11: CSV injection in batch --summary -----------------------------------

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def test_batch_summary_neutralises_formula_like_fields(tmp_path, monkeypatch, capsys):
    """Books named `=1+1.xlsx`, `@SUM(2).xlsx`, `+cmd.xlsx`, `-1+2.xlsx` (and their outputs)
    are written to the CSV summary with a leading apostrophe (OWASP), never raw; the JSON
    summary keeps them as they are."""
    import csv

    names = ["=1+1.xlsx", "@SUM(2).xlsx", "+cmd.xlsx", "-1+2.xlsx", "plain.xlsx"]
    for name in names:
        book(tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert main(["batch", "*.xlsx", "-q", "--only", "rfm", "--summary", "s.csv"]) == 0
    assert main(["batch", "*.xlsx", "-q", "--only", "rfm", "--summary", "s.json"]) == 0
    capsys.readouterr()
    with open(tmp_path / "s.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5
    fields = [v for r in rows for v in r.values()]
    assert not [v for v in fields if v.startswith(DANGEROUS)], fields
    assert sorted(r["book"] for r in rows) == sorted(
        ("'" + n if n[0] in "=@+-" else n) for n in names)
    assert "'=1+1_xlvalue.xlsx" in {r["output"] for r in rows}
    import json

    assert "=1+1.xlsx" in {r["book"] for r in json.loads((tmp_path / "s.json").read_text())}


# ---- issue 23, item 15: batch -o with links, and nothing left behind by a refusal ----------

def test_batch_output_of_a_link_beside_a_file_in_a_subfolder(tmp_path, capsys):
    """data/a.xlsx, a link to data/sub/real.xlsx, and the file data/sub/a.xlsx are two books
    writing a_xlvalue.xlsx and sub/a_xlvalue.xlsx (was: refused as a clash, since the link's
    folder was taken from its target)."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    book(data / "sub" / "real.xlsx")
    book(data / "sub" / "a.xlsx", rows=[["Z", "2024-01-03", 99.0], ["Z", "2024-02-03", 1.0]])
    (data / "a.xlsx").symlink_to(data / "sub" / "real.xlsx")
    out = tmp_path / "out"
    code = main(["batch", str(data / "a.xlsx"), str(data / "sub" / "a.xlsx"), "-o", str(out),
                 "-q", "--only", "rfm"])
    err = capsys.readouterr().err
    assert code == 0, err
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.xlsx"))
    assert found == ["a_xlvalue.xlsx", "sub/a_xlvalue.xlsx"]
    spend = pd.read_excel(out / "sub" / "a_xlvalue.xlsx", sheet_name="xv_RFM", header=1,
                          engine="calamine")["total_spend"].iloc[0]
    assert spend == 100.0  # the file's own book (customer Z), not the link's target


def test_a_refused_batch_leaves_no_output_folder(tmp_path, capsys):
    """A batch refused before it starts (--timeout 0) leaves no empty -o folder behind."""
    book(tmp_path / "b.xlsx")
    out = tmp_path / "new"
    assert main(["batch", str(tmp_path / "b.xlsx"), "-o", str(out), "-q", "--timeout", "0"]) == 2
    assert "--timeout must be a positive number" in capsys.readouterr().err
    assert not out.exists()


# ---- issue 23, items 12 and 13 in process: memory running out, a worker stopped --------------

def test_memory_running_out_is_one_line(tmp_path, monkeypatch, capsys):
    """A MemoryError while analysing is one `error:` line naming the book, exit 2, nothing
    written (was: `internal error: MemoryError: ` with no text, exit 1); in a batch it is
    that book's error row."""
    from xlvalue.cli import headless_run
    from xlvalue.cli.limits import OUT_OF_MEMORY

    src = book(tmp_path / "in.xlsx")

    def compute(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(headless_run, "compute", compute)
    out = tmp_path / "out.xlsx"
    assert main(["run", str(src), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: in.xlsx: {OUT_OF_MEMORY}"
    assert not out.exists()
    row = batch.run_one(str(src), str(tmp_path / "b" / "in_xlvalue.xlsx"), None)
    assert row["status"] == "error" and row["error"] == f"in.xlsx: {OUT_OF_MEMORY}"


def test_sigterm_to_a_worker_is_that_books_error_row(tmp_path, monkeypatch, capsys):
    """A book whose worker process gets SIGTERM while it runs: that book's row says it was
    stopped, nothing written for it; the worker goes on and the other books are written
    (was: the whole batch aborted, exit 130, no summary)."""
    from xlvalue.cli import headless_run

    for i in range(3):
        book(tmp_path / f"b{i}.xlsx")
    real = headless_run.run_workbook

    def run_workbook(path, *args, **kwargs):
        if Path(path).name == "b1.xlsx":
            os.kill(os.getpid(), signal.SIGTERM)  # in the worker running b1
        return real(path, *args, **kwargs)
    monkeypatch.setattr(headless_run, "run_workbook", run_workbook)
    out = tmp_path / "out"
    summary = tmp_path / "s.csv"
    code = main(["batch", str(tmp_path / "b*.xlsx"), "-o", str(out), "-q", "--only", "rfm",
                 "--summary", str(summary)])
    assert code == 2, capsys.readouterr().err
    rows = pd.read_csv(summary, keep_default_na=False)
    assert rows["status"].tolist() == ["ok", "error", "ok"]
    assert rows["error"][1] == "b1.xlsx: stopped by SIGTERM; nothing was written for it"
    assert sorted(p.name for p in out.iterdir()) == ["b0_xlvalue.xlsx", "b2_xlvalue.xlsx"]


def test_sigterm_after_the_eval_report_rename_names_the_report(tmp_path, monkeypatch, capsys):
    """Item 14 for `eval`: SIGTERM right after the values report is renamed into place, before
    the workbook copy: exit 130, the line names the report (written whole) and nothing else
    (was: "no output was written")."""
    from .hostile import eval_book

    src = eval_book(tmp_path / "e.xlsx")
    report, out = tmp_path / "r.csv", tmp_path / "o.xlsx"
    real_replace = os.replace

    def replace(a, b, **kwargs):
        real_replace(a, b, **kwargs)
        if Path(b) == report:
            os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(os, "replace", replace)
    code = main(["eval", str(src), "--report", str(report), "-o", str(out), "-q"])
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert code == 130, err
    assert err == f"interrupted after writing {report} (each complete); nothing else was written"
    assert "B1" in report.read_text() and not out.exists()
