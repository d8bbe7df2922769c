"""xlvalue.lite registered and called by xlwings' own Lite/Server code (not a stand-in).

xlwings Lite imports xlwings with XLWINGS_ON_SERVER set, so `from xlwings import func, arg,
script` are xlwings.server's decorators; xlwings.server's custom_functions_meta and
custom_scripts_meta turn a module's members into the custom-function and script metadata Excel
receives. The probe runs in a child interpreter with that environment
(tests/lite_xlwings_probe.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import xlvalue.excel.udfs  # noqa: F401  (fills REGISTRY)
from xlvalue.excel.convert import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def probe() -> dict:
    # xlwings.server asks for a licence key; "noncommercial" is xlwings' own key for
    # noncommercial use (here: this test). xlwings Lite itself is free and needs none.
    env = dict(os.environ, XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial")
    out = subprocess.run([sys.executable, "-m", "tests.lite_xlwings_probe"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_the_decorators_are_xlwings_lite_ones(probe):
    assert probe["func_type"] == "xlwings.pro.udfs_officejs.xlfunc"


def test_every_xv_function_is_registered_with_its_help_and_arguments(probe):
    functions = {f["name"]: f for f in probe["functions"]}
    assert set(functions) == set(REGISTRY) and len(functions) >= 19
    for name, spec in REGISTRY.items():
        meta = functions[name]
        assert meta["description"] == spec.doc
        assert meta["result"] == {"dimensionality": "matrix", "type": "any"}  # spills
        docs = dict(spec.args)
        for p in meta["parameters"]:
            assert p["description"] == docs[p["name"]], (name, p["name"])
    clv = [p for p in functions["XV_CLV"]["parameters"]]
    assert [p["name"] for p in clv][:6] == ["params", "gg_params", "frequency", "recency", "age",
                                            "monetary"]
    import inspect

    import xlvalue.excel.udfs as classic

    for name in REGISTRY:  # optional in Excel exactly where the classic function has a default
        params = inspect.signature(getattr(classic, name)).parameters.values()
        assert [bool(p.get("optional")) for p in functions[name]["parameters"]] == [
            p.default is not inspect.Parameter.empty for p in params], name
        assert [p["name"] for p in functions[name]["parameters"]] == [p.name for p in params]
    assert not any(p.get("optional") for p in clv[:6]) and clv[-1].get("optional")


def test_every_ribbon_action_is_a_registered_script(probe):
    names = {m["function_name"]: m["name"] for m in probe["scripts_meta"]}
    assert set(names) == {"xv_run_all", "xv_check_inputs", "xv_rfm", "xv_clv", "xv_scores",
                          "xv_costing", "xv_clear_outputs", "xv_demo"}
    assert names["xv_run_all"] == "xlvalue: Run all"


def test_functions_called_the_lite_way_give_the_classic_results(probe):
    assert set(probe["called"]) == set(REGISTRY)
    for name, r in probe["called"].items():
        assert r["equal"], name
        assert not str(r["header"][0]).startswith("#XV!"), (name, r["header"])
    assert probe["called"]["XV_RFM"]["rows"] == 2358  # 2,357 CDNOW customers and a header


def test_scripts_run_through_xlwings_script_machinery(probe):
    assert probe["scripts_ran"] == {"xv_run_all": True, "xv_check_inputs": True}
    assert len(probe["blocks"]) >= 20


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    """The headless run of the demo workbook, opened with openpyxl."""
    import openpyxl

    from xlvalue.cli.headless_run import run_workbook

    out = run_workbook(ROOT / "templates" / "xlvalue_demo.xlsx",
                       tmp_path_factory.mktemp("lite_xw") / "h.xlsx").output
    return openpyxl.load_workbook(out)


def _iso(v):
    import datetime as dt

    if isinstance(v, dt.datetime | dt.date):
        return v.strftime("%Y-%m-%d")
    return None if v == "" else v


def test_run_all_on_xlwings_office_js_engine_writes_the_headless_blocks(probe, headless):
    """Run all on a real xlwings Book of the remote (Office.js) engine, the Book API of Lite:
    the setValues/namesAdd actions, replayed as the client would, give the headless blocks."""
    wb = headless
    expected_names = {n for n in wb.defined_names if n.startswith("xv_out_")}
    assert set(probe["remote_blocks"]) == expected_names and len(expected_names) >= 20
    _compare(wb, probe["remote_blocks"], expected_names)
    actions = probe["remote_actions"]
    # charts whose columns are adjacent are drawn (the others are reported, as on macOS)
    assert actions["addChart"] >= 8 and actions["namesAdd"] == len(expected_names)


def test_demo_script_on_office_js_engine_fills_a_new_book_and_writes_the_headless_blocks(
        probe, headless):
    """The Demo script on an empty Book of the Office.js engine: it writes the demo inputs and,
    since written cells reach Excel only after a script, runs on them from memory; the blocks
    equal the headless run of the demo workbook."""
    wb = headless
    expected_names = {n for n in wb.defined_names if n.startswith("xv_out_")}
    assert set(probe["demo_blocks"]) == expected_names
    _compare(wb, probe["demo_blocks"], expected_names - {"xv_out_RunLog"})
    assert probe["demo_inputs"]["xv_Transactions"] == 6920  # header and 6,919 purchases
    assert probe["demo_actions"]["addSheet"] >= 10


def _compare(wb, blocks: dict, names: set[str]) -> None:
    from openpyxl.utils import range_boundaries

    for name in names:
        sheet, ref = wb.defined_names[name].attr_text.rsplit("!", 1)
        c0, r0, c1, r1 = range_boundaries(ref.replace("$", ""))
        ws = wb[sheet.strip("'")]
        want = [[_iso(ws.cell(r, c).value) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
        got = blocks[name]
        if name == "xv_out_RunLog":  # start times differ
            want = [r for r in want if r[1] != "started (UTC)"]
            got = [r for r in got if r[1] != "started (UTC)"]
        assert len(got) == len(want), name
        for i, (rg, rw) in enumerate(zip(got, want, strict=True)):
            for j, (g, w) in enumerate(zip(rg, rw, strict=True)):
                if isinstance(w, float) or isinstance(g, float):
                    assert g == pytest.approx(w, rel=1e-12, abs=1e-12), (name, i, j)
                else:
                    assert g == w, (name, i, j)


def _frame(wb, name: str):
    """A block of the headless file as a frame (header row + data rows)."""
    import pandas as pd
    from openpyxl.utils import range_boundaries

    sheet, ref = wb.defined_names[name].attr_text.rsplit("!", 1)
    c0, r0, c1, r1 = range_boundaries(ref.replace("$", ""))
    ws = wb[sheet.strip("'")]
    rows = [[ws.cell(r, c).value for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_run_all_on_office_js_engine_links_opens_freezes_and_bounds_as_the_headless_file(
        probe, headless):
    """What Run all asks Office.js for beyond the cells, read from the actions of xlwings' own
    remote engine: the headless file's hyperlink cells as HYPERLINK formulas (setFormula), its
    opening tab (activateSheet), its frozen header rows (freezePaneAtRange "1:2"; sheets
    without long blocks are unfrozen), and the value matrix's bounds and titles (setChartAxis,
    setChartTitle). The client functions these actions call are listed in tests/lite_remote.py
    (xlwings Server's Office.js client, which Lite runs)."""
    wb, view = headless, probe["remote_view"]
    links = {(ws.title, c.row, c.column): (c.hyperlink.location, c.value)
             for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if c.hyperlink is not None}
    formulas = {(sheet, *map(int, key.split(","))): f
                for sheet, cells in view["formulas"].items() for key, f in cells.items()}
    assert len(links) >= 10 and set(formulas) == set(links)
    for key, (location, text) in links.items():
        assert formulas[key] == f'=HYPERLINK("#{location}","{text}")', key
    assert view["active"] == wb.active.title == "xv_Summary"
    frozen = {ws.title: ws.freeze_panes for ws in wb.worksheets  # output sheets (inputs: A2)
              if ws.title.startswith("xv_") and ws.freeze_panes}
    assert set(frozen.values()) == {"A3"} and "xv_RFM" in frozen
    assert view["frozen"] == {name: "1:2" for name in frozen}
    assert probe["remote_actions"]["freezePaneUnfreeze"] >= 1  # the short sheets

    from xlvalue.pipeline import value_matrix_chart

    spec = value_matrix_chart(_frame(wb, "xv_out_CLV"), _frame(wb, "xv_out_ValueMatrix"))
    chart = next(c for c in view["charts"]["xv_CLV"] if c["name"].endswith(spec.title))
    assert chart["type"] == "XYScatter"  # Office.js' scatter with markers
    assert chart["axes"] == {
        "category": {"title": f"clv, threshold {spec.cross_x:,.2f}",
                     "minimum_scale": spec.x_min, "maximum_scale": spec.x_max},
        "value": {"title": f"potential_value, threshold {spec.cross_y:,.2f}",
                  "minimum_scale": spec.y_min, "maximum_scale": spec.y_max}}
    assert chart["title"].startswith(spec.title + ": MVC right, MGC top left")
    assert chart["series"] == {}  # series are not readable synchronously on this engine


def test_run_all_on_office_js_engine_lays_sheets_out_as_the_headless_file(probe, headless):
    """Column widths (Office.js measures them in points: the headless width's pixels, 7 per
    character + 5, at 0.75 point each), row heights of wrapped texts, wrapping, indents and
    right-aligned number headers, fonts (bold titles and headers, link-blue links, grey italic
    notes) and colour scales (min / median / max), from the actions (setColumnWidth,
    setRowHeight, setWrapText, rangeAdjustIndent, setHorizontalAlignment, setFontProperty,
    addConditionalFormat), against the headless file."""
    from openpyxl.utils import column_index_from_string

    wb, view = headless, probe["remote_view"]
    checked = set()
    for name in [n for n in wb.sheetnames if n.startswith("xv_")]:
        ws = wb[name]
        want = {column_index_from_string(k): d.width for k, d in ws.column_dimensions.items()
                if d.customWidth}
        for c in range(min(want), max(want) + 1):  # openpyxl groups equal neighbours
            want.setdefault(c, ws.column_dimensions[ws.cell(1, c).column_letter].width)
        got = {int(c): w for c, w in view["widths"][name].items()}
        assert set(got) == set(want), name
        for c, w in want.items():
            assert got[c] == pytest.approx((7 * w + 5) // 1 * 0.75), (name, c)
        tall = {r: d.height for r, d in ws.row_dimensions.items() if d.customHeight}
        assert {int(r): h for r, h in view["heights"].get(name, {}).items() if h != 15} == tall, name
        cells = [c for row in ws.iter_rows() for c in row]
        for kind, expected in (
                ("wrapped", {c.coordinate: True for c in cells if c.alignment.wrap_text}),
                ("indents", {c.coordinate: 1 for c in cells if c.alignment.indent}),
                ("alignments", {c.coordinate: "Right" for c in cells
                                if c.alignment.horizontal == "right"}),
                ("fonts", {c.coordinate: _font(c.font) for c in cells if _font(c.font)})):
            got_cells = {ws.cell(*map(int, k.split(","))).coordinate: v
                         for k, v in view[kind].get(name, {}).items()}
            assert got_cells == expected, (name, kind)
            if expected:
                checked.add(kind)
        office_js = {"min": "LowestValue", "percentile": "Percentile", "max": "HighestValue"}
        scales = [[str(cf.sqref), {
            "type": "ColorScale",
            "colors": ["#" + c.rgb[2:].lower() for c in rule.colorScale.color],
            "threshold_types": [office_js[v.type] for v in rule.colorScale.cfvo],
            "thresholds": [None if v.val is None else float(v.val) for v in rule.colorScale.cfvo]}]
            for cf in ws.conditional_formatting for rule in cf.rules]
        got_scales = [[ref, {k: entry[k] for k in ("type", "colors", "threshold_types",
                                                   "thresholds")}]
                      for ref, entry in view["colour_scales"].get(name, [])]
        assert got_scales == scales, name
        if scales:
            checked.add("colour scales")
    assert checked == {"wrapped", "indents", "alignments", "fonts", "colour scales"}


def _font(font) -> dict:
    """A headless cell's font as setFontProperty actions would give it (bold, italic, color)."""
    out = {k: True for k, on in (("bold", font.b), ("italic", font.i)) if on}
    if font.color is not None and isinstance(font.color.rgb, str):
        out["color"] = "#" + font.color.rgb[2:].lower()
    return out
