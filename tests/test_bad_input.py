"""Bad input: one clear located line each, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName

from xlvalue.analyses.registry import analysis_names
from xlvalue.cli.main import main

from .conftest import make_book

D = dt.date(2024, 1, 5)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_user_error(capsys, book: Path, *fragments: str) -> str:
    before = _sha(book)
    code, _, err = run_cli(capsys, "run", str(book), "-q")
    assert code == 2, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    assert _sha(book) == before
    assert not book.with_name(f"{book.stem}_xlvalue{book.suffix}").exists()
    return err


def test_text_in_amount_names_the_cell(tmp_path, capsys):
    book = make_book(tmp_path / "b.xlsx", [["1", D, 10.0], ["2", D, "abc"], ["3", D, 5.0]])
    err = assert_user_error(capsys, book, "b.xlsx: Transactions!C3 (xv_Transactions): "
                            "Amount 'abc' is not a number")
    assert err.count("\n") == 1


def test_problems_are_collected_up_to_twenty(tmp_path, capsys):
    rows = [[str(i), "not a date", "x"] for i in range(30)]
    book = make_book(tmp_path / "b.xlsx", rows)
    err = assert_user_error(capsys, book, "Transactions!B2", "is not a date", "more problem(s)")
    assert len(err.strip().splitlines()) == 41  # 20 per column, then the count of the rest


@pytest.mark.parametrize("rows, fragment", [
    ([["1", "31/12/2024", 1.0]], "Transactions!B2 (xv_Transactions): Date '31/12/2024' is not a date"),
    ([[None, D, 1.0], ["2", D, 2.0]], "Transactions!A2 (xv_Transactions): CustomerID is blank"),
    ([["1", D, 1.0], [None, None, None], ["2", D, 2.0]], "Transactions!A3 (xv_Transactions): blank row"),
    ([], "b.xlsx: xv_Transactions hold(s) no data rows"),
])
def test_located_messages(tmp_path, capsys, rows, fragment):
    book = make_book(tmp_path / "b.xlsx", rows) if rows else make_book(
        tmp_path / "b.xlsx", [[None, None, None]])
    assert_user_error(capsys, book, fragment)


def test_missing_name_and_missing_column(tmp_path, capsys):
    book = make_book(tmp_path / "none.xlsx", None)
    assert_user_error(capsys, book, "none.xlsx: the workbook has none of the input ranges")
    code, _, err = run_cli(capsys, "run", str(book), "--only", "rfm")
    assert code == 2 and "(xv_Transactions): no defined name or Excel table" in err
    book = make_book(tmp_path / "col.xlsx", [["1", D]], header=("CustomerID", "Date"))
    assert_user_error(capsys, book, "missing column 'Amount'")


def test_name_pointing_to_ref_error(tmp_path, capsys):
    wb = Workbook()
    wb.defined_names["xv_Transactions"] = DefinedName("xv_Transactions", attr_text="#REF!")
    wb.save(tmp_path / "ref.xlsx")
    assert_user_error(capsys, tmp_path / "ref.xlsx", "name points to #REF!")


def test_duplicated_customer_rows(tmp_path, capsys):
    book = make_book(tmp_path / "dup.xlsx", [["1", D, 1.0]],
                     customers=[["1", "Ann", "x"], ["1", "Ann again", "y"]])
    assert_user_error(capsys, book, "Customers!A2", "CustomerID '1' appears more than once")


def test_as_of_before_first_purchase(tmp_path, capsys):
    book = make_book(tmp_path / "asof.xlsx", [["1", D, 1.0]], settings={"AsOfDate": dt.date(2020, 1, 1)})
    assert_user_error(capsys, book, "AsOfDate 2020-01-01 is before the first purchase")


def test_bad_setting_value(tmp_path, capsys):
    book = make_book(tmp_path / "set.xlsx", [["1", D, 1.0]], settings={"PeriodUnit": "fortnight"})
    assert_user_error(capsys, book, "Settings!B2 (xv_Settings): PeriodUnit 'fortnight' is not one of")


@pytest.mark.parametrize("content, fragment", [
    (b"", "file is empty"),
    (b"CustomerID,Date,Amount\n1,2024-01-01,3\n", "not an Excel .xlsx/.xlsm workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
     "encrypted (password-protected) workbook or an old .xls"),
    (b"PK\x03\x04garbage", "damaged or truncated"),
])
def test_files_that_are_not_workbooks(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    assert_user_error(capsys, path, fragment)


def test_zip_without_workbook(tmp_path, capsys):
    path = tmp_path / "zip.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    assert_user_error(capsys, path, "not an Excel workbook (no xl/workbook.xml)")


def test_error_values_in_inputs_are_named(tmp_path, capsys):
    book = make_book(tmp_path / "err.xlsx", [["1", D, 1.0], ["2", D, 2.0]])
    with zipfile.ZipFile(book) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = sheet.replace('<c r="C3" t="n"><v>2</v></c>', '<c r="C3" t="e"><v>#N/A</v></c>')
    assert "#N/A" in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(book, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    assert_user_error(capsys, book, "Transactions!C3 (xv_Transactions): Amount error value #N/A")


def test_empty_log_with_explicit_analysis(tmp_path, capsys):
    book = make_book(tmp_path / "b.xlsx", [[None, None, None]])
    code, _, err = run_cli(capsys, "run", str(book), "--only", "rfm")
    assert code == 2 and "(xv_Transactions): the transaction log has no rows" in err


def test_output_would_overwrite_input(tmp_path, capsys):
    book = make_book(tmp_path / "b.xlsx", [["1", D, 1.0]])
    code, _, err = run_cli(capsys, "run", str(book), "-o", str(book))
    assert code == 2 and "use --in-place" in err


def test_unknown_analysis(tmp_path, capsys):
    book = make_book(tmp_path / "b.xlsx", [["1", D, 1.0]])
    code, _, err = run_cli(capsys, "run", str(book), "--only", "rfm,magic")
    assert code == 2 and "unknown analysis magic" in err


def test_clv_on_too_few_customers(tmp_path, capsys):
    book = make_book(tmp_path / "few.xlsx", [["1", D, 1.0], ["2", D, 2.0]])
    code, _, err = run_cli(capsys, "run", str(book), "--only", "clv", "-q")
    assert code == 2 and "CLV: bgnbd: 2 customer(s) are too few to fit 4 parameters" in err
    code, out, err = run_cli(capsys, "run", str(book))  # all analyses: CLV skipped, reported
    assert code == 0 and "warning: CLV skipped" in err


@pytest.mark.parametrize("command", ["run", "check", "batch"])
def test_unknown_analysis_is_refused_before_any_workbook_is_read(tmp_path, capsys, command):
    """The --only names are checked first: one line, no 'reading ...', the same for a batch
    (not once per book), even when the workbook would not open."""
    missing = tmp_path / "not_there.xlsx"
    code, out, err = run_cli(capsys, command, str(missing), "--only", "magic")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert lines[0].endswith("unknown analysis magic; choose from " + ", ".join(analysis_names()))
    assert "reading" not in out + err
