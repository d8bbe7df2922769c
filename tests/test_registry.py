"""The registry of analyses: one declaration per analysis, from which the pipeline, --only, the
ribbon, the Lite scripts and the contract reference are made; and the refactor onto it changed
no number of the demo's output."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from tests.golden import compare, snapshot
from xlvalue.analyses import registry
from xlvalue.analyses.rfm import RFMResult
from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames
from xlvalue.cli.main import main
from xlvalue.cli.reference_docs import contract_markdown
from xlvalue.excel.ribbon import CUSTOMUI_NS, analysis_button_id, custom_ui_xml, run_buttons
from xlvalue.lite.scripts import analysis_scripts
from xlvalue.pipeline import parse_only, run_book
from xlvalue.workbook.charts import ChartSpec

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_output_is_the_one_before_the_registry(demo_run):
    """Every xv_out_* block's values, the defined names and the charts of the demo's output
    equal the fingerprint taken before the registry refactor (tests/data/golden_demo.json;
    at the refactor every block's exact hash was equal; numbers are now compared to 1e-4 of
    their column, so that a better optimiser's 7th digit is not a failure, and text exactly)."""
    want = json.loads((ROOT / "tests" / "data" / "golden_demo.json").read_text())
    assert compare(want, snapshot(demo_run[1])) == []


def test_the_fingerprint_sees_a_changed_number():
    """The golden comparison is not blind: a column sum moved by more than its tolerance, a
    changed text and a missing block are each reported; interval bounds get their own
    tolerance. (The snapshot sums every numeric cell, so one changed cell moves a sum.)"""
    import copy

    want = json.loads((ROOT / "tests" / "data" / "golden_demo.json").read_text())
    got = copy.deepcopy(want)
    assert compare(want, got) == []
    got["blocks"]["xv_out_Deciles"][2]["spend"][1] *= 1 + 1e-3
    got["blocks"]["xv_out_CLV"][2]["clv_high"][1] *= 1 + 1e-3  # within the bounds' 5e-2
    got["blocks"]["xv_out_RFM"][2]["segment"] = ["changed"]
    del got["blocks"]["xv_out_Tiers"]
    diffs = compare(want, got)
    assert [d.split(":")[0] for d in diffs] == ["xv_out_Deciles.spend", "xv_out_RFM.segment",
                                                "xv_out_Tiers"], diffs


def _top_spenders(ctx: Context) -> Frames:
    rfm: RFMResult = ctx.shared["rfm"]
    top = rfm.table.nlargest(5, "total_spend")[["customer_id", "total_spend"]]
    return {"xv_out_Toy": top.reset_index(drop=True)}


TOY = Analysis(
    name="toy", title="the five biggest spenders", doc="the five biggest spenders (a test)",
    sheet="xv_Toy", reads=("xv_Transactions",), depends_on=("rfm",), run=_top_spenders,
    button=Button("Toy", "HappyFace", "The five biggest spenders"),
    headline=lambda frames: [("toy top spender", str(frames["xv_out_Toy"].iloc[0, 0]), "text")],
    blocks=(BlockSpec("xv_out_Toy", "The five biggest spenders.",
                      charts=(ChartSpec("bar", "Toy: top spenders", "customer_id",
                                        ("total_spend",)),)),),
)


@pytest.fixture
def toy():
    registry.register(TOY)
    try:
        yield TOY
    finally:
        registry.unregister(TOY.name)


def test_a_registered_analysis_reaches_every_door(toy, demo_book, tmp_path, capsys):
    """An analysis declared in a test module, registered, with no other source file changed:
    --only takes it and its help lists it, the ribbon has its button, Lite its script, the
    contract reference its blocks and row, and a headless run writes its block and chart."""
    assert parse_only("toy") == {"toy"}
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "sbg, toy" in " ".join(capsys.readouterr().out.split())
    root = etree.fromstring(custom_ui_xml())
    ids = {b.get("id"): b.get("label") for b in root.iter(f"{{{CUSTOMUI_NS}}}button")}
    assert ids[analysis_button_id("toy")] == "Toy"
    assert run_buttons()[analysis_button_id("toy")] == "toy"
    scripts = analysis_scripts()
    assert "xv_toy" in scripts and scripts["xv_toy"].__doc__ == "The five biggest spenders"
    doc = contract_markdown()
    assert "| xv_out_Toy | xv_Toy | toy | The five biggest spenders. |" in doc
    assert "| toy | the five biggest spenders (a test) | xv_Transactions |" in doc
    out = tmp_path / "toy.xlsx"
    assert main(["run", str(demo_book), "--only", "toy", "-o", str(out), "-q"]) == 0
    wb_names = _names(out)
    assert wb_names == {"xv_out_Toy", "xv_out_Summary", "xv_out_Warnings", "xv_out_Contents",
                        "xv_out_RunLog"}
    with zipfile.ZipFile(out) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/xlvalue_xv_toy")]
        assert len(charts) == 1 and b"Toy: top spenders" in zf.read(charts[0])


def _names(path: Path) -> set[str]:
    import openpyxl

    return {n for n in openpyxl.load_workbook(path, read_only=True).defined_names
            if n.startswith("xv_out_")}


def test_a_registered_analysis_runs_through_run_book_with_its_headline(toy, demo_book):
    """run_book (the ribbon's and Lite's flow) runs it on any source and sink; the headline
    takes its line."""
    from xlvalue.workbook.reader import WorkbookReader

    written = []

    class Sink:
        def write_sheets(self, sheets):
            written.extend(sheets)

        def warnings(self):
            return []

    reader = WorkbookReader.open(demo_book)
    try:
        done = run_book(reader, Sink(), "toy")
    finally:
        reader.close()
    assert list(done.results.frames) == ["xv_out_Toy"]
    assert len(done.results.frames["xv_out_Toy"]) == 5
    summary = next(s for s in written if s.name == "xv_Summary").blocks[0].frame
    assert summary.set_index("item").loc["toy top spender", "value"] == str(
        done.results.frames["xv_out_Toy"].iloc[0, 0])


def test_register_refuses_what_would_break_the_output(toy):
    clash = Analysis(name="toy2", title="t", sheet="xv_Toy", reads=("xv_Transactions",),
                     run=_top_spenders, blocks=(BlockSpec("xv_out_Toy", "again"),))
    with pytest.raises(ValueError, match="belong to another analysis"):
        registry.register(clash)
    with pytest.raises(ValueError, match="registered already"):
        registry.register(TOY)
    unknown = Analysis(name="toy3", title="t", sheet="xv_Toy3", reads=("xv_Nothing",),
                       run=_top_spenders, blocks=(BlockSpec("xv_out_Toy3", "x"),))
    with pytest.raises(ValueError, match="does not declare"):
        registry.register(unknown)
    with pytest.raises(ValueError, match="built in"):
        registry.unregister("rfm")


def test_every_analysis_has_a_button_and_a_script():
    """Elasticity, BG/BB and sBG included: each analysis runs from a ribbon button and a Lite
    script of its own, or one that says it runs it too (RFM's runs ranking)."""
    scripts = analysis_scripts()
    buttons = run_buttons()
    for a in registry.all_analyses():
        owner = a if a.button else next(b for b in registry.all_analyses() if a.name in b.also_runs)
        assert f"xv_{owner.name}" in scripts
        assert a.name in buttons[analysis_button_id(owner.name)].split(",")
        if owner is not a:
            assert a.name in owner.button.tip.lower()


def test_run_order_follows_dependencies():
    names = registry.analysis_names()
    for a in registry.all_analyses():
        assert all(names.index(d) < names.index(a.name) for d in a.depends_on)
    assert pd.Index([b.name for b in registry.output_blocks()]).is_unique


def test_number_formats_come_from_the_declarations(demo_output):
    """Headline figures are numbers with their format (not text like "2,357"); probabilities
    are shown as percentages, 0..100 percentages with a % sign, and RFM bin edges of counts
    without decimals while those of money keep them."""
    def cells(name):
        sheet, ref = next(iter(demo_output.defined_names[name].destinations))
        rows = demo_output[sheet][ref.replace("$", "")]
        header = [c.value for c in rows[0]]
        return [dict(zip(header, r, strict=True)) for r in rows[1:]]

    summary = {r["item"].value: r["value"] for r in cells("xv_out_Summary")}
    assert summary["customers"].value == 2357 and summary["customers"].number_format == "#,##0"
    assert isinstance(summary["total spend"].value, float)
    assert summary["total spend"].number_format == "#,##0.00"
    assert summary["mean P(alive)"].number_format == "0.0%"
    assert 0 < summary["mean P(alive)"].value < 1
    clv = cells("xv_out_CLV")[0]
    assert clv["p_alive"].number_format == "0.0%"
    assert cells("xv_out_Whale")[5]["pct_profit"].number_format == '0.0"%"'
    bins = cells("xv_out_RFMBins")
    formats = {(r["variable"].value, r["max_value"].number_format) for r in bins
               if r["max_value"].value is not None}  # an empty bin has no edges
    assert formats == {("recency_days", "#,##0"), ("frequency", "#,##0"),
                       ("monetary", "#,##0.00")}
