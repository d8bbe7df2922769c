"""The one place that says how output values become cells (xlvalue.workbook.cells), and the
writers that use it: the OOXML sheet XML, the xlwings adapter and the worksheet functions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from xlvalue.excel.convert import frame_to_cells
from xlvalue.workbook.cells import (
    EXCEL_EPOCH,
    column_kind,
    frame_rows,
    is_excel_error,
    is_percent_column,
)
from xlvalue.workbook.sheetxml import StyleIds, column_cells

FRAME = pd.DataFrame({
    "customer_id": ["001", None, "=SUM(A1)"],
    "first_purchase": pd.to_datetime(["2024-03-01 13:45", None, "1900-03-01 00:00"]),
    "frequency": np.array([3, 0, 7], dtype=np.int64),
    "clv": [1.5, np.nan, np.inf],
    "share_of_value": [0.25, 0.5, 0.25],
    "alive": [True, False, True],
})


def test_column_kinds_and_the_percent_rule():
    kinds = {c: column_kind(FRAME[c], c) for c in FRAME.columns}
    assert kinds == {"customer_id": "text", "first_purchase": "date", "frequency": "integer",
                     "clv": "number", "share_of_value": "percent", "alive": "bool"}
    assert is_percent_column("cumulative_customers") and is_percent_column("value_share")
    assert not is_percent_column("clv")


def test_frame_rows_blank_nan_inf_and_whole_day_dates():
    rows = frame_rows(FRAME)
    assert rows[0] == ["001", dt.datetime(2024, 3, 1), 3.0, 1.5, 0.25, True]
    assert rows[1] == [None, None, 0.0, None, 0.5, False]
    assert rows[2][0] == "=SUM(A1)" and rows[2][3] is None  # inf is an empty cell
    escaped = frame_rows(FRAME, text=lambda s: "'" + s if s.startswith("=") else s)
    assert escaped[2][0] == "'=SUM(A1)" and escaped[0][0] == "001" and escaped[1][0] is None


def test_the_worksheet_functions_and_the_sheet_xml_agree_on_each_cell():
    """The UDF values and the OOXML cells of the same frame say the same thing."""
    cells = frame_to_cells(FRAME)
    assert cells[0] == list(FRAME.columns)
    styles = StyleIds(date=5, number=6, integer=7, percent=8)
    xml = {c: column_cells(FRAME[c], c, styles).to_pylist() for c in FRAME.columns}
    serial = (np.datetime64("2024-03-01") - EXCEL_EPOCH).astype(int)
    assert xml["first_purchase"][0] == f' s="5"><v>{serial}</v></c>' and serial == 45352
    assert xml["first_purchase"][1] is None and cells[2][1] is None
    assert xml["clv"] == [' s="6"><v>1.5</v></c>', None, None]
    assert xml["share_of_value"][0] == ' s="8"><v>0.25</v></c>'
    assert xml["frequency"][2] == ' s="7"><v>7</v></c>'


def test_empty_text_is_no_cell_in_every_writer():
    """Excel keeps no cell for an empty string; the sheet XML and the cell values agree."""
    values = pd.Series(["a", "", None], dtype=object)
    assert frame_rows(values.to_frame("note")) == [["a"], [None], [None]]
    xml = column_cells(values, "note", StyleIds()).to_pylist()
    assert xml[0].endswith("<t>a</t></is></c>") and xml[1:] == [None, None]


def test_excel_error_codes():
    for code in ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!",
                 "#CALC!"):
        assert is_excel_error(code)
    assert not is_excel_error("#XV! bins must be between 2 and 10")
    assert not is_excel_error("N/A") and not is_excel_error(None)


# A long-format block (the headline's item/value) and a count column declared whole: the
# declared kinds give each cell its format; share_of_value is not declared (guessed: 0.00%).
DECLARED = pd.DataFrame({
    "item": ["customers", "total spend", "mean P(alive)", "largest segment", "whale peak"],
    "value": pd.Series([2357.0, 244091.94, 0.663, "Lost 457", 78.7], dtype=object),
    "stage": [1.0, 2.5, 3.0, 4.0, 5.0],
    "share_of_value": [0.1, 0.2, 0.3, 0.2, 0.2],
})
DECLARED_FORMATS = {"value": ("integer", "number", "share", "text", "pct"), "stage": "integer"}
# the number format each data cell shows (openpyxl's and Excel's name for no format: General)
WANT_FORMATS = {
    "value": ["#,##0", "#,##0.00", "0.0%", "General", '0.0"%"'],
    "stage": ["#,##0"] * 5,
    "share_of_value": ["0.00%"] * 5,
}


def _declared_block():
    from xlvalue.workbook.sheetxml import Block

    return Block("xv_out_Declared", "T", DECLARED, title="declared",
                 formats=DECLARED_FORMATS)


def test_declared_and_per_row_formats_in_the_sheet_xml(tmp_path):
    """Written by the OOXML writer and read back by openpyxl: every cell has its declared
    format (a custom one where Excel has none built in), values unchanged (2.5 declared whole
    stays 2.5, shown 3), the text row is text; the header of the mixed column stays left."""
    import openpyxl

    from xlvalue.workbook.writer import SheetOutput, write_outputs

    src = tmp_path / "src.xlsx"
    openpyxl.Workbook().save(src)
    write_outputs(src, tmp_path / "out.xlsx", [SheetOutput("T", [_declared_block()])])
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx")["T"]
    header = [c.value for c in ws[2]]
    assert header == list(DECLARED.columns)
    for name, want in WANT_FORMATS.items():
        col = header.index(name) + 1
        assert [ws.cell(3 + i, col).number_format for i in range(5)] == want, name
    value = header.index("value") + 1
    assert [ws.cell(3 + i, value).value for i in range(5)] == [2357, 244091.94, 0.663,
                                                               "Lost 457", 78.7]
    assert ws.cell(3 + 1, header.index("stage") + 1).value == 2.5
    assert ws.cell(2, value).alignment.horizontal is None  # numbers and text: not right
    assert ws.cell(2, header.index("stage") + 1).alignment.horizontal == "right"


def test_declared_and_per_row_formats_through_xlwings():
    """The xlwings adapter sets the same formats, one range per run of rows of one kind, and
    writes the same values (the stand-in stores them as Excel does)."""
    from xlvalue.excel.xlwings_book import XlwingsWorkbook
    from xlvalue.workbook.writer import SheetOutput

    from . import xlwings_standin as standin

    book = standin.Book("b.xlsx")
    book.sheets.add("Data")
    XlwingsWorkbook(book).write_sheets([SheetOutput("T", [_declared_block()])])
    s = book.sheets["T"]
    header = [s.cells.get((2, c)) for c in range(1, 5)]
    assert header == list(DECLARED.columns)
    want_xlwings = {name: [None if f == "General" else f for f in formats]
                    for name, formats in WANT_FORMATS.items()}
    for name, want in want_xlwings.items():
        col = header.index(name) + 1
        assert [s.formats.get((3 + i, col)) for i in range(5)] == want, name
    value = header.index("value") + 1
    assert [s.cells.get((3 + i, value)) for i in range(5)] == [2357.0, 244091.94, 0.663,
                                                               "Lost 457", 78.7]


def test_a_declaration_that_does_not_fit_is_a_clear_programming_error():
    from xlvalue.workbook.cells import column_kinds

    frame = pd.DataFrame({"v": [1.0, 2.0]})
    with pytest.raises(ValueError, match="block B: formats name column 'w'"):
        column_kinds(frame, {"w": "integer"}, "B")
    with pytest.raises(ValueError, match="2 data rows"):
        column_kinds(frame, {"v": ("integer",)}, "B")
    with pytest.raises(ValueError, match="unknown cell kind"):
        column_kinds(frame, {"v": "whole"}, "B")
    styles = StyleIds(integer=3)
    with pytest.raises(ValueError, match="row 2 holds '2,357', declared integer"):
        column_cells(pd.Series([1, "2,357"], dtype=object), "v", styles, ("integer", "integer"))
