"""xlvalue.lite registered and called by xlwings' own Lite/Server code (not a stand-in).

xlwings Lite imports xlwings with XLWINGS_ON_SERVER set, so `from xlwings import func, arg,
script` are xlwings.server's decorators; xlwings.server's custom_functions_meta and
custom_scripts_meta turn a module's members into the custom-function and script metadata Excel
receives. The probe runs in a child interpreter with that environment
(tests/lite_xlwings_probe.py): with this environment's xlwings, and (slow) in a throw-away venv
holding the pure-Python xlwings wheel of the version the Lite steps name, as micropip installs
it, and of the version new Lite workbooks get.
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

from xlvalue.lite.scripts import analysis_scripts  # noqa: E402

SCRIPT_NAMES = set(analysis_scripts())  # one per analysis button (the registry's)
N_SCRIPTS = 4 + len(SCRIPT_NAMES)  # run all, check, clear, demo and those


# new Lite workbooks get this xlwings in requirements.txt (Lite changelog 1.0.0.0-24, Jan 2026:
# "New workbooks now default to xlwings 0.33.20"; the stored copy of lite.xlwings.org/changelog)
LITE_DEFAULT_XLWINGS = "0.33.20"
# xlwings.server asks for a licence key; "noncommercial" is xlwings' own key for noncommercial
# use (here: this test). xlwings Lite itself is free and needs none.
LITE_ENV = dict(os.environ, XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial")


def _run_probe(python: str) -> dict:
    out = subprocess.run([python, "-m", "tests.lite_xlwings_probe"], cwd=ROOT, env=LITE_ENV,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.fixture(scope="module")
def probe() -> dict:
    return _run_probe(sys.executable)


def venv_with_xlwings(version: str, folder: Path) -> str:
    """A throw-away venv whose own site-packages holds xlwings `version` from its pure-Python
    wheel (py3-none-any, the file micropip installs in Lite; no compiled extension) and that
    sees this environment's other packages (xlvalue's dependencies) after its own. Returns
    its python."""
    import sysconfig
    import venv

    wheels = folder / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "download", f"xlwings=={version}", "--no-deps", "--only-binary=:all:",
                    "--platform", "any", "--implementation", "py", "--python-version", "3.12",
                    "-q", "-d", str(wheels)], check=True, capture_output=True, timeout=600)
    wheel = next(wheels.glob(f"xlwings-{version}-py3-none-any.whl"))
    venv.EnvBuilder(with_pip=False).create(folder / "venv")
    python = str(folder / "venv" / "bin" / "python")
    own = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "-q", "--target", own, str(wheel)],
                   check=True, capture_output=True, timeout=600)
    parent = sysconfig.get_paths()["purelib"]
    Path(own, "xlvalue_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


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
    assert set(names) == {"xv_run_all", "xv_check_inputs", "xv_clear_outputs", "xv_demo",
                          *SCRIPT_NAMES}
    assert names["xv_elasticity"] == "xlvalue: Elasticity"
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

    from xlvalue.analyses.clv import value_matrix_chart

    spec = value_matrix_chart({name: _frame(wb, name)
                               for name in ("xv_out_CLV", "xv_out_ValueMatrix")})
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


def test_from_xlvalue_lite_import_star_in_main_py_registers_and_runs_the_same(probe):
    """The documented fallback: main.py holding `from xlvalue.lite import *` registers the same
    23 functions and every script (4 + one per analysis button), and calls and runs them."""
    fallback = probe["main_py"]
    assert fallback["functions"] == sorted(REGISTRY) and len(fallback["scripts"]) == N_SCRIPTS
    assert fallback["rfm_equal"] and fallback["check_ran"]


def _lite_steps() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme[readme.index("## Using xlvalue in xlwings Lite"):][:6000]


def test_the_lite_steps_name_the_xlwings_line_the_requirement_admits():
    """The steps say which line replaces Lite's default xlwings; under Pyodide's markers the
    requirement admits exactly that version and refuses Lite's default, and the plugin stops
    with that line under an older xlwings (checked in a venv below)."""
    import tomllib

    from packaging.requirements import Requirement

    from xlvalue.lite import LITE_XLWINGS

    line = f"xlwings=={LITE_XLWINGS}"
    assert f"`{line}`" in _lite_steps() and LITE_DEFAULT_XLWINGS in _lite_steps()
    assert f"`{line}`" in (ROOT / "docs" / "lite.md").read_text()
    pyodide = {"sys_platform": "emscripten", "platform_system": "Emscripten",
               "platform_machine": "wasm32", "python_version": "3.13", "extra": ""}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    xlwings = [r for r in map(Requirement, project["dependencies"])
               if r.name == "xlwings" and r.marker.evaluate(pyodide)]
    assert len(xlwings) == 1
    assert xlwings[0].specifier.contains(LITE_XLWINGS)
    assert not xlwings[0].specifier.contains(LITE_DEFAULT_XLWINGS)


@pytest.mark.slow
def test_the_lite_steps_xlwings_wheel_runs_the_probe_in_a_fresh_venv(tmp_path, headless):
    """xlwings of the README's requirements.txt line, installed from its pure-Python wheel
    into a throw-away venv: registration, the calls and Run all on the remote Book engine."""
    from xlvalue.lite import LITE_XLWINGS

    python = venv_with_xlwings(LITE_XLWINGS, tmp_path)
    r = _run_probe(python)
    assert r["xlwings"] == LITE_XLWINGS and r["xlwings_file"].startswith(str(tmp_path))
    assert r["func_type"] == "xlwings.pro.udfs_officejs.xlfunc"
    assert {f["name"] for f in r["functions"]} == set(REGISTRY)
    assert len(r["scripts_meta"]) == N_SCRIPTS and r["main_py"]["check_ran"]
    assert all(c["equal"] for c in r["called"].values()) and set(r["called"]) == set(REGISTRY)
    expected = {n for n in headless.defined_names if n.startswith("xv_out_")}
    assert set(r["remote_blocks"]) == expected
    _compare(headless, r["remote_blocks"], expected)


@pytest.mark.slow
def test_lite_default_xlwings_stops_the_plugin_with_the_line_to_use(tmp_path):
    """With the xlwings new Lite workbooks get, the import stops with the requirements.txt line
    (rather than scripts failing later): that version's script runner compares the raw
    annotation with xw.Book (the scripts' postponed `book: xw.Book` is the string "xw.Book"),
    and its Office.js engine has no charts."""
    from xlvalue.lite import LITE_XLWINGS

    python = venv_with_xlwings(LITE_DEFAULT_XLWINGS, tmp_path)
    code = """
import asyncio, json, types
import xlwings as xw
from xlwings.server import custom_scripts_call
out = {"version": xw.__version__}
try:
    import xlvalue.lite
except ImportError as exc:
    out["import"] = str(exc)
module = types.ModuleType("main")
exec("from __future__ import annotations\\nimport xlwings as xw\\nfrom xlwings import script\\n"
     "@script\\ndef s(book: xw.Book):\\n    pass\\n", module.__dict__)
book = xw.Book(json={"client": "Office.js", "version": xw.__version__, "names": [],
                     "book": {"name": "B.xlsx", "active_sheet_index": 0, "selection": "A1"},
                     "sheets": [{"name": "S", "values": [[""]], "pictures": [], "tables": []}]})
try:
    asyncio.run(custom_scripts_call(module, "s", typehint_to_value={xw.Book: book}))
except xw.XlwingsError as exc:
    out["postponed"] = str(exc)
try:
    book.sheets[0].charts
except NotImplementedError:
    out["charts"] = "NotImplementedError"
print("RESULT " + json.dumps(out))
"""
    run = subprocess.run([python, "-c", code], cwd=ROOT, env=LITE_ENV, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    r = json.loads(next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))[7:])
    assert r["version"] == LITE_DEFAULT_XLWINGS
    assert f"xlwings=={LITE_XLWINGS}" in r["import"] and LITE_DEFAULT_XLWINGS in r["import"]
    assert "only allow Book" in r["postponed"] and r["charts"] == "NotImplementedError"
