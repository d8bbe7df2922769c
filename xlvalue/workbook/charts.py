"""Native Excel charts for output blocks: chart XML from openpyxl's chart model.

We only need openpyxl to serialise DrawingML charts; the drawing part that anchors them and
the package relationships are written by `writer.py`, so user parts are never re-serialised.
openpyxl is imported by chart_xml only: ChartSpec (what to plot) is shared with the doors that
draw charts through Excel itself (xlwings, xlwings Lite), which must not need openpyxl.

A scatter split by a column (ChartSpec.series_by: the value matrix, one series per value
class) keeps the block's row order: the layout puts its chart data beside the sheet's blocks,
one column per series holding the y values of that series' rows (other rows empty, which a
scatter skips), and each series plots the block's x column against its own column. Cell
references, not literal values in the chart part: LibreOffice and Google Sheets draw no
literal series, and the xlwings doors can only plot ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from xlvalue.workbook.ooxml import col_letter, quote_sheet
from xlvalue.workbook.palette import BRAND, THRESHOLD, series_colour

__all__ = ["BLANK_SERIES", "MAX_SERIES", "ChartKind", "ChartSpec", "SeriesColumns",
           "chart_title", "chart_xml", "drawing_xml", "split_rows"]

ChartKind = Literal["bar", "line", "bar+line", "scatter", "xyline"]


@dataclass(frozen=True)
class ChartSpec:
    """What to plot from a block: x column, y columns, an optional secondary-axis line."""

    kind: ChartKind
    title: str
    x: str
    y: tuple[str, ...]
    y2: tuple[str, ...] = field(default_factory=tuple)
    x_title: str = ""
    y_title: str = ""
    width_cols: int = 9  # size in default columns (64 px) and rows (20 px)
    height_rows: int = 16
    # a scatter's axes may cross at thresholds (quadrant lines): the vertical axis crosses
    # the horizontal one at x = cross_x, the horizontal axis crosses at y = cross_y; tick
    # labels then stay at the chart's edges
    cross_x: float | None = None
    cross_y: float | None = None
    # points labelled with the text of another column of their row: (data row, column)
    labels: tuple[tuple[int, str], ...] = ()
    y_min: float | None = None  # axis bounds when the data alone would hide the structure
    y_max: float | None = None
    x_min: float | None = None
    x_max: float | None = None
    y_format: str = "#,##0"  # tick labels of the value axis (and of a scatter's x axis)
    y2_format: str = "#,##0"  # tick labels of the secondary axis
    y2_min: float | None = None
    y2_max: float | None = None
    # a scatter whose points are split into series by the values of this column (one colour
    # each, palette.SERIES, and a legend): the series in series_order, then any other value
    # in order of first appearance (split_rows)
    series_by: str | None = None
    series_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """A misspelt kind would otherwise draw a line chart without a word; a split applies
        to one y column of a scatter."""
        if self.kind not in get_args(ChartKind):
            raise ValueError(f"chart kind {self.kind!r} is not one of "
                             f"{', '.join(get_args(ChartKind))}")
        if self.series_by is not None and (self.kind != "scatter" or len(self.y) != 1
                                           or self.y2):
            raise ValueError(f"chart {self.title!r}: series_by splits a scatter of one y "
                             f"column (this is a {self.kind} of {len(self.y) + len(self.y2)})")


MAX_SERIES = 12  # a column with more values splits no chart (drawn in one colour, title says)
BLANK_SERIES = "(blank)"  # the series of rows whose series_by cell is empty


def split_rows(spec: ChartSpec, frame: pd.DataFrame) -> list[tuple[str, np.ndarray]] | None:
    """The series of a chart split by a column: (name, the block's data rows of that series,
    in row order) each, in spec.series_order then in order of first appearance; rows with an
    empty cell form the series BLANK_SERIES. None when the chart is not split, the block has
    no rows, or the column holds more than MAX_SERIES values (one colour then, chart_title)."""
    if spec.series_by is None or not len(frame):
        return None
    keys = frame[spec.series_by]
    blank = (keys.isna() | (keys.astype(str) == "")).to_numpy(dtype=bool)
    names = np.where(blank, BLANK_SERIES, keys.astype(str).to_numpy(dtype=object))
    found = list(pd.unique(names))
    if len(found) > MAX_SERIES:
        return None
    order = [n for n in spec.series_order if n in found]
    order += [n for n in found if n not in order]
    return [(str(n), np.flatnonzero(names == n)) for n in order]


def chart_title(spec: ChartSpec, frame: pd.DataFrame) -> str:
    """The title a chart of the block `frame` shows: the spec's, noting when a scatter to be
    split by a column is drawn in one colour since the column holds too many values."""
    if spec.series_by is not None and len(frame) and split_rows(spec, frame) is None:
        return f"{spec.title} (one colour: more than {MAX_SERIES} values of {spec.series_by})"
    return spec.title


@dataclass(frozen=True)
class SeriesColumns:
    """Where a split scatter's series columns stand (the layout's chart data, 0-based): the
    header row (series names), the first column, and the series names in column order."""

    header_row: int
    first_col: int
    names: tuple[str, ...]


def _label_series(sheet: str, x_col: int, y_col: int, text_col: int, row: int):
    """One point (a block cell pair) without marker, labelled with its series name, which is
    read from a cell of the same row (a quadrant label that Excel and LibreOffice both show)."""
    from openpyxl.chart import Series
    from openpyxl.chart.data_source import StrRef
    from openpyxl.chart.label import DataLabelList
    from openpyxl.chart.marker import Marker
    from openpyxl.chart.series import SeriesLabel
    from openpyxl.chart.shapes import GraphicalProperties
    from openpyxl.drawing.line import LineProperties

    s = Series(_ref(sheet, y_col, row, row), _ref(sheet, x_col, row, row))
    letter = col_letter(text_col)
    s.tx = SeriesLabel(strRef=StrRef(f=f"{quote_sheet(sheet)}!${letter}${row + 1}"))
    s.marker = Marker(symbol="none")
    s.graphicalProperties = GraphicalProperties(ln=LineProperties(noFill=True))
    s.dLbls = DataLabelList(showSerName=True, showVal=False, showCatName=False,
                            showLegendKey=False, showPercent=False, dLblPos="ctr")
    return s


def _ref(sheet: str, col: int, r0: int, r1: int):
    from openpyxl.chart import Reference

    letter = col_letter(col)
    return Reference(range_string=f"{quote_sheet(sheet)}!${letter}${r0 + 1}:${letter}${r1 + 1}")


def chart_xml(spec: ChartSpec, sheet: str, header_row: int, first_col: int, columns: list[str],
              n_rows: int, split: SeriesColumns | None = None, title: str | None = None
              ) -> bytes:
    """Serialise a chart whose series point at a block (header at header_row, 0-based).

    A scatter split by a column plots one series per column of its chart data (`split`,
    placed by the layout): the block's x column against that column, one colour each, with a
    legend. `title` replaces the spec's (chart_title)."""
    from openpyxl.chart import BarChart, LineChart, ScatterChart, Series
    from openpyxl.chart.axis import ChartLines
    from openpyxl.chart.legend import LegendEntry
    from openpyxl.chart.marker import Marker
    from openpyxl.chart.shapes import GraphicalProperties
    from openpyxl.drawing.line import LineProperties
    from openpyxl.xml.functions import tostring

    data0, data1 = header_row + 1, header_row + n_rows

    def col(name: str) -> int:
        return first_col + columns.index(name)

    if spec.kind in ("scatter", "xyline"):
        chart = ScatterChart()
        chart.style = 13 if spec.kind == "scatter" else 2  # lines of several colours
        xs = _ref(sheet, col(spec.x), data0, data1)
        if split is not None:  # one series per column of the chart data, named by its header
            series = [(Series(_ref(sheet, split.first_col + k, split.header_row,
                                   split.header_row + n_rows), xs, title_from_data=True),
                       series_colour(k)) for k in range(len(split.names))]
        else:
            series = [(Series(_ref(sheet, col(y), data0, data1), xs, title=y), BRAND)
                      for y in spec.y]
        for s, colour in series:
            if spec.kind == "scatter":
                s.marker = Marker(symbol="circle", size=4)
                s.marker.graphicalProperties = GraphicalProperties(solidFill=colour)
                s.marker.graphicalProperties.line.solidFill = colour
                s.graphicalProperties.line.noFill = True
            else:
                s.marker.symbol = "none"
                s.smooth = False
            chart.series.append(s)
        for row, column in spec.labels:
            chart.series.append(_label_series(sheet, col(spec.x), col(spec.y[0]), col(column),
                                              data0 + row))
        chart.x_axis.number_format = "#,##0"
        chart.x_axis.majorGridlines = None
        if spec.cross_x is not None:
            chart.y_axis.crossesAt = spec.cross_x
            chart.y_axis.crosses = None
            chart.y_axis.tickLblPos = "low"
        if spec.cross_y is not None:
            chart.x_axis.crossesAt = spec.cross_y
            chart.x_axis.crosses = None
            chart.x_axis.tickLblPos = "low"
        for axis in (chart.x_axis, chart.y_axis):
            if spec.cross_x is not None or spec.cross_y is not None:
                axis.spPr = GraphicalProperties(ln=LineProperties(solidFill=THRESHOLD, w=22225,
                                                                  prstDash="dash"))
    else:
        chart = BarChart() if spec.kind in ("bar", "bar+line") else LineChart()
        if isinstance(chart, BarChart):
            chart.type = "col"
            chart.gapWidth = 60
        for y in spec.y:
            chart.add_data(_ref(sheet, col(y), header_row, data1), titles_from_data=True)
        chart.set_categories(_ref(sheet, col(spec.x), data0, data1))
        chart.x_axis.tickLblPos = "low"  # category labels below the plot, clear of negative bars
        if spec.y2:
            line = LineChart()
            for y in spec.y2:
                line.add_data(_ref(sheet, col(y), header_row, data1), titles_from_data=True)
            line.y_axis.axId = 200
            line.y_axis.title = spec.y2[0]
            line.y_axis.crosses = "max"
            line.y_axis.delete = False
            line.y_axis.number_format = spec.y2_format
            line.y_axis.majorGridlines = None
            for s in line.series:
                s.smooth = False  # a line through categories, not a spline
            for axis_bound, value in (("min", spec.y2_min), ("max", spec.y2_max)):
                if value is not None:
                    setattr(line.y_axis.scaling, axis_bound, value)
            chart += line
        if isinstance(chart, LineChart):
            for s in chart.series:
                s.smooth = False
    for axis, lo, hi in ((chart.x_axis, spec.x_min, spec.x_max),
                         (chart.y_axis, spec.y_min, spec.y_max)):
        if lo is not None:
            axis.scaling.min = lo
        if hi is not None:
            axis.scaling.max = hi
    chart.y_axis.number_format = spec.y_format
    chart.title = spec.title if title is None else title
    chart.x_axis.title = spec.x_title or spec.x
    chart.y_axis.title = spec.y_title or (spec.y[0] if spec.y else "")
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = ChartLines()
    chart.legend.position = "b"
    if len(spec.y) + len(spec.y2) == 1 and split is None:
        chart.legend = None  # one series: its name is the axis title already
    first_label = len(chart.series) - len(spec.labels)
    if spec.labels and chart.legend is not None:  # quadrant labels stay out of the legend
        chart.legend.legendEntry = [LegendEntry(idx=i, delete=True)
                                    for i in range(first_label, len(chart.series))]
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + tostring(chart._write())


EMU_PER_PX = 9525


def drawing_xml(anchors: list[tuple[int, int, int, int, str]]) -> bytes:
    """A drawing part anchoring charts: (col0, row0, col1, row1, relationship id) each.

    A chart is anchored at its top-left cell with a fixed size of (col1 - col0) default
    columns by (row1 - row0) default rows, so columns sized to their content never squeeze
    or stretch it."""
    parts = []
    for i, (c0, r0, c1, r1, rid) in enumerate(anchors, start=1):
        cx, cy = (c1 - c0) * 64 * EMU_PER_PX, (r1 - r0) * 20 * EMU_PER_PX
        parts.append(
            f"<xdr:oneCellAnchor>"
            f"<xdr:from><xdr:col>{c0}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{r0}</xdr:row>"
            f"<xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f"<xdr:ext cx=\"{cx}\" cy=\"{cy}\"/>"
            f"<xdr:graphicFrame macro=\"\"><xdr:nvGraphicFramePr><xdr:cNvPr id=\"{i + 1}\" "
            f"name=\"xlvalue chart {i}\"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
            f"<xdr:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"0\" cy=\"0\"/></xdr:xfrm>"
            f"<a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/chart\">"
            f"<c:chart xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" "
            f"r:id=\"{rid}\"/></a:graphicData></a:graphic></xdr:graphicFrame>"
            f"<xdr:clientData/></xdr:oneCellAnchor>")
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
            "<xdr:wsDr xmlns:xdr=\"http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing\" "
            "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" "
            "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
            + "".join(parts) + "</xdr:wsDr>").encode("utf-8")
