"""The command line a person meets: help with examples, targets checked before computing
(exit 2 for every command), a pristine .bak, SIGTERM without leftovers, readable inputs."""

from __future__ import annotations

import os
import signal

import numpy as np
import openpyxl
import pytest

from xlvalue.cli import main as cli
from xlvalue.cli.main import build_parser, main
from xlvalue.workbook.template import build_template


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
    assert "rfm, ranking, clv, scores, costing, elasticity" in " ".join(
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
    assert "not writable" in err or "read-only" in err


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
    assert signal.getsignal(signal.SIGTERM) is not cli._terminate  # handler restored


def test_integer_dates_read_alike_in_workbook_and_csv(tmp_path):
    """19970101 as a number in the workbook and in a CSV TransactionsFile: the same dates."""
    from xlvalue.cli.headless_run import run_workbook

    rows = [["A", 19970101, 10.0], ["A", 19970215, 20.0], ["B", 19970301, 5.0],
            ["B", 19970310, 7.0], ["C", 19970105, 3.0]]
    book = build_template(tmp_path / "ints.xlsx")
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
    del wb["Settings"]
    wb.save(tmp_path / "lines.xlsx")
    warnings = run_workbook(tmp_path / "lines.xlsx", tmp_path / "o.xlsx",
                            only="rfm").results.warnings
    assert any("default settings are used" in w for w in warnings)
    assert any("FrequencyMode=days" in w for w in warnings)
