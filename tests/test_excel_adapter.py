"""Macros and the xlwings adapter: the same numbers as the headless engine, cell for cell."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import xlwings.main

from xlvalue.analyses.registry import output_sheets
from xlvalue.cli.headless_run import run_workbook
from xlvalue.excel import macros, xlwings_book
from xlvalue.excel.ribbon import analysis_button_id

from . import xlwings_standin as standin
from .conftest import make_book


def _cells(ws) -> dict[tuple[int, int], object]:
    # an empty text cell ('') shows as blank, as a cell xlwings writes "" to (Excel empties it)
    return {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
            if c.value is not None and c.value != ""}


def _public(cls) -> dict[str, object]:
    members = {}
    for klass in reversed(cls.__mro__[:-1]):
        members.update({k: v for k, v in vars(klass).items()
                        if not k.startswith("_") or k in ("__getitem__", "__iter__", "__len__")})
    return members


def _params(func) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(func).parameters.values()]


def surface_mismatches(standin_cls, real_cls) -> list[str]:
    """Where a stand-in class differs from the real xlwings class: missing members, a property
    where xlwings has a method (or back), a setter xlwings lacks, a different signature."""
    problems = []
    for name, ours in _public(standin_cls).items():
        if not hasattr(real_cls, name):
            problems.append(f"{real_cls.__name__} has no {name}")
            continue
        real = inspect.getattr_static(real_cls, name)
        if isinstance(ours, property) != isinstance(real, property):
            problems.append(f"{real_cls.__name__}.{name}: property vs method differs")
        elif isinstance(ours, property):
            if ours.fset is not None and real.fset is None:
                problems.append(f"{real_cls.__name__}.{name} is read-only in xlwings")
        elif callable(ours) and _params(ours) != _params(real):
            problems.append(f"{real_cls.__name__}.{name}{inspect.signature(real)} != "
                            f"stand-in {inspect.signature(ours)}")
    return problems


def test_standin_has_the_surface_of_the_real_xlwings_classes():
    assert set(standin.STANDS_IN_FOR.values()) >= {"Book", "Sheet", "Sheets", "Range", "Names",
                                                   "Name", "Chart", "Charts", "App", "Table"}
    for cls, real_name in standin.STANDS_IN_FOR.items():
        assert surface_mismatches(cls, getattr(xlwings.main, real_name)) == [], real_name


def test_surface_check_can_fail():
    class Range:  # a stand-in that invents a method and gets a signature wrong
        def get_address(self, row_absolute=True):
            return ""

        def autofit_everything(self):
            pass

        @property
        def options(self):
            return None

    problems = surface_mismatches(Range, xlwings.main.Range)
    assert any("get_address" in p for p in problems)
    assert any("autofit_everything" in p for p in problems)
    assert any("options: property vs method" in p for p in problems)


def test_adapter_touches_only_what_the_standin_models():
    # every xlwings member the adapter and the macros use is modelled by the stand-in, so the
    # cell-for-cell test below goes through the same API calls as Excel would see
    xlwings_members = set()
    modelled = set()
    for cls, real_name in standin.STANDS_IN_FOR.items():
        xlwings_members |= {n for n in dir(getattr(xlwings.main, real_name)) if not n.startswith("_")}
        modelled |= set(_public(cls))
    used = set()
    for module in (xlwings_book, macros):
        used |= {node.attr for node in ast.walk(ast.parse(inspect.getsource(module)))
                 if isinstance(node, ast.Attribute)}
    # names the modules use on objects that are not xlwings': pandas (pd.api, frame.columns),
    # xlvalue's own RawRange.rows, ChartSpec.title and SheetOutput.active, and xw.Book.caller
    # (the Excel entry)
    used -= {"api", "columns", "rows", "title", "caller", "active"}
    assert {"set_source_data", "set_x_axis_values", "chart_type", "status_bar", "axis_group",
            "number_format", "get_address", "refers_to_range", "alert", "formula", "activate",
            "freeze_panes", "category_axis", "value_axis", "set"
            } <= used & modelled
    assert (used & xlwings_members) - modelled == set()
    assert not re.search(r"\.(api|impl)\b(?<!pd\.api)", inspect.getsource(xlwings_book).replace(
        "pd.api", "")), "the adapter must stay on the cross-platform API"


def test_standin_coerces_values_as_excel_does():
    book = standin.Book("b.xlsx")
    sheet = book.sheets.add("S")
    sheet.range((1, 1)).value = [["00004", "'00004", "1,234.5", "12%", "TRUE", "2024-03-01",
                                  "#N/A", "=1+1", "abc", 7, np.float64("nan"), dt.date(2024, 1, 2)]]
    got = sheet.range((1, 1), (1, 12)).options(ndim=2, err_to_str=True).value[0]
    assert got == [4.0, "00004", 1234.5, 0.12, True, dt.datetime(2024, 3, 1), "#N/A", None,
                   "abc", 7.0, None, dt.datetime(2024, 1, 2)]
    assert sheet.formulas == {(1, 8): "=1+1"}
    sheet.range((2, 1)).number_format = "@"
    sheet.range((2, 1)).value = "00004"
    assert sheet.range((2, 1)).value == "00004"
    chart = sheet.charts.add()
    with pytest.raises(ValueError, match="chart type"):
        chart.chart_type = "column"  # not an xlwings chart type name
    assert set(xlwings.main.CHART_TYPES) >= set(xlwings_book.CHART_TYPES.values())
    # and the Windows engine's own table (xlwings/_xlwindows.py imports pywin32: read by ast)
    source = (Path(xlwings.__file__).parent / "_xlwindows.py").read_text()
    table = next(n.value for n in ast.parse(source).body if isinstance(n, ast.Assign)
                 and getattr(n.targets[0], "id", "") == "chart_types_s2i")
    windows = ast.literal_eval(table)
    assert set(xlwings_book.CHART_TYPES.values()) | {"line"} <= set(windows)


def test_ribbon_run_equals_headless_cell_for_cell(demo_book, demo_output):
    wb = demo_output  # the session's headless run of the demo workbook
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
    _assert_charts_plot_exactly_their_columns(book)
    _assert_links_and_opening_tab_as_headless(book, wb)
    _assert_value_matrix_as_spec(book)
    _assert_laid_out_as_headless(book, wb)


def _assert_laid_out_as_headless(book, wb) -> None:
    """Column widths, row heights of wrapped texts, wrapping and right-aligned headers as the
    headless file has them (read back with openpyxl); indents are the one thing the classic
    engines cannot do (no Range.adjust_indent there)."""
    from openpyxl.utils import column_index_from_string

    widths = heights = wraps = rights = colour_scales = 0
    for name in output_sheets():
        if name not in wb.sheetnames:
            continue
        ws, sheet = wb[name], book.sheets[name]
        want = {column_index_from_string(k): d.width for k, d in ws.column_dimensions.items()
                if d.customWidth}
        for c in range(min(want), max(want) + 1):  # openpyxl groups equal neighbours
            d = ws.column_dimensions[ws.cell(1, c).column_letter]
            want[c] = want.get(c, d.width)
        got = sheet.column_widths
        assert set(got) == set(want), name
        assert all(got[c] == pytest.approx(w, abs=0.005) for c, w in want.items()), name
        tall = {r: d.height for r, d in ws.row_dimensions.items() if d.customHeight}
        assert {r: h for r, h in sheet.row_heights.items() if h != 15} == tall, name
        assert set(sheet.row_heights) == set(range(1, max(sheet.row_heights) + 1)), name
        cells = [c for row in ws.iter_rows() for c in row]
        assert {(c.row, c.column) for c in cells if c.alignment.wrap_text} == sheet.wrapped, name
        right = {(c.row, c.column) for c in cells if c.alignment.horizontal == "right"}
        assert {k for k, v in sheet.alignments.items() if v == "right"} == right, name
        for key, want_font in (("bold", {(c.row, c.column): True for c in cells if c.font.b}),
                               ("italic", {(c.row, c.column): True for c in cells if c.font.i}),
                               ("color", {(c.row, c.column): _rgb(c.font.color.rgb)
                                          for c in cells if c.font.color is not None
                                          and isinstance(c.font.color.rgb, str)})):
            got_font = {k: f[key] for k, f in sheet.fonts.items() if f.get(key)}
            assert got_font == want_font, (name, key)
        scales = [(str(cf.sqref), [_rgb(c.rgb) for c in rule.colorScale.color])
                  for cf in ws.conditional_formatting for rule in cf.rules if rule.colorScale]
        assert sheet.colour_scales == scales, name
        assert all([v.type for v in rule.colorScale.cfvo] == ["min", "percentile", "max"]
                   for cf in ws.conditional_formatting for rule in cf.rules), name
        colour_scales += len(scales)
        widths, heights = widths + len(got), heights + len(tall)
        wraps, rights = wraps + len(sheet.wrapped), rights + len(right)
    assert widths > 100 and rights > 50 and wraps > 0 and heights > 0 and colour_scales > 0, (
        widths, rights, wraps, heights, colour_scales)


def _assert_links_and_opening_tab_as_headless(book, wb) -> None:
    """Each hyperlink cell of the headless file is a HYPERLINK formula to the same place
    showing the same text (the values compared above are the shown texts); the workbook
    opens on the same tab."""
    links = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.hyperlink is not None:
                    links[(ws.title, c.row, c.column)] = (c.hyperlink.location, c.value)
    assert len(links) >= 10 and {k[0] for k in links} == {"xv_Summary"}
    formulas = {(sheet.name, *key): f for sheet in book.sheets for key, f in sheet.formulas.items()}
    assert set(formulas) == set(links)
    for key, (location, text) in links.items():
        location, text = location.replace('"', '""'), text.replace('"', '""')
        assert formulas[key] == f'=HYPERLINK("#{location}","{text}")', key
    assert book.activated.name == wb.active.title == "xv_Summary"


def _rgb(argb: str) -> tuple[int, int, int]:
    return int(argb[2:4], 16), int(argb[4:6], 16), int(argb[6:8], 16)


def _block_frame(book, name: str):
    import pandas as pd

    rows = next(n for n in book.names if n.name == name).refers_to_range.options(ndim=2).value
    return pd.DataFrame(rows[1:], columns=rows[0])


def _assert_value_matrix_as_spec(book) -> None:
    """The value matrix: the spec's axis bounds, circle markers, the thresholds in the axis
    titles and each class placed relative to them in the title (the doors cannot draw them)."""
    from xlvalue.analyses.clv import value_matrix_chart
    from xlvalue.workbook.charts import split_rows

    clv = _block_frame(book, "xv_out_CLV")
    spec = value_matrix_chart({"xv_out_CLV": clv,
                               "xv_out_ValueMatrix": _block_frame(book, "xv_out_ValueMatrix")})
    chart = next(c for c in book.sheets["xv_CLV"].charts if c.name.endswith(spec.title))
    assert chart.chart_type == "xy_scatter"
    x_axis, y_axis = chart.category_axis, chart.value_axis
    assert (x_axis.minimum_scale, x_axis.maximum_scale) == (spec.x_min, spec.x_max)
    assert (y_axis.minimum_scale, y_axis.maximum_scale) == (spec.y_min, spec.y_max)
    # one series of the block's y column, or (split by class) one per class, each of its
    # chart data column: the class's y values on its rows, empty elsewhere; x the block's x
    split = split_rows(spec, clv) or [(spec.y[0], np.arange(len(clv)))]
    assert [s.marker_style for s in chart.series] == ["circle"] * len(split)
    assert [s.name for s in chart.series] == [name for name, _ in split]
    sheet = book.sheets["xv_CLV"]
    block = next(n for n in book.names if n.name == "xv_out_CLV").refers_to_range
    x_col = block.column + list(clv.columns).index(spec.x)
    y = clv[spec.y[0]].to_numpy(dtype=float)
    for s, (_name, rows) in zip(chart.series, split, strict=True):
        assert s.x_values == sheet.range((block.row + 1, x_col), (block.last_cell.row, x_col))
        want = np.full(len(clv), np.nan)
        want[rows] = y[rows]
        got = np.array(s.values.options(ndim=2).value, dtype=float).ravel()
        np.testing.assert_array_equal(got, want)
    assert x_axis.title == f"clv, threshold {spec.cross_x:,.2f}"  # CDNOW: a CLV of a few dollars
    assert y_axis.title == f"potential_value, threshold {spec.cross_y:,.2f}"
    assert set(clv["value_class"]) == {"MVC", "MGC", "Migrator", "BZ"}
    assert chart.title == (f"{spec.title}: MVC right, MGC top left, Migrator bottom left, "
                           "BZ left of 0")
    other = next(c for c in book.sheets["xv_Ranking"].charts if "Whale curve" in c.name)
    assert other.title == "Whale curve"  # % of customers: the axis ends at 100
    assert (other.category_axis.minimum_scale, other.category_axis.maximum_scale) == (0.0, 100.0)


def test_links_opening_tab_and_frozen_rows_on_the_classic_engine():
    """Links escape quotes and leave cells without a place (or too long for a formula) as text;
    the active output is activated; the classic engines cannot freeze panes: listed, not faked."""
    import pandas as pd

    from xlvalue.workbook.sheetxml import Block
    from xlvalue.workbook.writer import SheetOutput

    texts = ['say "hi"', "no place", "x" * 300, "plain"]
    contents = Block("xv_out_Contents", "S", pd.DataFrame({"go_to": texts, "n": [1, 2, 3, 4],
                                                          "what": list("abcd")}),
                     title="contents", links={"go_to": ["'L'!A1", None, "'L'!A2", "'L'!B2"]})
    long_ = Block("xv_out_Long", "L", pd.DataFrame({"v": range(40)}), title="long")
    book = standin.Book("b.xlsx")
    book.sheets.add("Data")
    xb = xlwings_book.XlwingsWorkbook(book)
    xb.write_sheets([SheetOutput("S", [contents], active=True), SheetOutput("L", [long_])])
    s = book.sheets["S"]
    assert s.formulas == {(3, 1): '=HYPERLINK("#\'L\'!A1","say ""hi""")',
                          (6, 1): '=HYPERLINK("#\'L\'!B2","plain")'}
    assert [s.cells[(r, 1)] for r in range(3, 7)] == texts  # what a user sees
    assert book.activated is s
    assert xb.unfrozen_sheets == ["L"]
    long_text = "a long text " * 20  # wraps (more than the widest column) beside a number
    wrapping = Block("xv_out_Wrap", "W", pd.DataFrame({"text": [long_text] * 35, "n": range(35)}))
    xb.write_sheets([SheetOutput("W", [wrapping])])
    tall = {r for r, h in book.sheets["W"].row_heights.items() if h > 15}
    assert tall == set(range(3, 38))  # every data row of the long block
    xb.write_sheets([SheetOutput("W", [Block("xv_out_Wrap", "W", pd.DataFrame({"v": [1]}))])])
    assert {r for r, h in book.sheets["W"].row_heights.items() if h > 15} == set()  # rerun
    # one wording of what this engine could not do, for every door ("what" follows a number
    # column and is not indented here either: cosmetic, the column keeps its width, unreported)
    assert xb.warnings() == [f"header rows not frozen (this Excel's xlwings engine cannot): {s}"
                             for s in ("L", "W")]
    assert s.alignments == {(2, 2): "right"}  # the header of n, over its numbers
    with pytest.raises(NotImplementedError):  # as xlwings 0.37.8 on Windows and macOS
        book.sheets["L"].freeze_panes  # noqa: B018


def _assert_charts_plot_exactly_their_columns(book) -> None:
    """Every chart's series are the spec's y (then y2) columns, named by their headers, with
    the x column's data as x values; y2 series are lines on the secondary axis."""
    from xlvalue.analyses.registry import fixed_charts
    from xlvalue.pipeline import MAX_BARS

    CHARTS = fixed_charts()

    checked = secondary = 0
    for name in book.names:
        specs = CHARTS.get(name.name, [])
        if not specs:
            continue
        block = name.refers_to_range
        sheet = block.sheet
        header = {sheet.cells.get((block.row, c)): c
                  for c in range(block.column, block.last_cell.column + 1)}
        charts = {c.name: c for c in sheet.charts}
        for spec in specs:
            if name.name == "xv_out_CLV" and spec.kind == "scatter":
                continue  # the value matrix (split by class or not): _assert_value_matrix_as_spec
            if spec.kind in ("bar", "bar+line") and block.last_cell.row - block.row > MAX_BARS:
                # a bar per customer is unreadable: no chart, the block says it all
                assert f"xlvalue {name.name} {spec.title}" not in charts
                continue
            chart = charts[f"xlvalue {name.name} {spec.title}"]
            series = list(chart.series)
            assert [s.name for s in series] == [*spec.y, *spec.y2], spec.title
            for s, col in zip(series, [*spec.y, *spec.y2], strict=True):
                assert s.values == sheet.range((block.row + 1, header[col]),
                                               (block.last_cell.row, header[col]))
                assert s.x_values == sheet.range((block.row + 1, header[spec.x]),
                                                 (block.last_cell.row, header[spec.x]))
            assert [s.axis_group for s in series[len(spec.y):]] == ["secondary"] * len(spec.y2)
            if spec.y2:
                assert chart.secondary_value_axis.title == spec.y2[0]
                secondary += 1
            assert all(s.chart_type == "line" for s in series[len(spec.y):])
            checked += 1
    assert checked >= 8 and secondary >= 1


def test_ribbon_reports_user_errors_in_an_alert(tmp_path):
    import datetime as dt

    path = make_book(tmp_path / "bad.xlsx", [["1", dt.date(2024, 1, 1), "abc"]])
    book = standin.load(path)
    assert macros.ribbon(analysis_button_id("rfm"), book) is False
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
    assert macros.ribbon(analysis_button_id("rfm"), book) is True
    rfm = book.sheets["xv_RFM"]
    assert rfm.formulas == {}  # written as text, never as a formula
    assert '=HYPERLINK("http://x","y")' in rfm.cells.values()
    assert macros.ribbon("xvClear", book) > 0
    assert not any(n.name.startswith("xv_out") for n in book.names)
    with pytest.raises(ValueError, match="unknown ribbon control"):
        macros.ribbon("nope", book)


def test_headless_xlsm_run_keeps_every_sheets_code_name(tmp_path):
    # an .xlsm's VBA document modules are bound to sheets by codeName: a rerun that replaces
    # the xv_ sheets must keep theirs (and never touch the others')
    import datetime as dt
    import re
    import zipfile

    first = run_workbook(make_book(tmp_path / "b.xlsx", [["1", dt.date(2024, 1, 1), 5.0],
                                                         ["2", dt.date(2024, 2, 1), 7.0]]),
                         tmp_path / "first.xlsx").output
    with zipfile.ZipFile(first) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheets = sorted(n for n in parts if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    code_names = {}
    for i, name in enumerate(sheets, start=1):
        xml = parts[name].decode()
        code_names[name] = f"Blatt{i}"
        if "<sheetPr" in xml:
            xml = xml.replace("<sheetPr", f'<sheetPr codeName="Blatt{i}"', 1)
        else:
            xml = re.sub(r"(<worksheet[^>]*>)", rf'\1<sheetPr codeName="Blatt{i}"/>', xml, count=1)
        parts[name] = xml.encode()
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 opaque"
    xlsm = tmp_path / "coded.xlsm"
    with zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    second = run_workbook(xlsm, tmp_path / "second.xlsm").output

    def by_sheet_name(path):
        with zipfile.ZipFile(path) as zf:
            wb = zf.read("xl/workbook.xml").decode()
            rels = zf.read("xl/_rels/workbook.xml.rels").decode()
            out = {}
            for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', wb):
                target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"',
                                   rels)
                part = "xl/" + (target.group(1) or target.group(2)).lstrip("/").removeprefix("xl/")
                found = re.search(r'<sheetPr[^>]*codeName="([^"]+)"', zf.read(part).decode())
                out[name] = found.group(1) if found else None
            return out

    before, after = by_sheet_name(xlsm), by_sheet_name(second)
    assert any(n.startswith("xv_") for n in before) and all(before.values())
    assert after == before


def test_hyperlink_formulas_show_their_text_in_a_real_spreadsheet(tmp_path):
    """The formulas the doors write, evaluated by LibreOffice (not by the stand-in): each shows
    the text the headless file shows, quotes, apostrophes and non-ASCII text included."""
    import csv
    import shutil
    import subprocess

    import openpyxl

    texts = ['say "hi"', "O'Brien & Co!B7", "Zürich €", "=1+1", "xv_RFM!A1"]
    places = ["'xv_RFM'!A1", "'O''Brien'!B7", "'L'!C3", "'L'!A1", "xv_RFM!A1"]
    formulas = [xlwings_book.hyperlink_formula(p, t) for p, t in zip(places, texts, strict=True)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for name in ("xv_RFM", "O'Brien", "L"):
        wb.create_sheet(name)
    for i, f in enumerate(formulas, start=1):
        ws.cell(i, 1).value = f
    wb.save(tmp_path / "links.xlsx")
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed: apt-get install libreoffice-calc"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation={(tmp_path / 'p').as_uri()}",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",  # 76: UTF-8
                    "--outdir", str(tmp_path), str(tmp_path / "links.xlsx")],
                   check=True, capture_output=True, timeout=180)
    with open(tmp_path / "links.csv", encoding="utf-8", newline="") as fh:
        shown = [row[0] for row in csv.reader(fh)]
    assert shown == texts
