"""One sheet plan per sheet (xlvalue.workbook.layout): laid out once, and both writers put
every block where the plan says."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from xlvalue.workbook import layout, sheetxml
from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.layout import SheetOutput, SheetPlan, plan_sheet, plan_sheets
from xlvalue.workbook.sheetxml import Block
from xlvalue.workbook.writer import write_outputs

from . import xlwings_standin as standin


def _sheet() -> SheetOutput:
    short = Block("xv_out_Short", "S", pd.DataFrame({"group": list("abc"), "n": [3, 2, 1]}),
                  title="short", charts=[ChartSpec("bar", "n by group", "group", ("n",))])
    long_ = Block("xv_out_Long", "S", pd.DataFrame({"v": range(40)}), title="long")
    empty = Block("xv_out_Empty", "S", pd.DataFrame({"x": pd.Series([], dtype=float)}),
                  title="empty", charts=[ChartSpec("bar", "nothing", "x", ("x",))])
    return SheetOutput("S", [short, long_, empty], active=True)


@pytest.fixture
def placements(monkeypatch):
    """How often place_blocks runs (every caller reaches it through the layout module)."""
    calls = []
    real = sheetxml.place_blocks

    def counting(blocks):
        calls.append([b.name for b in blocks])
        return real(blocks)

    monkeypatch.setattr(layout, "place_blocks", counting)
    return calls


def test_a_plan_places_once_and_locates_titles_and_charts(placements):
    plan = plan_sheet(_sheet())
    assert isinstance(plan, SheetPlan) and plan.active and len(placements) == 1
    assert [b.name for b in plan.blocks] == ["xv_out_Short", "xv_out_Long", "xv_out_Empty"]
    short = plan.block("xv_out_Short")
    where = [(loc.block.block.name, loc.row, loc.col, loc.chart and loc.chart.title)
             for loc in plan.locations()]
    # each block's title row (above its header), the short block's chart at its chart cell;
    # the empty block draws no chart, so its chart has no place
    assert where == [("xv_out_Short", short.header_row - 1, 0, None),
                     ("xv_out_Short", *short.chart_cells[0], "n by group"),
                     ("xv_out_Long", 0, plan.block("xv_out_Long").first_col, None),
                     ("xv_out_Empty", plan.block("xv_out_Empty").header_row - 1, 0, None)]
    assert plan_sheets([plan])[0] is plan and len(placements) == 1
    with pytest.raises(KeyError, match="sheet S has no block xv_out_Nope"):
        plan.block("xv_out_Nope")


def test_the_writers_write_the_plan_they_are_given(placements, tmp_path):
    """Both writers take the plan as it is (no second layout: a block moved in the plan is
    written and named where the plan puts it) and still lay out a SheetOutput themselves."""
    plan = plan_sheet(_sheet())
    long_ = plan.block("xv_out_Long")
    long_.first_col += 2  # where only this plan puts it
    src = tmp_path / "src.xlsx"
    openpyxl.Workbook().save(src)
    write_outputs(src, tmp_path / "planned.xlsx", [plan])
    book = standin.Book("b.xlsx")
    book.sheets.add("Data")
    from xlvalue.excel.xlwings_book import XlwingsWorkbook

    XlwingsWorkbook(book).write_sheets([plan])
    assert len(placements) == 1  # the plan's own layout only
    area = long_.area()
    wb = openpyxl.load_workbook(tmp_path / "planned.xlsx")
    assert wb.defined_names["xv_out_Long"].attr_text == f"S!{area}"
    names = {n.name: n.refers_to for n in book.names}
    assert names["xv_out_Long"] == f"='S'!{area}"
    write_outputs(src, tmp_path / "unplanned.xlsx", [_sheet()])
    assert len(placements) == 2  # a SheetOutput is laid out by the writer
    wb = openpyxl.load_workbook(tmp_path / "unplanned.xlsx")
    assert wb.defined_names["xv_out_Long"].attr_text != f"S!{area}"
