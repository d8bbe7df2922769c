"""The xlwings adapter: the same reader/writer protocol as the headless openpyxl side.

Reading resolves names and tables through the live workbook and hands the pipeline the same
`RawRange` objects; writing lays out the same blocks (sheetxml.place_blocks), writes values,
defines the xv_out_* names and adds native charts. No analytics here.

xlwings API used (xlwings.main; tests/xlwings_standin.py has the same surface, checked by
tests/test_excel_adapter.py): Book.name/.names/.sheets/.app, Name.name/.refers_to_range/.delete(),
Sheets.add(name, after=), Sheet.name/.tables/.clear()/.charts/.range(), Range.value/.options()/
.number_format/.row/.column/.last_cell/.sheet/.get_address(), Table.name/.range,
Charts.add(left, top, width, height), Chart.chart_type/.name/.set_source_data(source, plot_by)/
.set_x_axis_values()/.series, ChartSeries.chart_type/.axis_group, App.status_bar/.alert().

Excel re-types what it is given: text that looks like a number, date or boolean ("00004",
"1/2", "TRUE") would become one, so every text value is written with a leading apostrophe
(Excel stores the text, the apostrophe is only a marker).
"""

from __future__ import annotations

import sys
from typing import Any

from xlvalue.errors import InputError, Problem
from xlvalue.workbook.cells import NUMBER_FORMATS, column_kind, frame_rows, is_excel_error
from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.ooxml import Area
from xlvalue.workbook.reader import ExcelError, RangeSource, RawRange
from xlvalue.workbook.sheetxml import PlacedBlock, place_blocks
from xlvalue.workbook.writer import SheetOutput

__all__ = ["CHART_TYPES", "POINTS_PER_COL", "POINTS_PER_ROW", "XlwingsWorkbook"]

POINTS_PER_COL = 48.0
POINTS_PER_ROW = 15.0
CHART_TYPES = {"bar": "column_clustered", "line": "line", "bar+line": "column_clustered",
               "scatter": "xy_scatter", "xyline": "xy_scatter_lines_no_markers"}



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

    @property
    def book(self) -> str:
        return str(self.xlbook.name)

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

    def write_sheets(self, sheets: list[SheetOutput]) -> None:
        existing = {str(s.name).lower(): s for s in self.xlbook.sheets}
        for out in sheets:
            sheet = existing.get(out.name.lower())
            if sheet is None:
                sheet = self.xlbook.sheets.add(out.name, after=list(self.xlbook.sheets)[-1])
            for chart in list(sheet.charts):
                chart.delete()
            sheet.clear()
            placed = place_blocks(out.blocks)
            for pb in placed:
                self._write_block(sheet, pb)

    def _write_block(self, sheet: Any, pb: PlacedBlock) -> None:
        frame = pb.block.frame
        r0, c0 = pb.header_row + 1, pb.first_col + 1  # xlwings is 1-based
        if pb.block.title and pb.header_row > 0:
            sheet.range((r0 - 1, c0)).value = _cell_out(pb.block.title)
        rows = [[_cell_out(str(c)) for c in frame.columns], *frame_rows(frame, text=_cell_out)]
        sheet.range((r0, c0)).value = rows
        if not len(frame):  # an empty block says why, as the headless writer does
            sheet.range((r0 + 1, c0)).value = _cell_out(pb.block.empty_note or "no rows")
        for j, column in enumerate(frame.columns):
            fmt = NUMBER_FORMATS.get(column_kind(frame.iloc[:, j], str(column)))
            if fmt and len(frame):
                sheet.range((r0 + 1, c0 + j), (r0 + len(frame), c0 + j)).number_format = fmt
        last_row = r0 + len(frame)
        last_col = c0 + max(len(frame.columns), 1) - 1
        self._define(pb.block.name, sheet, (r0, c0), (last_row, last_col))
        for spec, (row, col) in zip(pb.block.charts, pb.chart_cells, strict=True):
            if len(frame):
                self._add_chart(sheet, pb, spec, (row, col), (r0, c0, last_row))

    def _add_chart(self, sheet: Any, pb: PlacedBlock, spec: ChartSpec, cell: tuple[int, int],
                   rows: tuple[int, int, int]) -> None:
        """A native chart of exactly the spec's columns: y (and y2) series named by their
        headers, x as the category / x values; y2 as a line on the secondary axis."""
        r0, c0, last_row = rows
        columns = list(pb.block.frame.columns)
        ys = [c0 + columns.index(name) for name in (*spec.y, *spec.y2)]
        runs = _adjacent_runs(ys)
        if len(runs) > 1 and sys.platform == "darwin":
            # xlwings on macOS takes one area per range: no chart rather than a wrong one
            self.skipped_charts.append(f"{pb.block.name}: {spec.title}")
            return
        address = ",".join(sheet.range((r0, a), (last_row, b)).get_address() for a, b in runs)
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
        if spec.y2:
            try:
                secondary = list(chart.series)[len(spec.y):]
            except NotImplementedError:  # xlwings Lite reads chart series only asynchronously
                secondary = []
                self.flat_charts.append(f"{pb.block.name}: {spec.title}")
            for series in secondary:
                series.chart_type = "line"
                series.axis_group = "secondary"
        chart.name = f"xlvalue {pb.block.name} {spec.title}"

    def _define(self, name: str, sheet: Any, top_left, bottom_right) -> None:
        for n in list(self.xlbook.names):
            if str(n.name).split("!", 1)[-1].lower() == name.lower():
                n.delete()
        address = sheet.range(top_left, bottom_right).get_address(True, True, include_sheetname=True)
        self.xlbook.names.add(name, "=" + address)


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
