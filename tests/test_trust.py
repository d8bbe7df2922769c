"""Numbers users can trust (issue 15): no silent misreads, check = run, the true problem
count, TransactionsFile confined and bounded, batch outputs never overwriting each other."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.table import Table

from xlvalue.cli.main import main
from xlvalue.workbook.validation import convert_numbers

from .conftest import make_book, write_tables

D = dt.date(2024, 1, 5)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- numbers as text ----------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("29.50", 29.5), (" -3 ", -3.0), ("1e3", 1000.0), (".5", 0.5), ("1,234.50", 1234.5),
    ("12,345,678.9", 12345678.9), ("+7.", 7.0)])
def test_numeric_text_read_by_the_rule(text, value):
    out, bad = convert_numbers(np.array([text], dtype=object))
    assert not bad[0] and out[0] == value


@pytest.mark.parametrize("text", ["29,50", "1,234", "1.234,50", "1 234", "1'234", "$12",
                                  "12€", "nan", "inf", "1,23.4", "1,2345.6"])
def test_ambiguous_or_locale_text_is_refused(text):
    out, bad = convert_numbers(np.array([text, 1.0], dtype=object))
    assert bad[0] and np.isnan(out[0]) and not bad[1]


def test_decimal_comma_in_an_amount_cell_is_refused_naming_the_cell(tmp_path, capsys):
    book = make_book(tmp_path / "b.xlsx", [["1", D, 10.0], ["2", D, "29,50"]])
    code, _, err = run_cli(capsys, "run", str(book), "-q")
    assert code == 2
    assert "Transactions!C3 (xv_Transactions): Amount '29,50' is not a number (a comma" in err
    assert "e.g. 29.50" in err
    assert not (tmp_path / "b_xlvalue.xlsx").exists()


def test_decimal_comma_in_a_csv_file_is_refused_naming_the_line(tmp_path, capsys):
    (tmp_path / "log.csv").write_text('CustomerID,Date,Amount\n1,2024-01-01,3\n'
                                      '2,2024-01-02,"100,5"\n3,2024-01-03,"1,234.50"\n')
    book = write_tables(tmp_path / "book.xlsx", {}, {"TransactionsFile": "log.csv"})
    code, _, err = run_cli(capsys, "run", str(book), "-q")
    assert code == 2
    assert "log.csv: line 3 (TransactionsFile): Amount '100,5' is not a number (a comma" in err
    assert "line 4" not in err  # 1,234.50 is unambiguous: read as 1234.5


# ---- rows below a table, totals rows -------------------------------------------------------

def _table_book(path: Path, rows: list[list], totals: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Transactions"
    ws.append(["CustomerID", "Date", "Amount"])
    for r in rows:
        ws.append(r)
    last = len(rows) + 1 + (1 if totals else 0)
    table = Table(displayName="xv_Transactions", ref=f"A1:C{last}")
    if totals:
        ws.append(["Total", None, f"=SUBTOTAL(109,C2:C{last - 1})"])
        table.totalsRowCount = 1
    ws.add_table(table)
    wb.save(path)
    return path


def test_rows_appended_below_a_table_are_an_error_with_how_to_extend_it(tmp_path, capsys):
    book = _table_book(tmp_path / "b.xlsx", [["1", D, 10.0]])
    wb = load_workbook(book)
    for i in range(2, 6):  # what ws.append / pandas' overlay writer do: the table stays A1:C2
        wb["Transactions"].append([str(i), D, float(i)])
    wb.save(book)
    for command in ("check", "run"):
        code, _, err = run_cli(capsys, command, str(book))
        assert code == 2, command
        assert ("Transactions!A3 (xv_Transactions): 4 filled row(s) directly below the range "
                "(rows 3 to 6) are not part of it") in err
        assert "resize the table to A1:C6" in err


def test_a_totals_row_is_not_data(tmp_path):
    from xlvalue.cli.headless_run import run_workbook

    book = _table_book(tmp_path / "b.xlsx", [["1", D, 10.0], ["2", D, 5.0], ["1", D, 1.0]],
                       totals=True)
    rfm = run_workbook(book, only="rfm").results.frames["xv_out_RFM"]
    assert sorted(rfm["customer_id"]) == ["1", "2"]
    assert rfm["total_spend"].sum() == 16.0


def test_a_totals_row_is_not_data_in_the_excel_door_either():
    """The xlwings adapter reads a table without its totals row (Table.show_totals)."""
    from xlvalue.excel.xlwings_book import XlwingsWorkbook

    from . import xlwings_standin as standin

    rows = [["1", D, 10.0], ["2", D, 5.0]]
    with_totals = standin.load(_table_book(Path(tempfile.mkdtemp()) / "t.xlsx", rows, totals=True))
    plain = standin.load(_table_book(Path(tempfile.mkdtemp()) / "p.xlsx", rows))
    raw = XlwingsWorkbook(with_totals).read("xv_Transactions")
    assert [r[0] for r in raw.rows] == ["CustomerID", "1", "2"]
    assert raw.rows == XlwingsWorkbook(plain).read("xv_Transactions").rows


# ---- the true problem count ---------------------------------------------------------------

def test_every_problem_is_counted_per_column(tmp_path, capsys):
    rows = [[str(i), "not a date" if i < 25 else D, "x" if i < 25 else 1.0] for i in range(40)]
    book = make_book(tmp_path / "b.xlsx", rows)
    code, _, err = run_cli(capsys, "run", str(book), "-q")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 41  # the first 20 of each column, then the true remainder per column
    assert sum("Date 'not a date'" in ln for ln in lines) == 20
    assert sum("Amount 'x'" in ln for ln in lines) == 20
    assert lines[-1] == ("error: ... and 10 more problem(s) (xv_Transactions Date: 5, "
                         "xv_Transactions Amount: 5)")


def test_five_hundred_bad_amounts_are_counted(tmp_path):
    from xlvalue.errors import InputError
    from xlvalue.workbook.contract import TRANSACTIONS
    from xlvalue.workbook.ooxml import Area
    from xlvalue.workbook.reader import RawRange
    from xlvalue.workbook.validation import validate_table

    rows = [["CustomerID", "Date", "Amount"]] + [[str(i), D, "bad"] for i in range(500)]
    _, problems = validate_table(RawRange("xv_Transactions", "b.xlsx",
                                          Area("T", 0, 0, 500, 2), rows), TRANSACTIONS)
    err = InputError(problems)
    assert err.total == 500
    assert "480 more row(s) where Amount is blank or not a number (500 in all in Amount)" in \
        str(problems[-1])


# ---- check = run ---------------------------------------------------------------------------

def test_check_and_run_agree_on_an_empty_preset_workbook(tmp_path, capsys):
    book = tmp_path / "p.xlsx"
    assert main(["template", "new", str(book), "--preset", "convergys"]) == 0
    capsys.readouterr()
    run_code, _, run_err = run_cli(capsys, "run", str(book), "-q")
    check_code, _, check_err = run_cli(capsys, "check", str(book))
    assert run_code == check_code == 2
    assert run_err.splitlines()[0] == check_err.splitlines()[0]


@pytest.mark.parametrize("only, table", [("costing", "xv_CostPools"),
                                         ("elasticity", "xv_Elasticity")])
def test_only_on_empty_inputs_fails_clearly(tmp_path, capsys, only, table):
    book = tmp_path / "t.xlsx"
    assert main(["template", "new", str(book)]) == 0
    capsys.readouterr()
    for command in ("run", "check"):
        code, _, err = run_cli(capsys, command, str(book), "--only", only)
        assert code == 2, command
        assert f"({table}): {table} holds no data rows; {only} needs at least one" in err


def test_score_inputs_absent_and_empty_say_different_things(tmp_path, capsys):
    import pandas as pd

    model = pd.DataFrame({"Indicator": ["revenue"], "Group": ["g"], "Weight": [1.0],
                          "Direction": ["higher"]})
    absent = write_tables(tmp_path / "absent.xlsx", {"xv_ScoreModel": model})
    empty = write_tables(tmp_path / "empty.xlsx", {
        "xv_ScoreModel": model, "xv_ScoreInputs": pd.DataFrame(columns=["CustomerID",
                                                                        "revenue"])})
    _, _, err = run_cli(capsys, "run", str(absent), "--only", "scores", "-q")
    assert "no xv_ScoreInputs table" in err
    _, _, err = run_cli(capsys, "run", str(empty), "--only", "scores", "-q")
    assert "xv_ScoreInputs holds no data rows" in err and "no xv_ScoreInputs table" not in err


# ---- TransactionsFile: confined, regular, bounded, quiet -----------------------------------

def _file_book(folder: Path, name: str) -> Path:
    return write_tables(folder / "book.xlsx", {}, {"TransactionsFile": name})


@pytest.fixture
def outside(tmp_path) -> Path:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "log.csv").write_text("CustomerID,Date,Amount\nS3CRET,2024-01-01,1\n")
    (tmp_path / "books").mkdir()
    return secret / "log.csv"


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_transactions_file_outside_the_workbook_folder_is_refused(tmp_path, capsys, outside,
                                                                  how):
    books = tmp_path / "books"
    if how == "symlink":
        (books / "link.csv").symlink_to(outside)
        name = "link.csv"
    else:
        name = str(outside) if how == "absolute" else "../secret/log.csv"
    book = _file_book(books, name)
    code, out, err = run_cli(capsys, "run", str(book), "-q")
    assert code == 2
    assert "lies outside the workbook's folder" in err and "--allow-files-from" in err
    assert "S3CRET" not in out + err
    # an explicit root allows it
    code, _, err = run_cli(capsys, "run", str(book), "-q", "--only", "rfm",
                           "--allow-files-from", str(outside.parent))
    assert code == 0, err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    os.mkfifo(tmp_path / "log.csv")
    book = _file_book(tmp_path, "log.csv")
    code, _, err = run_cli(capsys, "run", str(book), "-q")
    assert code == 2 and "is not a regular file" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_named_csv_is_refused(tmp_path, capsys):
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    book = _file_book(tmp_path, "zero.csv")
    code, _, err = run_cli(capsys, "run", str(book), "-q", "--allow-files-from", "/dev")
    assert code == 2 and "is not a regular file" in err


def test_a_file_over_the_size_cap_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    import xlvalue.workbook.transactions_file as tf

    (tmp_path / "log.csv").write_text("CustomerID,Date,Amount\n" + "1,2024-01-01,1\n" * 100)
    monkeypatch.setattr(tf, "MAX_FILE_BYTES", 1000)
    book = _file_book(tmp_path, "log.csv")
    code, _, err = run_cli(capsys, "run", str(book), "-q")
    assert code == 2 and "more than the 1,000-byte limit (XLVALUE_MAX_FILE_BYTES)" in err


def test_file_content_is_not_echoed_beyond_the_offending_value(tmp_path, capsys):
    secret = "root:x:0:0:" + "y" * 200
    (tmp_path / "log.csv").write_text(f"user,shell\n{secret},/bin/sh\n")
    code, _, err = run_cli(capsys, "run", str(_file_book(tmp_path, "log.csv")), "-q")
    assert code == 2 and "missing column(s) CustomerID, Date, Amount" in err
    assert secret not in err
    (tmp_path / "log.csv").write_text(f"CustomerID,Date,Amount\n1,{secret},1\n")
    code, _, err = run_cli(capsys, "run", str(_file_book(tmp_path, "log.csv")), "-q")
    assert code == 2 and "Date 'root:x:0:0:yyyy" in err and "y" * 60 not in err
    (tmp_path / "log.csv").write_text(f"CustomerID,Date,Amount\n1,2024-01-01,1,{secret}\n")
    code, _, err = run_cli(capsys, "run", str(_file_book(tmp_path, "log.csv")), "-q")
    assert code == 2 and "cannot read the file" in err and secret not in err


# ---- batch outputs -------------------------------------------------------------------------

def test_batch_outputs_of_same_named_books_never_overwrite_each_other(tmp_path, capsys):
    for folder, amount in (("north", 10.0), ("south", 99.0)):
        (tmp_path / "in" / folder).mkdir(parents=True)
        make_book(tmp_path / "in" / folder / "sales.xlsx", [["1", D, amount]])
    out = tmp_path / "out"
    code = main(["batch", str(tmp_path / "in" / "**" / "*.xlsx"), "-o", str(out), "-q",
                 "--only", "rfm"])
    capsys.readouterr()
    assert code == 0
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.xlsx"))
    assert found == ["north/sales_xlvalue.xlsx", "south/sales_xlvalue.xlsx"]
    import pandas as pd

    spend = [pd.read_excel(out / f, sheet_name="xv_RFM", header=1, engine="calamine")
             ["total_spend"].iloc[0] for f in found]
    assert spend == [10.0, 99.0]


def test_an_excel_door_does_not_read_a_transactions_file(tmp_path):
    """A reader without a file path (xlwings, Lite) has no folder to confine the file to."""
    from xlvalue.errors import InputError
    from xlvalue.pipeline import compute
    from xlvalue.workbook.reader import WorkbookReader

    (tmp_path / "log.csv").write_text("CustomerID,Date,Amount\n1,2024-01-01,1\n")
    book = _file_book(tmp_path, "log.csv")
    inner = WorkbookReader.open(book)

    class NoPath:  # the surface the Excel doors offer: names, ranges, no path
        book = inner.book
        has, has_data, read = inner.has, inner.has_data, inner.read

    try:
        with pytest.raises(InputError, match="TransactionsFile is read by the command line"):
            compute(NoPath(), "rfm")
    finally:
        inner.close()


def test_costing_problems_are_counted_too():
    import pandas as pd

    from xlvalue.analytics.costing import allocate
    from xlvalue.errors import InputError

    pools = pd.DataFrame({"Pool": ["A"], "Stage": [1.0], "Amount": [100.0]})
    drivers = pd.DataFrame({"Stage": [1.0] * 30, "From": ["A"] * 30,
                            "To": [f"C{i}" for i in range(30)], "Quantity": [-1.0] * 30})
    with pytest.raises(InputError) as err:
        allocate(pools, drivers)
    assert err.value.total == 30
    assert "10 more row(s) where the driver quantity is negative (30 in all in Quantity)" in \
        str(err.value.problems[20])
