"""Tests that kill what slipped through before (issue 15): hand-checked allocation flows,
the user's calcChain kept, an expert scale's Min, arc (not point) elasticity classes, a
misspelt chart kind. (Standard errors: test_trust_models; XV_CLV's discounting:
test_trust_values.)"""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.costing import allocate, elasticity
from xlvalue.analytics.scoring import normalise, score_customers


def test_allocation_flows_by_hand():
    """Stage 1: A (100) splits 3:1 to X and Y, B (50) 1:1; stage 2: X 1:1 to P1 and P2, Y all
    to P1. By hand: A->X 75, A->Y 25, B->X 25, B->Y 25; X = 100 -> P1 50, P2 50; Y = 50 -> P1."""
    pools = pd.DataFrame({"Pool": ["A", "B"], "Stage": [1.0, 1.0], "Amount": [100.0, 50.0]})
    drivers = pd.DataFrame({
        "Stage": [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
        "From": ["A", "A", "B", "B", "X", "X", "Y"],
        "To": ["X", "Y", "X", "Y", "P1", "P2", "P1"],
        "Quantity": [3.0, 1.0, 1.0, 1.0, 2.0, 2.0, 7.0]})
    a = allocate(pools, drivers)
    expected = pd.DataFrame({
        "stage": [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
        "from": ["A", "A", "B", "B", "X", "X", "Y"],
        "to": ["X", "Y", "X", "Y", "P1", "P2", "P1"],
        "amount": [75.0, 25.0, 25.0, 25.0, 50.0, 50.0, 50.0]})
    got = a.flows.reset_index(drop=True)
    assert got[["from", "to"]].astype(str).values.tolist() == \
        expected[["from", "to"]].values.tolist()
    np.testing.assert_allclose(got["stage"].astype(float), expected["stage"])
    np.testing.assert_allclose(got["amount"].astype(float), expected["amount"], rtol=1e-12)
    assert a.final.to_dict() == pytest.approx({"P1": 100.0, "P2": 50.0})


def test_expert_scale_honours_min():
    """Linear between Min 10 and Max 20: 15 is half way (0.5), not 15/20; outside clipped."""
    v = np.array([5.0, 10.0, 15.0, 20.0, 25.0])
    np.testing.assert_allclose(normalise(v, "expert", "higher", 10.0, 20.0),
                               [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(normalise(v, "expert", "lower", 10.0, 20.0),
                               [1.0, 1.0, 0.5, 0.0, 0.0])
    model = pd.DataFrame({"Indicator": ["x"], "Weight": [100.0], "Normalisation": ["expert"],
                          "Min": [10.0], "Max": [20.0]})
    table = score_customers(model, pd.DataFrame({"x": [15.0, 12.0]}, index=["a", "b"])).table
    assert table.set_index(table.columns[0])["score"].to_dict() == pytest.approx(
        {"a": 50.0, "b": 20.0})


def test_elastic_or_inelastic_by_arc_elasticity():
    """p 10 -> 12, q 100 -> 80: point elasticity (-20/100)/(2/10) = -1 exactly (unit
    elastic), arc elasticity (-20/90)/(2/11) = -1.2222 (elastic): the class follows the arc.
    p 10 -> 20, q 100 -> 60: point -0.4, arc (-40/80)/(10/15) = -0.75 (inelastic)."""
    e = elasticity([10.0, 10.0], [100.0, 100.0], [12.0, 20.0], [80.0, 60.0])
    np.testing.assert_allclose(e["arc_elasticity"], [-20 / 90 / (2 / 11), -0.75])
    np.testing.assert_allclose(e["point_elasticity"], [-1.0, -0.4])
    assert e["class"].tolist() == ["elastic", "inelastic"]
    e = elasticity([10.0], [100.0], [11.0], [85.0])  # point -1.5 (elastic), arc -1.70
    assert e["class"].tolist() == ["elastic"]
    e = elasticity([10.0], [100.0], [30.0], [50.0])  # point -0.25, arc -0.667: inelastic
    assert e["class"].tolist() == ["inelastic"]


def test_a_misspelt_chart_kind_is_caught():
    from xlvalue.analyses.registry import fixed_charts

    CHARTS = fixed_charts()
    from xlvalue.workbook.charts import ChartKind, ChartSpec

    with pytest.raises(ValueError, match="chart kind 'bra' is not one of"):
        ChartSpec("bra", "t", "x", ("y",))
    from typing import get_args

    kinds = {spec.kind for specs in CHARTS.values() for spec in specs}
    assert kinds <= set(get_args(ChartKind)) and len(kinds) >= 4


def test_every_chart_plots_columns_its_block_has(demo_book, tmp_path):
    from xlvalue.cli.headless_run import run_workbook

    res = run_workbook(demo_book, tmp_path / "o.xlsx").results
    assert res.charts
    for block, specs in res.charts.items():
        cols = set(res.frames[block].columns)
        for spec in specs:
            assert {spec.x, *spec.y, *spec.y2} <= cols, (block, spec)


CALC_CHAIN = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<c r="C2" i="1" l="1"/><c r="C3"/><c r="A1" i="2"/><c r="A2"/>'
              b'<c r="D2" i="1"/></calcChain>')


def _with_calc_chain(path):
    """A workbook whose calcChain lists the user's formulas (sheet 1) and those of an old
    xlvalue output sheet (sheet 2), as Excel saves it."""
    from openpyxl import Workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = Workbook()
    ws = wb.active
    ws.title = "Transactions"
    ws.append(["CustomerID", "Date", "Amount", "Double"])
    for i, row in enumerate([["a", "2024-01-01", 10.0], ["b", "2024-01-03", 5.0]], start=2):
        ws.append(row + [f"=C{i}*2"])
    wb.defined_names["xv_Transactions"] = DefinedName("xv_Transactions",
                                                      attr_text="Transactions!$A$1:$C$3")
    old = wb.create_sheet("xv_RFM")
    old["A1"], old["A2"] = "=1+1", "=A1+1"
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/calcChain.xml"] = CALC_CHAIN
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdCalc" Type="http://schemas.openxmlformats.'
        b'org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
        b"</Relationships>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_the_users_calc_chain_entries_are_kept(tmp_path):
    import re

    from xlvalue.cli.headless_run import run_workbook

    book = _with_calc_chain(tmp_path / "calc.xlsx")
    out = run_workbook(book, tmp_path / "out.xlsx", only="rfm").output
    with zipfile.ZipFile(out) as z:
        chain = z.read("xl/calcChain.xml")
        ids = re.findall(rb'<sheet [^>]*name="([^"]+)"[^>]*sheetId="(\d+)"', z.read(
            "xl/workbook.xml"))
    entries = re.findall(rb'<c r="([A-Z]+\d+)"(?: i="(\d+)")?', chain)
    # every entry of the user's sheet 1 is kept, with its sheet; none of the replaced xv_RFM
    sheet = None
    kept = []
    for ref, i in entries:
        sheet = i or sheet
        kept.append((ref, sheet))
    assert [r for r, s in kept if s == b"1"] == [b"C2", b"C3", b"D2"]
    assert not [r for r, s in kept if s == b"2"]
    assert (b"Transactions", b"1") in [(n, i) for n, i in ids]
