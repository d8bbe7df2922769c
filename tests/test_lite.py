"""The xlwings Lite plugin: the same engine as the other doors, cell for cell.

Scripts run against the xlwings stand-in (tests/xlwings_standin.py, the API subset that
XlwingsWorkbook uses) and every xv_out_* block they write is compared with the headless run of
the same workbook; the functions are compared with the classic door on Lite-shaped arguments
(2-D lists, dates as serial numbers). tests/test_lite_xlwings.py runs the same module through
the real xlwings Lite/Server registration and call code.
"""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl.utils import range_boundaries

import xlvalue.excel.udfs as classic
import xlvalue.lite as lite
from xlvalue.analyses.registry import output_blocks
from xlvalue.datasets import load_cdnow_sample
from xlvalue.excel.convert import ERROR_PREFIX, REGISTRY

from . import xlwings_standin as standin
from .conftest import make_book
from .lite_calls import classic_calls, lite_args


@pytest.fixture(scope="module")
def headless(demo_output):
    """The demo workbook run headlessly (the session's shared run), opened with openpyxl."""
    return demo_output


def _block(ws, ref: str) -> list[list]:
    """Cells of a headless block; an empty text cell is blank, as when xlwings writes ''."""
    c0, r0, c1, r1 = range_boundaries(ref.replace("$", ""))
    return [[None if ws.cell(r, c).value == "" else ws.cell(r, c).value
             for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]


def _standin_block(book: standin.Book, name: str) -> list[list]:
    item = next(n for n in book.names if n.name == name)
    rng = item.refers_to_range
    sheet, last = rng.sheet, rng.last_cell
    return [[sheet.cells.get((r, c)) for c in range(rng.column, last.column + 1)]
            for r in range(rng.row, last.row + 1)]


def _same(got, expected, where) -> None:
    assert len(got) == len(expected), where
    for i, (row_g, row_e) in enumerate(zip(got, expected, strict=True)):
        for j, (g, e) in enumerate(zip(row_g, row_e, strict=True)):
            if isinstance(e, float) or isinstance(g, float):
                assert g == pytest.approx(e, rel=1e-12, abs=1e-12), (where, i, j)
            else:
                assert g == e, (where, i, j)


SUMMARY_BLOCKS = ("xv_out_Summary", "xv_out_Warnings", "xv_out_Contents")


def compare_blocks(book: standin.Book, headless_wb, partial: bool = False) -> list[str]:
    """Every xv_out_* block the plugin defined equals the headless one; returns their names.
    A partial run (one script) has its own summary sheet, not compared with the full run's."""
    names = sorted(n.name for n in book.names if n.name.startswith("xv_out_"))
    for name in names:
        if name == "xv_out_RunLog" or (partial and name in SUMMARY_BLOCKS):
            continue  # start times differ; compared without them below
        sheet, ref = headless_wb.defined_names[name].attr_text.rsplit("!", 1)
        expected = _block(headless_wb[sheet.strip("'")], ref)
        _same(_standin_block(book, name), expected, name)
    return names


def test_run_all_script_writes_the_headless_blocks_cell_for_cell(demo_book, headless):
    book = standin.load(demo_book)
    assert lite.xv_run_all(book) is True
    names = compare_blocks(book, headless)
    expected = {n for n in headless.defined_names if n.startswith("xv_out_")}
    assert set(names) == expected and len(names) >= 20
    # the run log matches apart from the start time
    log = [r for r in _standin_block(book, "xv_out_RunLog") if r[1] != "started (UTC)"]
    sheet, ref = headless.defined_names["xv_out_RunLog"].attr_text.rsplit("!", 1)
    want = [r for r in _block(headless[sheet.strip("'")], ref) if r[1] != "started (UTC)"]
    _same(log, want, "xv_out_RunLog")
    # whole sheets too (titles above the blocks), and the same native charts as the ribbon
    for spec_sheet in {s.sheet for s in output_blocks()} - {"xv_RunLog"}:
        if spec_sheet in headless.sheetnames:
            ws = headless[spec_sheet]
            cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
                     if c.value is not None and c.value != ""}
            assert set(book.sheets[spec_sheet].cells) == set(cells), spec_sheet
    charts = book.sheets["xv_Ranking"].charts
    assert len(charts) == 3 and {c.chart_type for c in charts} >= {"column_clustered"}


@pytest.mark.parametrize("script, blocks", [
    ("xv_rfm", {"xv_out_RFM", "xv_out_Deciles", "xv_out_Pareto", "xv_out_Whale"}),
    ("xv_clv", {"xv_out_CLV", "xv_out_Models", "xv_out_Forecast"}),
    ("xv_scores", {"xv_out_Scores", "xv_out_ScoreMovers"}),
    ("xv_costing", {"xv_out_Allocation", "xv_out_Profitability", "xv_out_ProfitWhale"}),
    ("xv_elasticity", {"xv_out_Elasticity"}),
    ("xv_bgbb", {"xv_out_BGBB", "xv_out_BGBBFit", "xv_out_BGBBCounts"}),
    ("xv_sbg", {"xv_out_SBG", "xv_out_SBGFit"}),
])
def test_each_ribbon_script_writes_its_blocks_as_the_headless_run(demo_book, headless, script,
                                                                  blocks):
    book = standin.load(demo_book)
    assert getattr(lite, script)(book) is True
    names = set(compare_blocks(book, headless, partial=True))
    assert blocks <= names
    assert not any(n.startswith("xv_out_RFM") for n in names) or script == "xv_rfm"


def test_demo_script_fills_an_empty_workbook_like_the_demo_template(headless):
    book = standin.Book("Book1.xlsx")
    book.sheets.add("Sheet1")
    assert lite.xv_demo(book) is True
    assert {"Settings", "Transactions", "xv_RFM", "xv_CLV"} <= {s.name for s in book.sheets}
    names = compare_blocks(book, headless)
    assert set(names) == {n for n in headless.defined_names if n.startswith("xv_out_")}
    # ids are text cells, dates datetimes, as in the template
    tx = book.sheets["Transactions"]
    assert tx.formats[(2, 1)] == "@" and isinstance(tx.cells[(2, 2)], dt.datetime)


def test_check_and_clear_scripts(demo_book):
    book = standin.load(demo_book)
    assert lite.xv_check_inputs(book) is True
    assert book.app.alerts[-1][1].startswith("Inputs are valid.")
    assert lite.xv_run_all(book) is True
    removed = lite.xv_clear_outputs(book)
    assert removed >= 20 and not any(n.name.startswith("xv_out_") for n in book.names)
    assert book.sheets["xv_RFM"].cells == {}


def test_user_errors_are_located_in_an_alert_and_printed(tmp_path, capsys):
    path = make_book(tmp_path / "bad.xlsx", [["1", dt.date(2024, 1, 1), "abc"]])
    book = standin.load(path)
    assert lite.xv_rfm(book) is False
    title, text = book.app.alerts[-1]
    assert "check the inputs" in title
    assert "Transactions!C2 (xv_Transactions): Amount 'abc' is not a number" in text
    assert "Amount 'abc' is not a number" in capsys.readouterr().out
    assert "xv_RFM" not in [s.name for s in book.sheets]
    assert lite.xv_check_inputs(book) is False


@pytest.fixture(scope="module")
def cdnow_rows() -> list[list]:
    df = load_cdnow_sample()
    return [["CustomerID", "Date", "Amount"]] + [
        [c, d.to_pydatetime(), float(a)] for c, d, a in zip(df["CustomerID"], df["Date"],
                                                             df["Amount"], strict=True)]


def test_every_catalogue_function_is_a_lite_function_with_the_same_help():
    assert list(lite.FUNCTIONS) == list(REGISTRY) and len(lite.FUNCTIONS) >= 19
    import inspect

    for name, spec in REGISTRY.items():
        f = getattr(lite, name)
        assert f.__name__ == name and f.__doc__ == spec.doc
        assert list(inspect.signature(f).parameters) == \
            list(inspect.signature(getattr(classic, name)).parameters)
    assert len(lite.SCRIPTS) >= 6 and all(s.__name__ in lite.__all__ for s in lite.SCRIPTS)


def test_every_function_gives_the_classic_result_on_lite_arguments(cdnow_rows):
    calls = classic_calls(cdnow_rows, classic)
    assert set(calls) == set(REGISTRY)
    for name, args in calls.items():
        want = getattr(classic, name)(*args)
        got = getattr(lite, name)(*lite_args(args))
        assert not str(want[0][0]).startswith(ERROR_PREFIX), (name, want[0][0])
        assert got == want, name


def test_errors_stay_readable_cell_text():
    out = lite.XV_REPEAT([["CustomerID", "Date", "Amount"], ["a", 45000.0, 10.0]], None,
                         [["fortnights"]])
    want = classic.XV_REPEAT([["CustomerID", "Date", "Amount"], ["a", 45000.0, 10.0]], None,
                             "fortnights")
    assert out == want and want[0][0].startswith(ERROR_PREFIX + "unit") and len(want) == 1
    assert lite.XV_PARETO([["x"], ["y"]])[0][0].startswith(ERROR_PREFIX)


def test_tell_falls_back_to_the_output_pane_only_where_there_is_no_alert(capsys):
    """A runtime without alerts (xlwings' base App raises NotImplementedError) leaves the
    message in the output pane; any other failure of the alert is not hidden."""
    from types import SimpleNamespace

    from xlvalue.lite.scripts import tell

    def no_alert(*_a, **_k):
        raise NotImplementedError

    def broken(*_a, **_k):
        raise RuntimeError("alert failed")

    tell(SimpleNamespace(app=SimpleNamespace(alert=no_alert)), "Done.", "xlvalue")
    assert capsys.readouterr().out == "xlvalue\nDone.\n"
    with pytest.raises(RuntimeError, match="alert failed"):
        tell(SimpleNamespace(app=SimpleNamespace(alert=broken)), "Done.")
