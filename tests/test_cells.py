"""The one place that says how output values become cells (xlvalue.workbook.cells), and the
writers that use it: the OOXML sheet XML, the xlwings adapter and the worksheet functions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

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
