"""The command line a person meets: help with examples, targets checked before computing
(exit 2 for every command), a pristine .bak, SIGTERM without leftovers, readable inputs."""

from __future__ import annotations

import datetime as dt
import errno
import fnmatch
import os
import signal
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlvalue.cli import main as cli_main
from xlvalue.cli import targets as cli
from xlvalue.cli.main import build_parser, main
from xlvalue.pipeline import new_template

from .conftest import make_book, write_tables


def _help(*words: str) -> str:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args([*words, "--help"])
    return ""


def test_help_has_examples_and_describes_every_positional(capsys):
    for words in ([], ["run"], ["eval"], ["check"], ["batch"], ["template"], ["template", "new"],
                  ["addin"], ["docs"]):
        _help(*words)
        text = capsys.readouterr().out
        assert "example" in text.lower(), words
        assert "template_command" not in text and "addin_command" not in text
    _help("run")
    assert "rfm, ranking, clv, compare, lifecycle, scores, costing, elasticity" in " ".join(
        capsys.readouterr().out.split())
    # every positional argument of every command has a description
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    stack = list(sub.choices.values())
    while stack:
        p = stack.pop()
        for action in p._actions:
            if action.dest in ("template_command", "addin_command", "docs_command"):
                stack.extend(action.choices.values())
            elif not action.option_strings and action.dest != "help":
                assert action.help, f"{p.prog} {action.dest}"


def test_missing_subcommand_names_no_internal_dest(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["template"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "ACTION" in err and "template_command" not in err


def test_nonexistent_input_says_so(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.xlsx")]) == 2
    assert "no such input workbook" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "nope.xlsx")]) == 2
    assert main(["check", str(tmp_path / "nope.xlsx")]) == 2


@pytest.mark.parametrize("argv", [
    ["template", "new", "{missing}/t.xlsx"],
    ["addin", "build", "{missing}/x.xlam"],
    ["eval", "{demo}", "-o", "{missing}/o.xlsx"],
    ["eval", "{demo}", "--report", "{missing}/r.csv"],
    ["run", "{demo}", "-o", "{missing}/o.xlsx"],
])
def test_missing_target_folder_is_exit_2_before_any_work(argv, demo_book, tmp_path, capsys,
                                                          monkeypatch):
    def no_work(*_a, **_k):
        raise AssertionError("computed although the target cannot be written")

    monkeypatch.setattr("xlvalue.cli.headless_run.compute", no_work)
    monkeypatch.setattr("xlvalue.formula_eval.evaluate.evaluate", no_work)
    args = [a.format(missing=tmp_path / "no" / "such", demo=demo_book) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "internal error" not in err


@pytest.mark.parametrize("argv", [
    ["template", "new", "{dir}/t.xlsx"],
    ["addin", "build", "{dir}/x.xlam"],
    ["eval", "{book}", "-o", "{dir}/o.xlsx"],
    ["run", "{book}", "--in-place"],
])
def test_unwritable_target_is_exit_2(argv, demo_book, tmp_path, capsys, monkeypatch):
    """Root may write anywhere, so the permission answer is faked: the check must ask."""
    locked = tmp_path / "locked"
    locked.mkdir()
    book = locked / "book.xlsx"
    book.write_bytes(demo_book.read_bytes())
    real = os.access
    monkeypatch.setattr(cli.os, "access", lambda p, mode: False if str(p).startswith(
        str(locked)) and mode & os.W_OK else real(p, mode))
    assert main([a.format(dir=locked, book=book) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "cannot write in the folder" in err and "permission denied" in err


def test_second_in_place_run_keeps_the_pristine_backup(demo_book, tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    original = demo_book.read_bytes()
    book.write_bytes(original)
    assert main(["run", str(book), "--in-place", "--only", "rfm", "-q"]) == 0
    assert main(["run", str(book), "--in-place", "--only", "rfm", "-q"]) == 0
    assert (tmp_path / "book.xlsx.bak").read_bytes() == original
    assert book.read_bytes() != original


def test_sigterm_leaves_no_temporary_files(demo_book, tmp_path, capsys, monkeypatch):
    """A SIGTERM while the output is being written unwinds like Ctrl-C: the temporary file
    beside the target is removed and nothing is left half-written."""
    from xlvalue.workbook import writer

    real_save = writer._Package.save

    def save_then_killed(self, path):
        real_save(self, path)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises inside this frame

    monkeypatch.setattr(writer._Package, "save", save_then_killed)
    out = tmp_path / "out.xlsx"
    assert main(["run", str(demo_book), "--only", "rfm", "-o", str(out), "-q"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is not cli_main._terminate  # handler restored


def test_integer_dates_read_alike_in_workbook_and_csv(tmp_path):
    """19970101 as a number in the workbook and in a CSV TransactionsFile: the same dates."""
    from xlvalue.cli.headless_run import run_workbook

    rows = [["A", 19970101, 10.0], ["A", 19970215, 20.0], ["B", 19970301, 5.0],
            ["B", 19970310, 7.0], ["C", 19970105, 3.0]]
    book = new_template(tmp_path / "ints.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb["Transactions"]
    for i, r in enumerate(rows, start=2):
        for j, v in enumerate(r, start=1):
            ws.cell(i, j, v)
        ws.cell(i, 2).number_format = "General"
    ws.tables["xv_Transactions"].ref = "A1:G6"
    wb.save(book)
    (tmp_path / "ints.csv").write_text("CustomerID,Date,Amount\n" + "".join(
        f"{a},{d},{x}\n" for a, d, x in rows))
    wb = openpyxl.load_workbook(book)
    settings = wb["Settings"]
    row = next(r for r in range(2, 40) if settings.cell(r, 1).value == "TransactionsFile")
    settings.cell(row, 2, "ints.csv")
    wb.save(tmp_path / "ints_file.xlsx")
    a = run_workbook(book, tmp_path / "a.xlsx", only="rfm").results.frames["xv_out_RFM"]
    b = run_workbook(tmp_path / "ints_file.xlsx", tmp_path / "b.xlsx",
                     only="rfm").results.frames["xv_out_RFM"]
    assert a["last_purchase"].tolist() == b["last_purchase"].tolist()
    assert str(np.datetime64(a.set_index("customer_id").loc["A", "last_purchase"], "D")) \
        == "1997-02-15"


def test_deleted_settings_and_line_items_are_warnings(demo_book, tmp_path):
    from xlvalue.cli.headless_run import run_workbook

    wb = openpyxl.load_workbook(demo_book)
    ws = wb["Transactions"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    for r in rows:  # every purchase as two order lines
        ws.append(r)
    ws.tables["xv_Transactions"].ref = f"A1:G{ws.max_row}"
    del wb["Settings"]  # and its name (Excel turns it to #REF!, which is refused)
    del wb.defined_names["xv_Settings"]
    wb.save(tmp_path / "lines.xlsx")
    warnings = run_workbook(tmp_path / "lines.xlsx", tmp_path / "o.xlsx",
                            only="rfm").results.warnings
    assert any("default settings are used" in w for w in warnings)
    assert any("FrequencyMode=days" in w for w in warnings)


# ---- a fresh-clone trial: check fails on faulty inputs, targets probed for real ---------------


def _small_log() -> pd.DataFrame:
    d = dt.date
    return pd.DataFrame([("A", d(2024, 12, 30), 100.0), ("A", d(2024, 12, 1), 80.0),
                         ("B", d(2024, 12, 20), 50.0), ("B", d(2024, 6, 1), 50.0),
                         ("C", d(2024, 11, 1), 500.0)], columns=["CustomerID", "Date", "Amount"])


@pytest.fixture(scope="module")
def faulty_books(tmp_path_factory) -> dict[str, Path]:
    """Small books whose plain run leaves one analysis out: elasticity's inputs fail when read
    (pipeline.compute), scores' indicator fails in its step (pipeline.analyse); and one whose
    other analyses merely have no input ranges (no fault)."""
    folder = tmp_path_factory.mktemp("faulty")
    log = _small_log()
    elasticity = pd.DataFrame([["g1", 10, 100, 12, "lots"], ["g2", 5, 50, 6, 40]],
                              columns=["Group", "P1", "Q1", "P2", "Q2"])
    model = pd.DataFrame([["rfm.nosuch", 1.0, "max"]],
                         columns=["Indicator", "Weight", "Direction"])
    return {
        "read": write_tables(folder / "read.xlsx", {"xv_Transactions": log,
                                                    "xv_Elasticity": elasticity}),
        "step": write_tables(folder / "step.xlsx", {"xv_Transactions": log,
                                                    "xv_ScoreModel": model}),
        "absent": write_tables(folder / "absent.xlsx", {"xv_Transactions": log}),
    }


@pytest.mark.parametrize("kind, analysis, where", [("read", "elasticity", "Elasticity!E2"),
                                                   ("step", "scores", "rfm.nosuch")])
def test_check_fails_when_an_analysis_cannot_run_for_faulty_inputs(faulty_books, kind, analysis,
                                                                    where, capsys):
    from xlvalue.cli.headless_run import run_workbook

    book = faulty_books[kind]
    assert main(["check", str(book)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert lines[-2].startswith(f"error: {analysis} not run: ") and book.name in lines[-2] \
        and where in lines[-2]
    assert lines[-1].startswith(f"error: {book.name}: 1 analysis(es) cannot run for faulty "
                                f"inputs ({analysis}); rfm, ranking, clv, compare, lifecycle would run")
    assert "inputs are valid" not in out and "Traceback" not in err
    assert not any(line.startswith("warning:") and "not run" in line for line in lines)
    # the structured record behind it (the warning stays too)
    results = run_workbook(book, book.with_name(f"{kind}_o.xlsx")).results
    assert list(results.not_run) == [analysis] and where in results.not_run[analysis]
    assert f"{analysis} not run: {results.not_run[analysis]}" in results.warnings


def test_check_passes_when_inputs_are_merely_absent(faulty_books, capsys):
    assert main(["check", str(faulty_books["absent"])]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == "absent.xlsx: inputs are valid (rfm, ranking, clv, " \
                                           "compare, lifecycle would run)"
    assert "skipped: no xv_CostPools, xv_Drivers, xv_Revenue range in the workbook" in err


def test_quiet_run_still_prints_every_warning(faulty_books, tmp_path, capsys):
    """A plain run writes what it could (exit 3); -q silences the progress and the summary
    table, never a warning: the same stderr lines as without -q (issue 23: the returns and
    FrequencyMode hints were hidden)."""
    out = tmp_path / "o.xlsx"
    assert main(["run", str(faulty_books["read"]), "-o", str(out)]) == 3
    loud = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning: ")]
    assert main(["run", str(faulty_books["read"]), "-q", "-o", str(out)]) == 3
    stdout, err = capsys.readouterr()
    assert out.exists() and "results written to" in stdout
    assert [ln for ln in err.strip().splitlines() if ln.startswith("warning: ")] == loud
    assert err.strip().splitlines()[-1] == "error: read.xlsx: written without elasticity " \
        "(faulty inputs, see the warnings above)"
    assert "warning: elasticity not run: read.xlsx: Elasticity!E2 (xv_Elasticity): Q2 'lots' " \
        "is not a number" in loud and len(loud) > 1


def _no_work(*_a, **_k):
    raise AssertionError("computed although a target or an argument is wrong")


@pytest.fixture
def nothing_computes(monkeypatch):
    for where in ("xlvalue.cli.headless_run.compute", "xlvalue.formula_eval.evaluate.evaluate",
                  "xlvalue.cli.batch.run_batch", "xlvalue.workbook.template.build_template",
                  "xlvalue.excel.addin.build_addin"):
        monkeypatch.setattr(where, _no_work)


TARGETS = [
    (["run", "{book}", "-o", "{dir}/x.xlsx"], "{dir}/x.xlsx"),
    (["run", "{book}", "--in-place"], "{book}"),
    (["eval", "{book}", "-o", "{dir}/x.xlsx", "--report", "{ok}/r.csv"], "{dir}/x.xlsx"),
    (["eval", "{book}", "--report", "{dir}/r.csv"], "{dir}/r.csv"),
    (["batch", "{book}", "--summary", "{dir}/s.csv"], "{dir}/s.csv"),
    (["batch", "{book}", "-o", "{dir}/res"], "{dir}/res"),
    (["batch", "{book}", "-o", "{dir}"], "{dir}/x.xlsx"),
    (["template", "new", "{dir}/t.xlsx"], "{dir}/t.xlsx"),
    (["addin", "build", "{dir}/x.xlam"], "{dir}/x.xlam"),
]


@pytest.mark.parametrize("argv, target", TARGETS)
def test_targets_are_probed_for_real_before_computing(argv, target, demo_book, tmp_path, capsys,
                                                      monkeypatch, nothing_computes):
    """os.access says yes (root; folders like /proc), but no file can be made in the folder:
    the probe (a temporary file made there) finds it, names the target and the reason, and
    nothing is computed or written."""
    locked = tmp_path / "locked"
    locked.mkdir()
    ok = tmp_path / "ok"
    ok.mkdir()
    in_place = "--in-place" in argv  # the book sits in the locked folder, else elsewhere
    book = (locked if in_place else ok) / "book.xlsx"
    book.write_bytes(demo_book.read_bytes())
    real = tempfile.mkstemp

    def mkstemp(*a, dir=None, **k):
        if str(dir).startswith(str(locked)):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(cli.tempfile, "mkstemp", mkstemp)
    fill = {"dir": locked, "book": book, "ok": ok}
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err
    folder = Path(target.format(**fill)).parent
    assert err == f"error: {target.format(**fill)}: cannot write in the folder {folder} " \
                  "(Read-only file system)\n"
    assert sorted(p.name for p in locked.iterdir()) == (["book.xlsx"] if in_place else [])
    assert sorted(p.name for p in ok.iterdir()) == ([] if in_place else ["book.xlsx"])


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("argv", [
    ["run", "{book}", "-o", "/proc/x.xlsx"],
    ["eval", "{book}", "-o", "/proc/x.xlsx", "--report", "{tmp}/r.csv"],
    ["batch", "{book}", "--summary", "/proc/s.csv"],
    ["batch", "{book}", "-o", "/proc/res"],
])
def test_proc_is_found_unwritable_before_computing(argv, demo_book, tmp_path, capsys,
                                                   nothing_computes):
    """The fresh-clone trial's own cases: as root, os.access says /proc is writable."""
    assert main([a.format(book=demo_book, tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: /proc/") and ": cannot write in the folder /proc (" in err
    assert err.count("\n") == 1 and not (tmp_path / "r.csv").exists()


def test_batch_probes_each_books_folder_before_computing_it(demo_book, tmp_path, monkeypatch):
    """Without -o a book's results go beside it: a folder where nothing can be made is that
    book's error, found before its analyses run."""
    from xlvalue.cli import batch

    monkeypatch.setattr("xlvalue.cli.headless_run.compute", _no_work)
    real = tempfile.mkstemp
    monkeypatch.setattr(cli.tempfile, "mkstemp", lambda *a, dir=None, **k: (_ for _ in ()).throw(
        OSError(errno.EROFS, "Read-only file system")) if str(dir) == str(tmp_path)
        else real(*a, dir=dir, **k))
    book = tmp_path / "b.xlsx"
    book.write_bytes(demo_book.read_bytes())
    result = batch.run_one(str(book), None, None)
    assert result["status"] == "error"
    assert result["error"] == (f"{tmp_path / 'b_xlvalue.xlsx'}: cannot write in the folder "
                               f"{tmp_path} (Read-only file system)")


def test_eval_quiet_shows_no_progress_bars(tmp_path, capsys):
    pytest.importorskip("formulas", reason="the eval extra is part of make test")
    book = make_book(tmp_path / "one.xlsx", [["1", dt.date(2024, 1, 1), 10.0]],
                     {"AsOfDate": dt.date(2024, 12, 31)})
    wb = openpyxl.load_workbook(book)
    wb["Settings"]["E2"] = "=XV_NBD_P(2, 1.84, 2.67) + 0"  # compiled by `formulas`
    wb.save(book)
    assert main(["eval", str(book), "-q", "--report", str(tmp_path / "v.csv")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("1 XV_ formula(s) computed")
    assert main(["eval", str(book), "--report", str(tmp_path / "v.csv")]) == 0
    assert "loading the formula functions" in capsys.readouterr().err  # without -q: progress


@pytest.mark.parametrize("command", ["run", "eval", "check"])
def test_a_file_that_is_no_workbook_is_refused_before_any_progress_line(command, tmp_path,
                                                                         capsys):
    book = tmp_path / "notxl.xlsx"
    book.write_text("CustomerID,Date,Amount\n")
    assert main([command, str(book)]) == 2
    assert capsys.readouterr().err == ("error: notxl.xlsx: is not an Excel .xlsx/.xlsm workbook "
                                       "(a CSV or text file renamed?)\n")


@pytest.mark.parametrize("argv, message", [
    (["run", "{book}", "--only", ""], "error: --only names no analysis; name at least one of "
                                      "rfm, ranking"),
    (["check", "{book}", "--only", " , "], "error: --only names no analysis"),
    (["batch", "{book}", "--only", ""], "error: --only names no analysis"),
    (["batch", "{book}", "-j", "0"], "error: -j/--jobs must be at least 1 (processes), not 0"),
    (["batch", "{book}", "-j", "-3"], "error: -j/--jobs must be at least 1 (processes), not -3"),
    (["eval", "{book}", "-o", "{tmp}/out.csv"], "error: {tmp}/out.csv: the copy must keep the "
                                                "input's type (.xlsx)"),
    (["eval", "{book}", "--report", "{tmp}/v.txt"], "error: {tmp}/v.txt: the values report must "
                                                    "be a .csv or .json file"),
    (["addin", "build", "{tmp}/x.txt"], "error: {tmp}/x.txt: the add-in must be a .xlam file"),
    (["batch", "{book}", "--summary", "{tmp}/s.txt"], "error: {tmp}/s.txt: the summary must be "
                                                      "a .csv or .json file"),
    (["run", "{tmp}"], "error: {tmp}: is a folder, not an input workbook"),
])
def test_odd_arguments_are_refused_in_one_line(argv, message, demo_book, tmp_path, capsys,
                                               nothing_computes):
    assert main([a.format(book=demo_book, tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.format(tmp=tmp_path)) and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_values_reports_are_ignored_by_git():
    """eval's default report lands beside the book (templates/xlvalue_formulas_xv_values.csv)."""
    root = Path(__file__).resolve().parents[1]
    patterns = (root / ".gitignore").read_text().split()
    for name in ("xlvalue_formulas_xv_values.csv", "book_xv_values.json"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
