"""The xlwings adapter: the same reader/writer protocol as the headless openpyxl side.

Reading resolves names and tables through the live workbook and hands the pipeline the same
`RawRange` objects; writing lays out the same blocks (sheetxml.place_blocks), writes values,
defines the xv_out_* names and adds native charts. No analytics here.

xlwings API used (and nothing else, so that a stand-in can be checked against it):
Book.name, Book.names (iteration, .add), Name.name/.refers_to_range/.delete(),
Book.sheets (iteration, [name], .add(name, after=)), Sheet.name/.tables/.clear()/.charts,
Sheet.range(cell1, cell2).value/.number_format/.options(ndim=2, err_to_str=True),
Range.row/.column/.last_cell/.sheet, Table.name/.range, Charts.add(left, top, width, height),
Chart.set_source_data(range)/.chart_type/.name, App.status_bar.
"""

from __future__ import annotations

from typing import Any

from xlvalue.errors import InputError, Problem
from xlvalue.workbook.cells import NUMBER_FORMATS, column_kind, frame_rows, is_excel_error
from xlvalue.workbook.ooxml import Area
from xlvalue.workbook.reader import ExcelError, RangeSource, RawRange
from xlvalue.workbook.sheetxml import PlacedBlock, place_blocks
from xlvalue.workbook.writer import SheetOutput

__all__ = ["CHART_TYPES", "POINTS_PER_COL", "POINTS_PER_ROW", "XlwingsWorkbook"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
POINTS_PER_COL = 48.0
POINTS_PER_ROW = 15.0
CHART_TYPES = {"bar": "column_clustered", "line": "line", "bar+line": "column_clustered",
               "scatter": "xy_scatter", "xyline": "xy_scatter_lines_no_markers"}


class XlwingsWorkbook(RangeSource):
    """A live workbook (xw.Book) seen through the reader and writer protocol."""

    def __init__(self, book: Any):
        self.xlbook = book

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
                try:
                    return n.refers_to_range
                except Exception:  # a name pointing at #REF! has no range
                    raise InputError(Problem("name does not point to a range (#REF!?)",
                                             book=self.book, name=name)) from None
        for sheet in self.xlbook.sheets:
            for table in sheet.tables:
                if str(table.name).lower() == wanted:
                    return table.range
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
        try:
            self.xlbook.app.status_bar = message
        except Exception:  # no status bar (e.g. a stand-in): progress is optional
            pass

    def write_sheets(self, sheets: list[SheetOutput]) -> None:
        existing = {str(s.name).lower(): s for s in self.xlbook.sheets}
        for out in sheets:
            sheet = existing.get(out.name.lower())
            if sheet is None:
                sheet = self.xlbook.sheets.add(out.name, after=list(self.xlbook.sheets)[-1])
            for chart in list(sheet.charts):
                chart.delete()
            sheet.clear()
            placed = place_blocks(out.blocks, out.layout)
            for pb in placed:
                self._write_block(sheet, pb)

    def _write_block(self, sheet: Any, pb: PlacedBlock) -> None:
        frame = pb.block.frame
        r0, c0 = pb.header_row + 1, pb.first_col + 1  # xlwings is 1-based
        if pb.block.title and pb.header_row > 0:
            sheet.range((r0 - 1, c0)).value = _cell_out(pb.block.title)
        rows = [[str(c) for c in frame.columns], *frame_rows(frame, text=_cell_out)]
        sheet.range((r0, c0)).value = rows
        for j, column in enumerate(frame.columns):
            fmt = NUMBER_FORMATS.get(column_kind(frame.iloc[:, j], str(column)))
            if fmt and len(frame):
                sheet.range((r0 + 1, c0 + j), (r0 + len(frame), c0 + j)).number_format = fmt
        last_row = r0 + len(frame)
        last_col = c0 + max(len(frame.columns), 1) - 1
        self._define(pb.block.name, sheet, (r0, c0), (last_row, last_col))
        for spec, (row, col) in zip(pb.block.charts, pb.chart_cells, strict=True):
            if not len(frame):
                continue
            chart = sheet.charts.add(col * POINTS_PER_COL, row * POINTS_PER_ROW,
                                     spec.width_cols * POINTS_PER_COL,
                                     spec.height_rows * POINTS_PER_ROW)
            cols = [spec.x, *spec.y, *spec.y2]
            idx = [list(frame.columns).index(c) for c in cols]
            first, last = c0 + min(idx), c0 + max(idx)
            chart.set_source_data(sheet.range((r0, first), (last_row, last)))
            chart.chart_type = CHART_TYPES[spec.kind]
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
    """Text that Excel would take for a formula is written as text (leading apostrophe)."""
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v
