"""Runs that write their results but leave analyses out (issue 23 items 1 and 3): exit 3, each
problem said once with every analysis it stops, and a missing xv_Transactions named."""

from __future__ import annotations

import openpyxl

from xlvalue.cli.main import EXIT_PARTIAL, main
from xlvalue.pipeline import new_template


def test_one_faulty_cell_is_said_once_with_the_analyses_it_stops(tmp_path, capsys):
    """A text in xv_Customers' ShareOfWallet stops every analysis that reads xv_Customers
    (rfm, ranking, clv, compare, lifecycle, scores); the others are written, the run exits 3, and the cell is
    named on one line (it was printed once per analysis)."""
    book = new_template(tmp_path / "b.xlsx", demo=True)
    wb = openpyxl.load_workbook(book)
    ws = wb["Customers"]
    col = next(c.column for c in ws[1] if c.value == "ShareOfWallet")
    ws.cell(row=3, column=col, value="lots")
    wb.save(book)
    out = tmp_path / "o.xlsx"
    assert main(["run", str(book), "-o", str(out), "-q"]) == EXIT_PARTIAL
    err = capsys.readouterr().err.splitlines()
    named = [ln for ln in err if "'lots'" in ln]
    assert len(named) == 1, err
    assert named[0].startswith("warning: rfm, ranking, clv, compare, lifecycle, scores not run: ")
    assert "Customers!" in named[0] and "(xv_Customers)" in named[0]
    assert err[-1].startswith("error: b.xlsx: written without rfm, ranking, clv, compare, lifecycle, scores")
    names = set(openpyxl.load_workbook(out, read_only=True).defined_names)
    assert "xv_out_Profitability" in names and "xv_out_RFM" not in names
    assert main(["check", str(book)]) == 2  # check stays 2
    check = capsys.readouterr().err.splitlines()
    assert sum("'lots'" in ln for ln in check) == 1


def test_a_missing_transactions_range_is_named(tmp_path, capsys):
    """Without xv_Transactions, check and run say which range is missing for which analyses
    (they blamed the empty optional tables, or said 'absent or empty')."""
    book = new_template(tmp_path / "nt.xlsx", demo=True)
    wb = openpyxl.load_workbook(book)
    del wb["Transactions"].tables["xv_Transactions"]
    wb.save(book)
    assert main(["check", str(book)]) == 2  # scores' rfm.* indicators cannot run
    err = capsys.readouterr().err
    assert ("warning: rfm, ranking, clv, compare, lifecycle skipped: no xv_Transactions range "
            "in the workbook") in err
    assert "scores not run:" in err and "need the transaction log" in err
    assert main(["run", str(book), "-o", str(tmp_path / "o.xlsx"), "-q"]) == EXIT_PARTIAL
    err = capsys.readouterr().err
    assert "rfm, ranking, clv, compare, lifecycle skipped: no xv_Transactions range in the workbook" in err
