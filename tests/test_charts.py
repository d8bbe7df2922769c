"""A scatter split by a column (ChartSpec.series_by, the value matrix's classes): one series per
class, each its own colour, with a legend, in the headless file, in LibreOffice and through
the xlwings doors; the block itself (row order, values, name) is untouched."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
import zlib
from collections import Counter

import numpy as np
import openpyxl
import pandas as pd
import pytest
from lxml import etree

from xlvalue.workbook.charts import BLANK_SERIES, MAX_SERIES, ChartSpec, chart_title, split_rows
from xlvalue.workbook.layout import SheetOutput, plan_sheet
from xlvalue.workbook.palette import rgb, series_colour
from xlvalue.workbook.sheetxml import Block
from xlvalue.workbook.writer import write_outputs

from . import xlwings_standin as standin

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
ORDER = ("A", "B", "C")


def _frame(n: int = 45) -> pd.DataFrame:
    """Classes interleaved (B, A, C, B, ...), so no class is a run of rows; x apart by class."""
    rng = np.random.default_rng(1)
    cls = np.array(["B", "A", "C"])[np.arange(n) % 3]
    x = np.where(cls == "A", 1.0, np.where(cls == "B", 5.0, 9.0)) + rng.uniform(0, 2, n)
    return pd.DataFrame({"x": x, "y": rng.uniform(0, 10, n), "cls": cls})


def _sheet(frame: pd.DataFrame) -> SheetOutput:
    spec = ChartSpec("scatter", "split", "x", ("y",), series_by="cls", series_order=ORDER)
    return SheetOutput("S", [Block("xv_out_T", "S", frame, title="t", charts=[spec])],
                       active=True)


def _write(tmp_path, frame: pd.DataFrame):
    src = tmp_path / "src.xlsx"
    openpyxl.Workbook().save(src)
    write_outputs(src, tmp_path / "out.xlsx", [_sheet(frame)])
    return tmp_path / "out.xlsx"


def test_split_rows_order_blanks_and_too_many_values():
    spec = ChartSpec("scatter", "s", "x", ("y",), series_by="cls", series_order=("C", "Z", "A"))
    frame = pd.DataFrame({"x": [1.0] * 5, "y": [1.0] * 5, "cls": ["B", "A", None, "C", "B"]})
    split = split_rows(spec, frame)
    # the given order first (Z has no rows: no series), then first appearance, blanks last seen
    assert [(name, rows.tolist()) for name, rows in split] == [
        ("C", [3]), ("A", [1]), ("B", [0, 4]), (BLANK_SERIES, [2])]
    many = pd.DataFrame({"x": 0.0, "y": 0.0, "cls": [f"c{i}" for i in range(MAX_SERIES + 1)]})
    assert split_rows(spec, many) is None
    assert chart_title(spec, many) == f"s (one colour: more than {MAX_SERIES} values of cls)"
    assert chart_title(spec, frame) == "s"
    with pytest.raises(ValueError, match="series_by splits a scatter of one y column"):
        ChartSpec("bar", "b", "x", ("y",), series_by="cls")


def test_split_scatter_in_the_headless_file(tmp_path):
    """One series per class, in the given order and palette colours, each plotting the block's
    x column against its own column of chart data, which holds the class's y values on the
    class's rows only; the block keeps its rows and its name; a legend names the classes."""
    frame = _frame()
    out = _write(tmp_path, frame)
    wb = openpyxl.load_workbook(out)
    ws = wb["S"]
    assert list(wb.defined_names) == ["xv_out_T"]  # the chart data has no name
    (_, ref), = wb.defined_names["xv_out_T"].destinations
    rows = [[c.value for c in r] for r in ws[ref.replace("$", "")]]
    pd.testing.assert_frame_equal(pd.DataFrame(rows[1:], columns=rows[0]), frame)
    with zipfile.ZipFile(out) as zf:
        chart = etree.fromstring(zf.read(next(n for n in zf.namelist()
                                              if n.startswith("xl/charts/"))))
    series = chart.findall(f".//{C}scatterChart/{C}ser")
    assert len(series) == 3
    x_ref = {s.find(f"{C}xVal//{C}f").text for s in series}
    assert x_ref == {f"'S'!$A$3:$A${len(frame) + 2}"}  # the block's own x column
    for k, (s, name) in enumerate(zip(series, ORDER, strict=True)):
        head = s.find(f"{C}tx//{C}f").text  # the series is named by its column's header
        col, top = re.fullmatch(r"'?S'?!\$?([A-Z]+)\$?(\d+)", head).groups()
        assert ws[f"{col}{top}"].value == name
        last = int(top) + len(frame)
        assert s.find(f"{C}yVal//{C}f").text == f"'S'!${col}${int(top) + 1}:${col}${last}"
        fills = {e.get("val") for e in s.iter(f"{A}srgbClr")}
        assert fills == {series_colour(k)}
        got = [ws[f"{col}{int(top) + 1 + i}"].value for i in range(len(frame))]
        mine = (frame["cls"] == name).to_numpy()
        assert [v is None for v in got] == (~mine).tolist()  # other classes' rows: empty
        assert [v for v in got if v is not None] == frame["y"][mine].tolist()
    assert chart.find(f".//{C}legend") is not None
    assert chart.find(f".//{C}legend/{C}legendEntry") is None  # every class in the legend


def test_libreoffice_draws_each_class_in_its_colour(tmp_path):
    """Rendered by LibreOffice (a reader that draws no literal series values): every point
    and legend key of each class is filled with the class's colour."""
    frame = _frame()
    out = _write(tmp_path, frame)
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed: apt-get install libreoffice-calc"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation={(tmp_path / 'p').as_uri()}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=180)
    pdf = (tmp_path / "out.pdf").read_bytes()
    content = b""
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content += zlib.decompress(stream)
        except zlib.error:
            continue
    fills = Counter(tuple(round(float(v) * 255) for v in m.groups())
                    for m in re.finditer(rb"([\d.]+) ([\d.]+) ([\d.]+) rg", content))
    for k, name in enumerate(ORDER):
        points = int((frame["cls"] == name).sum())
        assert fills[rgb(series_colour(k))] >= points + 1, (name, fills)  # + its legend key


def test_split_scatter_through_xlwings(tmp_path):
    """The doors plot the same chart data (the cells are the headless file's), one series per
    class named by its header, the block's x as every series' x values, the class colours
    as marker colours and the legend at the bottom."""
    from xlvalue.excel.xlwings_book import XlwingsWorkbook

    frame = _frame()
    plan = plan_sheet(_sheet(frame))
    book = standin.Book("b.xlsx")
    book.sheets.add("Data")
    XlwingsWorkbook(book).write_sheets([plan])
    sheet = book.sheets["S"]
    ws = openpyxl.load_workbook(_write(tmp_path, frame))["S"]
    headless = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
                if c.value is not None}
    assert set(sheet.cells) == set(headless)
    assert all(sheet.cells[k] == pytest.approx(v) if isinstance(v, float) else
               sheet.cells[k] == v for k, v in headless.items())
    chart, = sheet.charts
    assert [s.name for s in chart.series] == list(ORDER)
    data = plan.block("xv_out_T").chart_data[0]
    n = len(frame)
    for k, s in enumerate(chart.series):
        assert (s.values.column, s.values.row, s.values.last_cell.row) == (
            data.first_col + 1 + k, data.header_row + 2, data.header_row + 1 + n)
        assert (s.x_values.column, s.x_values.row, s.x_values.last_cell.row) == (1, 3, n + 2)
        colour = rgb(series_colour(k))
        assert (s.marker_style, s.marker_foreground_color, s.marker_background_color) == (
            "circle", colour, colour)
    assert chart.legend.position == "bottom"
