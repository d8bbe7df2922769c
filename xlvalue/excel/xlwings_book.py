"""The xlwings adapter: the same reader/writer protocol as the headless openpyxl side.

Reading resolves names and tables through the live workbook and hands the pipeline the same
`RawRange` objects; writing takes the same sheet plans (layout.plan_sheet), writes values,
defines the xv_out_* names and adds native charts. No analytics here.

xlwings API used (xlwings.main; tests/xlwings_standin.py has the same surface, checked by
tests/test_excel_adapter.py): Book.name/.names/.sheets/.app, Name.name/.refers_to_range/.delete(),
Sheets.add(name, after=), Sheet.name/.tables/.clear()/.charts/.range()/.activate()/.freeze_panes/
.used_range,
FreezePanes.freeze_at()/.unfreeze(), Range.value/.formula/.options()/.number_format/.row/.column/
.last_cell/.sheet/.get_address()/.column_width/.row_height/.wrap_text/.horizontal_alignment/
.adjust_indent()/.font/.conditional_formats, ConditionalFormats.add_color_scale(colors),
Font.set(bold, italic, color), App.engine.type, Table.name/.range, Charts.add(left, top, width,
height), Chart.chart_type/.name/.title/.set_source_data(source, plot_by)/.set_x_axis_values()/
.series/.legend/.category_axis/.value_axis/.secondary_value_axis, ChartLegend.position,
ChartAxis.set(title, minimum_scale, maximum_scale), ChartSeries.chart_type/.axis_group/
.set(marker_style, marker_size, marker_foreground_color, marker_background_color),
App.status_bar/.alert().

What each engine does with the readability features of the headless file (xlwings 0.37.8):
- Links (Block.links): an `=HYPERLINK("#'Sheet'!A1","text")` formula showing the text the
  headless cell shows; Excel for Windows and macOS, Excel on the web and Lite follow it.
- Opening tab: the sheet plan (or SheetOutput) marked active is activated (Sheet.activate) after writing.
- Colour scales (Block.colour_scale_from): the same red-yellow-green scale on every engine.
- Fonts: bold titles and headers, link-blue link cells (not underlined: xlwings' Font has no
  underline), grey italic notes, as the headless styles.
- Layout (sheetxml): the headless column widths (Range.column_width: Excel's character units
  on Windows and macOS, points on Lite, converted from the same pixels), wrapped long texts
  with the headless row heights, right-aligned headers over numbers; the indent of a text
  column right of a number column on Lite only (Range.adjust_indent has no Windows or macOS
  implementation: NotImplementedError; the column keeps the width that makes room for the
  indent, so nothing is hidden and nothing is reported).
- Frozen header rows (sheetxml.frozen_rows): frozen on the Office.js engine of xlwings Lite
  (FreezePanes.freeze_at("1:2")). The Windows and macOS engines have no freeze-panes
  implementation (xlwings' base class raises NotImplementedError) and this adapter keeps to
  xlwings' cross-platform API (no COM or AppleScript), so there the rows are not frozen and
  the sheet is listed in `unfrozen_sheets`.
- A scatter split by a column (ChartSpec.series_by, the value matrix's classes) plots the
  chart data the layout placed beside the blocks (the headless file's cells), one series per
  adjacent column, against the block's x column; on Windows and macOS each series gets its
  palette colour and the legend goes to the bottom, on Lite (no synchronous series) Excel's
  automatic colours and default legend.
- Charts get the spec's title and axis titles and its axis bounds (ChartAxis minimum_scale /
  maximum_scale). A scatter's points get circle markers of size 5 on Windows and macOS; Lite
  cannot read chart series synchronously, so there the markers are Excel's default ones of
  the XY-scatter type (visible, automatic style). Thresholds where a scatter's axes cross
  (ChartSpec.cross_x / cross_y) cannot be drawn: ChartAxis.crosses takes only automatic /
  minimum / maximum, and xlwings offers no way to add a series with its own x values. The
  doors therefore name the thresholds in the axis titles and say where each labelled class
  lies (from the data: "MVC right, MGC top left, ...") in the chart title; the headless file
  draws the thresholds as crossing dashed axes and labels the quadrants inside the chart.

Excel re-types what it is given: text that looks like a number, date or boolean ("00004",
"1/2", "TRUE") would become one, so every text value is written with a leading apostrophe
(Excel stores the text, the apostrophe is only a marker).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from xlvalue.errors import InputError, Problem
from xlvalue.workbook.cells import NUMBER_FORMATS, column_kinds, frame_rows, is_excel_error
from xlvalue.workbook.charts import ChartSpec, chart_title
from xlvalue.workbook.layout import SheetOutput, SheetPlan, plan_sheets
from xlvalue.workbook.ooxml import Area
from xlvalue.workbook.palette import COLOUR_SCALE, LINK, NOTE, rgb, series_colour
from xlvalue.workbook.reader import ExcelError, RangeSource, RawRange
from xlvalue.workbook.sheetxml import (
    RIGHT_ALIGNED,
    ROW_POINTS,
    PlacedBlock,
    column_widths,
    frozen_rows,
    px,
    sheet_blocks,
    wrapped_lines,
)

__all__ = ["CHART_TYPES", "POINTS_PER_COL", "POINTS_PER_ROW", "XlwingsWorkbook", "chart_titles",
           "hyperlink_formula"]

POINTS_PER_COL = 48.0
POINTS_PER_ROW = 15.0
CHART_TYPES = {"bar": "column_clustered", "line": "line", "bar+line": "column_clustered",
               "scatter": "xy_scatter", "xyline": "xy_scatter_lines_no_markers"}
MAX_FORMULA_TEXT = 255  # Excel refuses a longer text literal in a formula

def _without_totals(table: Any):
    """The table's header and data rows: a totals row (Table.show_totals) is not data."""
    rng = table.range
    if not table.show_totals:
        return rng
    last = rng.last_cell
    return rng.sheet.range((rng.row, rng.column), (last.row - 1, last.column))

class XlwingsWorkbook(RangeSource):
    """A live workbook (xw.Book) seen through the reader and writer protocol."""

    def __init__(self, book: Any):
        self.xlbook = book
        self.skipped_charts: list[str] = []
        self.flat_charts: list[str] = []  # drawn with every series as a column (xlwings Lite)
        self.unfrozen_sheets: list[str] = []  # header rows this engine cannot freeze

    @property
    def book(self) -> str:
        return str(self.xlbook.name)

    def warnings(self) -> list[str]:
        """What the writes so far could not show as the headless file does, in a user's
        words: the doors show these with the run's own warnings (one wording for all)."""
        return ([f"chart not drawn here (its columns are not adjacent; `xlvalue run` draws "
                 f"it): {c}" for c in self.skipped_charts]
                + [f"chart drawn with all series as columns (no secondary axis here): {c}"
                   for c in self.flat_charts]
                + [f"header rows not frozen (this Excel's xlwings engine cannot): {s}"
                   for s in self.unfrozen_sheets])

    # ---- reading ------------------------------------------------------------------------

    def _range(self, name: str):
        wanted = name.lower()
        for n in self.xlbook.names:
            full = str(n.name)
            short = full.split("!", 1)[-1]
            if short.lower() == wanted:
                refers_to = str(n.refers_to)
                if "#REF!" in refers_to or "!" not in refers_to:
                    raise InputError(Problem(f"name does not point to a range ({refers_to})",
                                             book=self.book, name=name))
                return n.refers_to_range
        for sheet in self.xlbook.sheets:
            for table in sheet.tables:
                if str(table.name).lower() == wanted:
                    return _without_totals(table)
        return None

    def has(self, name: str) -> bool:
        return self._range(name) is not None

    def read(self, name: str) -> RawRange:
        rng = self._range(name)
        if rng is None:
            raise InputError(Problem("no defined name or Excel table of this name",
                                     book=self.book, name=name))
        values = rng.options(ndim=2, err_to_str=True).value or []
        rows = [[_cell_in(v) for v in row] for row in values]
        last = rng.last_cell
        area = Area(str(rng.sheet.name), rng.row - 1, rng.column - 1, last.row - 1,
                    last.column - 1)
        # trailing blank rows of a generous range are not data
        while rows and all(c == "" for c in rows[-1]) and len(rows) > 1:
            rows.pop()
        return RawRange(name, self.book, area, rows)

    # ---- writing ------------------------------------------------------------------------

    def status(self, message: str | bool) -> None:
        """Progress in Excel's status bar (False hands it back to Excel)."""
        self.xlbook.app.status_bar = message

    def write_sheets(self, sheets: Sequence[SheetPlan | SheetOutput]) -> None:
        """Write xlvalue's sheets into the live workbook: the run's sheet plans
        (layout.plan_sheet, the places the contents links point at), or SheetOutputs, laid
        out here as the headless writer lays them out."""
        plans = plan_sheets(sheets)
        existing = {str(s.name).lower(): s for s in self.xlbook.sheets}
        for out in plans:
            sheet = existing.get(out.name.lower())
            if sheet is None:
                sheet = self.xlbook.sheets.add(out.name, after=list(self.xlbook.sheets)[-1])
            for chart in list(sheet.charts):
                chart.delete()
            used_rows = sheet.used_range.last_cell.row  # what an earlier run wrote
            sheet.clear()
            placed = out.placed
            shown = sheet_blocks(placed)
            for data in shown[len(placed):]:  # chart data first: its headers name the series
                self._write_cells(sheet, data)
            for pb in placed:
                self._write_block(sheet, pb)
            self._lay_out(sheet, shown, used_rows)
            self._freeze(sheet, frozen_rows(placed))
        active = next((out.name for out in plans if out.active), None)
        if active is not None:
            next(s for s in self.xlbook.sheets if str(s.name).lower() == active.lower()).activate()

    def _lay_out(self, sheet: Any, placed: list[PlacedBlock], used_rows: int = 1) -> None:
        """Size, align, indent and wrap as the headless writer does (sheetxml): column widths
        to their contents, number headers right-aligned over their values, text columns right
        of a number column indented (where the engine can), long texts wrapped in rows tall
        enough for them."""
        in_points = self.xlbook.app.engine.type == "remote"  # Lite measures columns in points
        for c, width in column_widths(placed).items():
            # classic engines take Excel's character units, as the headless file; Lite points:
            # the headless pixels (Calibri 11: 7 per character + 5) at 96 dpi
            sheet.range((1, c + 1)).column_width = px(width) * 0.75 if in_points else width
        lines: dict[int, int] = {}
        for pb in placed:
            frame = pb.block.frame
            r0, c0, n = pb.header_row + 1, pb.first_col + 1, len(frame)
            self._fonts(sheet, pb, r0, c0)
            for j in range(len(frame.columns)):
                if j < len(pb.kinds) and pb.kinds[j] in RIGHT_ALIGNED:  # numbers and dates
                    sheet.range((r0, c0 + j)).horizontal_alignment = "right"
                if n and j in pb.wrap:
                    sheet.range((r0 + 1, c0 + j), (r0 + n, c0 + j)).wrap_text = True
                if j < len(pb.indent) and pb.indent[j]:
                    self._indent(sheet.range((r0, c0 + j), (r0 + n, c0 + j)))
            for r, k in wrapped_lines(pb, 0, pb.bottom_row + 1).items():
                lines[r] = max(lines.get(r, 1), k)
            columns = [str(c) for c in frame.columns]
            # as sheetxml.colour_scales: three colours without thresholds (xlwings'
            # add_color_scale puts the middle one at the 50th percentile, as the file does)
            if n and pb.block.colour_scale_from in columns:
                j = columns.index(pb.block.colour_scale_from)
                sheet.range((r0 + 1, c0 + j), (r0 + n, c0 + len(columns) - 1)
                            ).conditional_formats.add_color_scale([rgb(c) for c in COLOUR_SCALE])
        # clearing a sheet keeps row heights: rows an earlier run made tall (within the range
        # it used) or that the blocks now use get the default height back first
        bottom = max([used_rows, *(pb.bottom_row + 1 for pb in placed)])
        sheet.range((1, 1), (bottom, 1)).row_height = ROW_POINTS
        for first, last, k in _row_runs(lines):  # one call per run of equal heights
            sheet.range((first + 1, 1), (last + 1, 1)).row_height = k * ROW_POINTS

    def _fonts(self, sheet: Any, pb: PlacedBlock, r0: int, c0: int) -> None:
        """The headless fonts: bold title and header, link-blue links (xlwings' Font has no
        underline), a grey italic note in an empty block."""
        frame = pb.block.frame
        if pb.block.title and pb.header_row > 0:
            sheet.range((r0 - 1, c0)).font.set(bold=True)
        sheet.range((r0, c0), (r0, c0 + max(len(frame.columns), 1) - 1)).font.set(bold=True)
        if not len(frame):
            sheet.range((r0 + 1, c0)).font.set(italic=True, color=rgb(NOTE))
            return
        columns = [str(c) for c in frame.columns]
        for name in pb.block.links:
            j = columns.index(name)
            sheet.range((r0 + 1, c0 + j), (r0 + len(frame), c0 + j)).font.set(color=rgb(LINK))

    def _indent(self, rng: Any) -> None:
        """Indent a column by one level; the Windows and macOS engines of xlwings have no
        Range.adjust_indent (NotImplementedError): the column keeps its extra width."""
        try:
            rng.adjust_indent(1)
        except NotImplementedError:
            pass

    def _freeze(self, sheet: Any, rows: int) -> None:
        """Freeze the top `rows` rows (0: none), as the headless file does; the Windows and
        macOS engines of xlwings have no freeze panes (NotImplementedError): noted, not faked."""
        try:
            panes = sheet.freeze_panes
            if rows:
                panes.freeze_at(f"1:{rows}")
            else:  # a sheet frozen by an earlier run whose blocks are now short
                panes.unfreeze()
        except NotImplementedError:
            if rows:
                self.unfrozen_sheets.append(str(sheet.name))

    def _write_block(self, sheet: Any, pb: PlacedBlock) -> None:
        """A block's cells, its defined name (xv_out_*) and its charts."""
        frame = pb.block.frame
        r0, c0 = pb.header_row + 1, pb.first_col + 1  # xlwings is 1-based
        self._write_cells(sheet, pb)
        last_row = r0 + len(frame)
        last_col = c0 + max(len(frame.columns), 1) - 1
        self._define(pb.block.name, sheet, (r0, c0), (last_row, last_col))
        for i, (row, col) in enumerate(pb.chart_cells):
            if len(frame):
                self._add_chart(sheet, pb, i, (row, col), (r0, c0, last_row))

    def _write_cells(self, sheet: Any, pb: PlacedBlock) -> None:
        """Title, header and data cells of a placed block (or chart data) with their number
        formats and links, as the headless writer shows them."""
        frame = pb.block.frame
        r0, c0 = pb.header_row + 1, pb.first_col + 1  # xlwings is 1-based
        if pb.block.title and pb.header_row > 0:
            sheet.range((r0 - 1, c0)).value = _cell_out(pb.block.title)
        kinds = pb.cell_kinds or column_kinds(frame, pb.block.formats, pb.block.name)
        rows = [[_cell_out(str(c)) for c in frame.columns],
                *frame_rows(frame, text=_cell_out, kinds=kinds)]
        sheet.range((r0, c0)).value = rows
        if not len(frame):  # an empty block says why, as the headless writer does
            sheet.range((r0 + 1, c0)).value = _cell_out(pb.block.empty_note or "no rows")
        self._write_links(sheet, pb, r0, c0)
        for j, kind in enumerate(kinds if len(frame) else []):
            # the declared (or guessed) kind's format; one range per run of rows of one kind
            per_row = [kind] * len(frame) if isinstance(kind, str) else list(kind)
            for start, stop, k in _kind_runs(per_row):
                fmt = NUMBER_FORMATS.get(k)
                if fmt:
                    sheet.range((r0 + 1 + start, c0 + j), (r0 + stop, c0 + j)).number_format = fmt

    def _write_links(self, sheet: Any, pb: PlacedBlock, r0: int, c0: int) -> None:
        """Block.links as HYPERLINK formulas over the link cells just written as text: the
        cell shows the same text as the headless file's hyperlink cell and goes to the place."""
        frame = pb.block.frame
        columns = [str(c) for c in frame.columns]
        for name, locations in pb.block.links.items():
            j = columns.index(name)
            texts = frame.iloc[:, j].astype(str).tolist()  # the text sheetxml.block_rows shows
            formulas = [hyperlink_formula(loc, texts[i]) if loc and i < len(texts) else None
                        for i, loc in enumerate(locations)]
            for start, stop in _present_runs(formulas):
                sheet.range((r0 + 1 + start, c0 + j), (r0 + stop, c0 + j)).formula = [
                    [f] for f in formulas[start:stop]]

    def _add_chart(self, sheet: Any, pb: PlacedBlock, i: int, cell: tuple[int, int],
                   rows: tuple[int, int, int]) -> None:
        """A native chart of the block's i-th spec, of exactly the spec's columns: y (and y2)
        series named by their headers, x as the category / x values; y2 as a line on the
        secondary axis. A split scatter plots the columns of its chart data instead (one
        series per column, each its own colour, with a legend) against the block's x."""
        r0, c0, last_row = rows
        spec = pb.block.charts[i]
        columns = list(pb.block.frame.columns)
        split = pb.series_columns(i)
        if split is not None:  # adjacent columns: one area on every engine
            first = split.first_col + 1
            ys = list(range(first, first + len(split.names)))
            head = split.header_row + 1
        else:
            ys = [c0 + columns.index(name) for name in (*spec.y, *spec.y2)]
            head = r0
        runs = _adjacent_runs(ys)
        if len(runs) > 1 and sys.platform == "darwin":
            # xlwings on macOS takes one area per range: no chart rather than a wrong one
            self.skipped_charts.append(f"{pb.block.name}: {spec.title}")
            return
        address = ",".join(sheet.range((head, a), (head + last_row - r0, b)).get_address()
                           for a, b in runs)
        try:
            source = sheet.range(address)
        except ValueError:  # xlwings Lite's engine takes one area per range, like macOS
            self.skipped_charts.append(f"{pb.block.name}: {spec.title}")
            return
        row, col = cell
        chart = sheet.charts.add(col * POINTS_PER_COL, row * POINTS_PER_ROW,
                                 spec.width_cols * POINTS_PER_COL, spec.height_rows * POINTS_PER_ROW)
        chart.chart_type = CHART_TYPES[spec.kind]
        chart.set_source_data(source, plot_by="columns")
        x = c0 + columns.index(spec.x)
        chart.set_x_axis_values(sheet.range((r0 + 1, x), (last_row, x)))
        try:
            series = list(chart.series)
        except NotImplementedError:  # xlwings Lite reads chart series only asynchronously
            series = None
        if spec.y2:
            if series is None:
                self.flat_charts.append(f"{pb.block.name}: {spec.title}")
            for s in (series or [])[len(spec.y):]:
                s.chart_type = "line"
                s.axis_group = "secondary"
            if series is not None:  # the headless file titles the right-hand axis too
                chart.secondary_value_axis.set(title=spec.y2[0])
        if spec.kind == "scatter":  # Lite: the XY-scatter type's own (automatic) markers
            for k, s in enumerate((series or [])[:len(split.names) if split else len(spec.y)]):
                if split is None:
                    s.set(marker_style="circle", marker_size=5)
                else:  # each class its colour, as the headless file (palette.SERIES)
                    colour = rgb(series_colour(k))
                    s.set(marker_style="circle", marker_size=5, marker_foreground_color=colour,
                          marker_background_color=colour)
        if split is not None and series is not None:  # Lite: Excel's default legend
            chart.legend.position = "bottom"
        title, x_title, y_title = chart_titles(spec, pb.block.frame)
        chart.title = title
        chart.category_axis.set(title=x_title, **_bounds(spec.x_min, spec.x_max))
        chart.value_axis.set(title=y_title, **_bounds(spec.y_min, spec.y_max))
        chart.name = f"xlvalue {pb.block.name} {spec.title}"

    def _define(self, name: str, sheet: Any, top_left, bottom_right) -> None:
        for n in list(self.xlbook.names):
            if str(n.name).split("!", 1)[-1].lower() == name.lower():
                n.delete()
        address = sheet.range(top_left, bottom_right).get_address(True, True, include_sheetname=True)
        self.xlbook.names.add(name, "=" + address)


def hyperlink_formula(location: str, text: str) -> str | None:
    """`=HYPERLINK("#'xv_RFM'!A1","xv_RFM!A1")`: a link within the workbook showing `text`
    (double quotes doubled); None when a part is longer than a formula's text may be."""
    target = "#" + location
    if not text or max(len(target), len(text)) > MAX_FORMULA_TEXT:
        return None

    def quoted(t: str) -> str:
        return '"' + t.replace('"', '""') + '"'

    return f"=HYPERLINK({quoted(target)},{quoted(text)})"


def chart_titles(spec: ChartSpec, frame: Any) -> tuple[str, str, str]:
    """Chart title, x and y axis titles as the doors show them.

    A scatter whose axes cross at thresholds cannot show them as lines here (see the module
    docstring): the axis titles give the thresholds, and the title says where each labelled
    class lies relative to them, derived from the class's own points."""
    x_title = spec.x_title or spec.x
    y_title = spec.y_title or (spec.y[0] if spec.y else "")
    base = chart_title(spec, frame)
    if spec.cross_x is None and spec.cross_y is None:
        return base, x_title, y_title
    if spec.cross_x is not None:
        x_title = f"{spec.x}, threshold {_number(spec.cross_x)}"
    if spec.cross_y is not None:
        y_title = f"{spec.y[0]}, threshold {_number(spec.cross_y)}"
    x = frame[spec.x].to_numpy(dtype=float, na_value=np.nan)
    y = np.nan_to_num(frame[spec.y[0]].to_numpy(dtype=float, na_value=np.nan), nan=0.0)
    places = []
    for row, column in spec.labels:
        name = str(frame[column].iloc[row])
        members = (frame[column].astype(str) == name).to_numpy()
        where = _where(x[members], y[members], spec.cross_x, spec.cross_y)
        if where:
            places.append(f"{name} {where}")
    title = f"{base}: {', '.join(places)}" if places else base
    return title[:MAX_FORMULA_TEXT], x_title, y_title


def _where(x: np.ndarray, y: np.ndarray, cross_x: float | None, cross_y: float | None) -> str:
    """Where points lie relative to the thresholds: 'top left', 'right', 'left of 0', ...
    ('' when they lie on both sides of both)."""
    horizontal = vertical = ""
    if cross_x is not None and (x >= cross_x).all():
        horizontal = "right"
    elif (x < 0).all() and (cross_x is None or cross_x >= 0):
        horizontal = "left of 0"
    elif cross_x is not None and (x < cross_x).all():
        horizontal = "left"
    if cross_y is not None and (y > cross_y).all():
        vertical = "top"
    elif cross_y is not None and (y <= cross_y).all():
        vertical = "bottom"
    return " ".join(p for p in (vertical, horizontal) if p)


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def _bounds(lo: float | None, hi: float | None) -> dict[str, float]:
    """ChartAxis.set arguments for the bounds a spec gives (none: Excel's automatic ones)."""
    out = {}
    if lo is not None:
        out["minimum_scale"] = float(lo)
    if hi is not None:
        out["maximum_scale"] = float(hi)
    return out


def _row_runs(lines: dict[int, int]) -> list[tuple[int, int, int]]:
    """(first row, last row, lines) of consecutive rows of equal line counts:
    {3: 2, 4: 2, 6: 3} -> [(3, 4, 2), (6, 6, 3)]."""
    runs: list[tuple[int, int, int]] = []
    for r, k in sorted(lines.items()):
        if runs and runs[-1][1] == r - 1 and runs[-1][2] == k:
            runs[-1] = (runs[-1][0], r, k)
        else:
            runs.append((r, r, k))
    return runs


def _kind_runs(kinds: list[str]) -> list[tuple[int, int, str]]:
    """[start, stop) runs of equal kinds: ["integer", "integer", "text"] ->
    [(0, 2, "integer"), (2, 3, "text")]."""
    runs: list[tuple[int, int, str]] = []
    for i, k in enumerate(kinds):
        if runs and runs[-1][2] == k:
            runs[-1] = (runs[-1][0], i + 1, k)
        else:
            runs.append((i, i + 1, k))
    return runs


def _present_runs(items: list) -> list[tuple[int, int]]:
    """[start, stop) runs of the items that are not None: [a, None, b, c] -> [(0, 1), (2, 4)]."""
    runs: list[tuple[int, int]] = []
    for i, item in enumerate(items):
        if item is None:
            continue
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _cell_in(v: Any) -> Any:
    """xlwings value -> the reader's convention ('' for empty, ExcelError for errors)."""
    if v is None:
        return ""
    if is_excel_error(v):
        return ExcelError(v)
    return v


def _cell_out(v: Any) -> Any:
    """Text is written so that Excel keeps it text: never re-typed as a number, date,
    boolean or formula ("00004" stays "00004", "=1+1" stays text)."""
    if isinstance(v, str) and v:
        return "'" + v
    return v


def _adjacent_runs(cols: list[int]) -> list[tuple[int, int]]:
    """Runs of adjacent columns, in order: [3, 4, 7] -> [(3, 4), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for c in cols:
        if runs and c == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], c)
        else:
            runs.append((c, c))
    return runs
