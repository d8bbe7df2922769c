"""Macros and the xlwings adapter: the same numbers as the headless engine, cell for cell."""

from __future__ import annotations

import inspect
import re

import openpyxl
import pytest

from xlvalue.cli.headless_run import run_workbook
from xlvalue.excel import macros, xlwings_book
from xlvalue.workbook.contract import output_sheets

from . import xlwings_standin as standin
from .conftest import make_book


def _cells(ws) -> dict[tuple[int, int], object]:
    return {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
            if c.value is not None}


def test_adapter_uses_only_the_documented_xlwings_api():
    # every attribute the adapter touches on xlwings objects is in its documented list, and
    # the stand-in implements that list
    doc = xlwings_book.__doc__
    for attr in ("names", "sheets", "refers_to_range", "tables", "charts", "set_source_data",
                 "chart_type", "status_bar", "number_format", "last_cell", "get_address"):
        assert attr in doc or attr in inspect.getsource(xlwings_book), attr
    for cls, attrs in ((standin.Range, ("value", "options", "number_format", "last_cell",
                                        "get_address", "row", "column", "sheet")),
                       (standin.Sheet, ("range", "clear", "charts", "tables", "name")),
                       (standin.Chart, ("set_source_data", "delete")),
                       (standin.Names, ("add",)), (standin.Name, ("refers_to_range", "delete"))):
        obj_attrs = set(dir(cls)) | set(inspect.signature(cls.__init__).parameters) | \
            set(re.findall(r"self\.(\w+)", inspect.getsource(cls)))
        for a in attrs:
            assert a in obj_attrs, (cls.__name__, a)


def test_ribbon_run_equals_headless_cell_for_cell(demo_book, tmp_path):
    headless = run_workbook(demo_book, tmp_path / "headless.xlsx")
    wb = openpyxl.load_workbook(headless.output)
    book = standin.load(demo_book)
    assert macros.ribbon("xvRunAll", book) is True
    assert book.app.status_bar is False  # reset after the run
    compared = 0
    for name in output_sheets():
        if name not in wb.sheetnames:
            continue
        expected = _cells(wb[name])
        got = book.sheets[name].cells
        if name == "xv_RunLog":  # run times differ
            skip = {r for (r, c), v in expected.items() if v == "started (UTC)"}
            expected = {k: v for k, v in expected.items() if k[0] not in skip}
            got = {k: v for k, v in got.items() if k[0] not in skip}
        assert set(got) == set(expected), name
        for key, value in expected.items():
            other = got[key]
            if isinstance(value, float) or isinstance(other, float):
                assert other == pytest.approx(value, rel=1e-12, abs=1e-12), (name, key)
            else:
                assert other == value, (name, key)
        compared += len(expected)
    assert compared > 50_000
    # the same names point to the same areas
    names = {n.name: n.refers_to.replace("'", "") for n in book.names if n.name.startswith("xv_out")}
    for n, dn in wb.defined_names.items():
        if n.startswith("xv_out"):
            assert names[n] == "=" + dn.attr_text.replace("'", ""), n
    charts = book.sheets["xv_Ranking"].charts
    assert len(charts) == 3 and {c.chart_type for c in charts} >= {"column_clustered"}


def test_ribbon_reports_user_errors_in_an_alert(tmp_path):
    import datetime as dt

    path = make_book(tmp_path / "bad.xlsx", [["1", dt.date(2024, 1, 1), "abc"]])
    book = standin.load(path)
    assert macros.ribbon("xvRFM", book) is False
    title, text = book.app.alerts[-1]
    assert "check the inputs" in title
    assert "Transactions!C2 (xv_Transactions): Amount 'abc' is not a number" in text
    assert "xv_RFM" not in [s.name for s in book.sheets]


def test_check_clear_and_formula_injection(tmp_path):
    import datetime as dt

    path = make_book(tmp_path / "inj.xlsx", [["=HYPERLINK(\"http://x\",\"y\")", dt.date(2024, 1, 1),
                                              5.0], ["2", dt.date(2024, 2, 1), 7.0]])
    book = standin.load(path)
    # openpyxl stored the id as a formula cell; as data it must come back as text
    book.sheets["Transactions"].cells[(2, 1)] = '=HYPERLINK("http://x","y")'
    assert macros.ribbon("xvCheck", book) is True
    assert book.app.alerts[-1][1].startswith("Inputs are valid.")
    assert macros.ribbon("xvRFM", book) is True
    rfm = book.sheets["xv_RFM"]
    assert rfm.formulas == {}  # written as text, never as a formula
    assert '=HYPERLINK("http://x","y")' in rfm.cells.values()
    assert macros.ribbon("xvClear", book) > 0
    assert not any(n.name.startswith("xv_out") for n in book.names)
    with pytest.raises(ValueError, match="unknown ribbon control"):
        macros.ribbon("nope", book)
