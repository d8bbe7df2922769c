"""Worksheet XML for output blocks, generated column-wise with vectorised string operations.

Text is always written as an inline string (`t="inlineStr"`), so data can never become a
formula (no formula injection) and sharedStrings.xml is never touched. NaN, NaT and inf are
written as empty cells: a cell never shows nan or inf.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from xlvalue.errors import InputError, Problem
from xlvalue.workbook.cells import (
    MAX_CELL_TEXT,
    NUMERIC_KINDS,
    CellKind,
    ColumnFormat,
    blank_text,
    column_kind,
    column_kinds,
    numbers_of,
    serial_from_days,
    summary_kind,
)
from xlvalue.workbook.charts import ChartSpec, SeriesColumns, split_rows
from xlvalue.workbook.ooxml import col_letter
from xlvalue.workbook.palette import BRAND, COLOUR_SCALE, argb

__all__ = ["ROWS_PER_CHUNK", "Block", "PlacedBlock", "StyleIds", "block_rows",
           "chart_data_block", "colour_scales", "column_cells", "column_widths",
           "content_widths", "frozen_rows", "hyperlinks_xml", "inline_cells", "place_blocks",
           "px", "sheet_blocks", "sheet_xml_chunks", "wrapped_lines"]

# characters XML 1.0 cannot hold, and those that make a text need escaping (RE2 syntax, as
# Arrow's regex kernels take it)
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
_NEEDS_ESCAPE = r"[&<>\x00-\x1f\x{fffe}\x{ffff}]|_x[0-9A-Fa-f]{4}_"
# text that reads as an OOXML escape (_x0041_ is "A") keeps its underscore escaped
_ESCAPE_LIKE = r"_(x[0-9A-Fa-f]{4}_)"


@dataclass
class Block:
    """A frame to write under the anchored name `name` (header row + data rows)."""

    name: str
    sheet: str
    frame: pd.DataFrame
    title: str = ""
    charts: list[ChartSpec] = field(default_factory=list)
    colour_scale_from: str | None = None  # this column and those after it get a colour scale
    # internal hyperlinks: column name -> a location per data row ("'xv_RFM'!A1", or None)
    links: dict[str, list[str | None]] = field(default_factory=dict)
    empty_note: str = ""  # shown in the first data row when the frame has no rows
    # declared cell kinds (number formats): column name -> its kind, or one kind per data
    # row for a long-format column mixing counts, amounts, shares and text; columns not
    # named here are guessed from their dtype and name (cells.column_kind)
    formats: dict[str, ColumnFormat] = field(default_factory=dict)


@dataclass(frozen=True)
class StyleIds:
    """Cell-format indices (cellXfs) of the styles the writer uses, in the target workbook."""

    title: int = 0
    header: int = 0
    date: int = 0
    number: int = 0
    integer: int = 0
    percent: int = 0
    share: int = 0  # 0..1 shown as 66.3% (cells.FORMATS)
    pct: int = 0  # 0..100 shown as 66.3%
    header_right: int = 0  # header of a numeric column: aligned with its right-aligned values
    link: int = 0  # a hyperlink cell (blue, underlined)
    note: int = 0  # a one-line note (grey italic)
    # a text column right of a right-aligned one is indented (its text would touch the numbers)
    header_indent: int = 0
    text_indent: int = 0
    link_indent: int = 0
    # text longer than its column where something lies to its right wraps (never cut off)
    text_wrap: int = 0
    text_wrap_indent: int = 0

    def text(self, indent: bool, wrap: bool) -> int:
        """The style of a text cell of a column that is indented and/or wraps."""
        return ((0, self.text_indent), (self.text_wrap, self.text_wrap_indent))[wrap][indent]

    def of(self, kind: str) -> int:
        """The style of a number or date cell of this kind (0: none)."""
        return int(getattr(self, kind, 0)) if kind in NUMERIC_KINDS or kind == "date" else 0


@dataclass
class PlacedBlock:
    block: Block
    header_row: int  # 0-based row of the header
    first_col: int  # 0-based
    chart_cells: list[tuple[int, int]] = field(default_factory=list)  # (row, col) per chart
    widths: list[float] = field(default_factory=list)  # column widths (characters)
    kinds: list[CellKind] = field(default_factory=list)  # each column's kind (cells.summary_kind)
    # what each column's cells are written as: its kind or one kind per data row
    cell_kinds: list[CellKind | tuple[CellKind, ...]] = field(default_factory=list)
    indent: list[bool] = field(default_factory=list)  # text column right of a number column
    wrap: set[int] = field(default_factory=set)  # text columns whose long text wraps
    # per chart (aligned with block.charts): the placed chart data of a split scatter (one
    # column per series, chart_data_block), None for a chart that plots the block's columns
    chart_data: list[PlacedBlock | None] = field(default_factory=list)

    def series_columns(self, i: int) -> SeriesColumns | None:
        """Where the series of the block's i-th chart stand, if the layout gave it chart data."""
        data = self.chart_data[i] if i < len(self.chart_data) else None
        if data is None:
            return None
        return SeriesColumns(data.header_row, data.first_col,
                             tuple(str(c) for c in data.block.frame.columns))

    @property
    def last_row(self) -> int:
        return self.header_row + len(self.block.frame)

    @property
    def bottom_row(self) -> int:
        """Last row the block shows: its last data row, or the note of an empty block."""
        return self.last_row + (1 if len(self.block.frame) == 0 else 0)

    @property
    def last_col(self) -> int:
        return self.first_col + max(len(self.block.frame.columns), 1) - 1

    def area(self) -> str:
        r0, r1 = self.header_row + 1, self.last_row + 1
        if r0 == r1 and self.first_col == self.last_col:  # one cell, as Excel writes it
            return f"${col_letter(self.first_col)}${r0}"
        return f"${col_letter(self.first_col)}${r0}:${col_letter(self.last_col)}${r1}"


def inline_cells(text: pa.Array, style: int = 0) -> pa.Array:
    """Inline-string cell bodies (the part after `<c r="A1"`) of Arrow text: characters XML
    cannot hold are dropped, & < > escaped, text like _x0041_ escaped as _x005F_x0041_ (so
    Excel shows it as typed, not as "A"), edge spaces kept; a null stays null (no cell)."""
    if pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        text = pc.replace_substring_regex(text, _ESCAPE_LIKE, r"_x005F_\1")
        text = pc.replace_substring_regex(text, _ILLEGAL_XML, "")
        text = pc.replace_substring(text, "&", "&amp;")
        text = pc.replace_substring(text, "<", "&lt;")
        text = pc.replace_substring(text, ">", "&gt;")
    pad = pc.not_equal(pc.utf8_trim_whitespace(text), text)
    space = pc.if_else(pad, '><is><t xml:space="preserve">', "><is><t>")
    s = f' s="{style}"' if style else ""
    return pc.binary_join_element_wise(f' t="inlineStr"{s}', space, text, "</t></is></c>", "")


def column_cells(values: pd.Series, name: str, styles: StyleIds,
                 kind: CellKind | Sequence[CellKind] | None = None, text_style: int = 0):
    """The part of each cell after `<c r="A1"`: attributes, value and `</c>`, as an Arrow
    string array; null = no cell (blank, NaN, NaT, empty text). Built with Arrow's C++ string kernels
    (numbers in shortest round-trip form), ~10x faster than formatting cells in Python.
    `kind` is the whole column's kind (declared, or cells.column_kind); a chunk of a column
    must pass it, since a chunk of whole numbers would otherwise lose the decimals of its
    column. A sequence gives one kind per value (a long-format column: each row a number of
    its own format, or text). `text_style` formats a text column (indented, wrapping; 0 = plain)."""
    def wrap(text, prefix: str, suffix: str):
        return pc.binary_join_element_wise(prefix, text, suffix, "")

    v = values.reset_index(drop=True)
    if kind is not None and not isinstance(kind, str):
        return _row_cells(v, name, styles, kind, text_style)
    kind = kind or column_kind(v, name)
    if kind == "bool":
        flags = pa.array(v.to_numpy(dtype=bool, na_value=False))
        return pc.if_else(flags, ' t="b"><v>1</v></c>', ' t="b"><v>0</v></c>')
    if kind == "date":
        serial = serial_from_days(v.to_numpy().astype("datetime64[D]"))
        serial = pa.array(np.nan_to_num(serial).astype(np.int64), mask=np.isnan(serial))
        s = f' s="{styles.date}"' if styles.date else ""
        return wrap(pc.cast(serial, pa.string()), f"{s}><v>", "</v></c>")
    if kind in NUMERIC_KINDS:
        x = numbers_of(v, kind, f"column {name}")
        bad = ~np.isfinite(x)
        if kind == "integer" and _whole(x[~bad]):
            numbers = pa.array(np.where(bad, 0.0, x).astype(np.int64), mask=bad)
        else:  # a fraction declared integer keeps its value (the format only rounds it)
            numbers = pa.array(x, mask=bad)
        style = styles.of(kind)
        s = f' s="{style}"' if style else ""
        return wrap(pc.cast(numbers, pa.string()), f"{s}><v>", "</v></c>")
    blank = blank_text(v)
    text = pa.array(v.where(~blank, "").astype(str))  # Arrow-backed text converts without copies
    if not pa.types.is_string(text.type):
        text = text.cast(pa.string())
    if blank.any():
        text = pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)
    longest = pc.max(pc.utf8_length(text)).as_py() or 0
    if longest > MAX_CELL_TEXT:  # Excel reports the whole file as damaged
        raise InputError(Problem(f"column {name} holds a text of {longest:,} characters, more "
                                 f"than the {MAX_CELL_TEXT:,} an Excel cell holds"))
    return inline_cells(text, text_style)


def _whole(x: np.ndarray) -> bool:
    """Finite values that are whole and exact as int64 (written without a decimal point)."""
    return bool(np.all(x == np.round(x))) and bool(np.all(np.abs(x) < 1e15))


def _row_cells(v: pd.Series, name: str, styles: StyleIds, kinds: Sequence[CellKind],
               text_style: int):
    """column_cells of a column with one kind per row: each group of rows of one kind is
    formatted as a column of that kind, then put back in row order."""
    kinds_arr = np.asarray(list(kinds), dtype=object)
    if len(kinds_arr) != len(v):
        raise ValueError(f"column {name}: {len(kinds_arr)} row kinds for {len(v)} rows")
    order = np.empty(len(v), dtype=np.int64)
    parts, done = [], 0
    for kind in dict.fromkeys(kinds_arr.tolist()):
        rows = np.flatnonzero(kinds_arr == kind)
        parts.append(column_cells(v.iloc[rows], name, styles, kind, text_style))
        order[rows] = np.arange(done, done + len(rows))
        done += len(rows)
    if not parts:
        return pa.array([], pa.string())
    return pa.concat_arrays(parts).take(pa.array(order))


ROWS_PER_CHUNK = 5000


# column widths in Excel's character units; pixels = 7 * width + 5 (Calibri 11)
MIN_WIDTH, MAX_WIDTH, DEFAULT_WIDTH = 6.0, 60.0, 9.14
COL_PX = 64  # default column width in pixels (charts are sized so)
LONG_BLOCK_ROWS = 30  # blocks longer than this get their header at the top, frozen


def px(width: float) -> int:
    return int(7 * width + 5)


def _text_width(text: pa.Array) -> int:
    lengths = pc.utf8_length(text)
    return int(pc.max(lengths).as_py() or 0)


def content_widths(frame: pd.DataFrame, cap: float = MAX_WIDTH,
                   kinds: Sequence[CellKind | Sequence[CellKind]] | None = None) -> list[float]:
    """Column widths that show every header and value whole (capped at `cap`): text by its
    longest value, numbers by their longest formatted form (thousands separators, the
    decimals and % of their kind). `kinds` are the columns' kinds (cells.column_kinds: one per
    column or per row); by default each column's guessed kind."""
    widths = []
    for j, name in enumerate(frame.columns):
        v = frame.iloc[:, j]
        header = len(str(name)) + 2
        kind = kinds[j] if kinds is not None else column_kind(v, str(name))
        if isinstance(kind, str):
            body = _body_width(v, kind)
        else:  # one kind per row: the widest row group
            kinds_arr = np.asarray(list(kind), dtype=object)
            body = max((_body_width(v.iloc[np.flatnonzero(kinds_arr == k)], k)
                        for k in dict.fromkeys(kinds_arr.tolist())), default=0)
        widths.append(float(min(max(header, body, MIN_WIDTH), cap)))
    return widths


# a number's formatted length beyond its digits: (decimals incl. the point, the % sign)
_NUMBER_TAIL = {"integer": 0, "number": 3, "percent": 4, "share": 3, "pct": 3}


def _body_width(v: pd.Series, kind: str) -> int:
    """Characters the values of one kind need, as sheetxml shows them (content_widths)."""
    if kind == "bool":
        return 6
    if kind == "date":
        return 11
    if kind in NUMERIC_KINDS:
        x = numbers_of(v, kind, f"column {v.name}")
        finite = x[np.isfinite(x)]
        biggest = float(np.max(np.abs(finite))) if finite.size else 0.0
        if kind in ("percent", "share"):
            biggest *= 100  # shown as percent: 0.25 -> 25.00%
        if kind == "percent":  # (as before: no room for a minus sign)
            digits = len(f"{biggest:,.2f}") + 1
        else:
            digits = (len(f"{biggest:,.0f}") + (1 if finite.size and finite.min() < 0 else 0)
                      + _NUMBER_TAIL[kind])
        return digits + 3  # a right-aligned number keeps clear of the next column's text
    blank = v.isna().to_numpy()
    text = pa.array(v.where(~blank, "").astype(str))
    if not pa.types.is_string(text.type):
        text = text.cast(pa.string())
    return _text_width(text) + 1 if len(text) else 0




def block_rows(pb: PlacedBlock, styles: StyleIds, start: int = 0, stop: int | None = None
               ) -> dict[int, list[str]]:
    """Cells of a placed block on sheet rows [start, stop) (0-based): title, header, data.

    Only the data rows in the range are formatted, so a million-row block is written in
    bounded memory, chunk by chunk. Headers of numeric columns are right-aligned like their
    values; an empty block shows its note (or 'no rows') instead of data.
    """
    block = pb.block
    stop = pb.bottom_row + 1 if stop is None else stop
    rows: dict[int, list[str]] = {}
    cols = [col_letter(pb.first_col + j) for j in range(len(block.frame.columns))]
    first_col = cols[0] if cols else col_letter(pb.first_col)
    if block.title and pb.header_row > 0 and start <= pb.header_row - 1 < stop:
        r = pb.header_row
        title = inline_cells(pa.array([block.title], pa.string()), styles.title)[0].as_py()
        rows.setdefault(r - 1, []).append(f'<c r="{first_col}{r}"' + title)
    if start <= pb.header_row < stop:
        numeric = [kind in RIGHT_ALIGNED for kind in pb.kinds]  # numbers and dates
        indent = pb.indent
        names = pa.array([str(c) for c in block.frame.columns], pa.string())
        variants = [inline_cells(names, style).to_pylist()
                    for style in (styles.header, styles.header_right, styles.header_indent)]
        rows.setdefault(pb.header_row, []).append("".join(
            f'<c r="{c}{pb.header_row + 1}"{variants[1 if num else 2 if ind else 0][j]}'
            for j, (c, num, ind) in enumerate(zip(cols, numeric, indent, strict=True))))
    if len(block.frame) == 0:
        r = pb.header_row + 1
        if start <= r < stop:
            note = inline_cells(pa.array([block.empty_note or "no rows"], pa.string()), styles.note)
            rows.setdefault(r, []).append(f'<c r="{first_col}{r + 1}"' + note[0].as_py())
        return rows
    first = max(start - pb.header_row - 1, 0)  # data row indices of the frame in range
    last = min(stop - pb.header_row - 1, len(block.frame))
    if last <= first:
        return rows
    part = block.frame.iloc[first:last]
    excel_rows = pc.cast(pa.array(np.arange(first, last) + pb.header_row + 2), pa.string())
    bodies = []
    for j, col in enumerate(part.columns):
        indent = j < len(pb.indent) and pb.indent[j]
        if str(col) in block.links:
            text = pa.array(part[col].astype(str).tolist(), pa.string())
            bodies.append(inline_cells(text, styles.link_indent if indent else styles.link))
        else:
            kind = pb.cell_kinds[j] if j < len(pb.cell_kinds) else None
            if kind is not None and not isinstance(kind, str):
                kind = kind[first:last]  # the rows of this chunk
            bodies.append(column_cells(part[col], str(col), styles, kind,
                                       styles.text(indent, j in pb.wrap)))
    cells = [pc.binary_join_element_wise(f'<c r="{cols[j]}', excel_rows, '"', body, "")
             for j, body in enumerate(bodies)]  # a null body (no cell) stays null
    joined = pc.binary_join_element_wise(*cells, "", null_handling="replace",
                                         null_replacement="") if cells else None
    if joined is not None:
        for i, text in enumerate(joined.to_pylist()):
            if text:  # a row with no cell (e.g. chart data of a point without a y) writes none
                rows.setdefault(pb.header_row + 1 + first + i, []).append(text)
    return rows


def sheet_blocks(placed: list[PlacedBlock]) -> list[PlacedBlock]:
    """Everything a sheet shows as cells: its placed blocks, then the chart data of their
    split scatters (unnamed blocks the layout put beside them)."""
    return [*placed, *(d for pb in placed for d in pb.chart_data if d is not None)]


def chart_data_block(block: Block, spec: ChartSpec, kind: CellKind = "number") -> Block | None:
    """The chart data of a scatter split by a column (spec.series_by): one column per series,
    named by it, holding the y values of that series' rows (the block's row order; other rows
    empty, which a scatter skips), shown as `kind` (the y column's). None when the chart is
    not split (charts.split_rows)."""
    split = split_rows(spec, block.frame)
    if split is None:
        return None
    y = numbers_of(block.frame[spec.y[0]], kind, f"column {spec.y[0]}")
    data = np.full((len(block.frame), len(split)), np.nan)
    for k, (_name, rows) in enumerate(split):
        data[rows, k] = y[rows]
    frame = pd.DataFrame(data, columns=[name for name, _ in split])
    title = (f"chart data: {spec.y[0]} by {spec.series_by} (the series of the chart "
             f"'{spec.title}' of {block.name})")
    return Block("", block.sheet, frame, title=title,
                 formats={str(c): kind for c in frame.columns})


def column_widths(placed: list[PlacedBlock]) -> dict[int, float]:
    """Width of every column up to the last chart's end: blocks' content widths (the widest
    block wins where blocks share a column), DEFAULT_WIDTH for gap and chart columns."""
    widths: dict[int, float] = {}
    for pb in placed:
        for j, w in enumerate(pb.widths):
            widths[pb.first_col + j] = max(widths.get(pb.first_col + j, 0.0), w)
    right = max((c + _chart_cols(spec) for pb in placed
                 for spec, (_r, c) in zip(pb.block.charts, pb.chart_cells, strict=True)),
                default=0)
    right = max([right, *(c + 1 for c in widths)])
    return {c: widths.get(c, DEFAULT_WIDTH) for c in range(right)}


def _chart_cols(spec: ChartSpec) -> int:
    return -(-spec.width_cols * COL_PX // px(DEFAULT_WIDTH))


FROZEN_ROWS = 2  # a long block's title and header rows


def frozen_rows(placed: list[PlacedBlock]) -> int:
    """Rows to freeze: up to the headers when a long block starts at the top."""
    if any(pb.header_row == 1 and len(pb.block.frame) > LONG_BLOCK_ROWS for pb in placed):
        return FROZEN_ROWS
    return 0


def hyperlinks_xml(placed: list[PlacedBlock]) -> str:
    """The <hyperlinks> element of the blocks' internal links ('' when there are none)."""
    out = []
    for pb in placed:
        for name, locations in pb.block.links.items():
            j = list(map(str, pb.block.frame.columns)).index(name)
            for i, loc in enumerate(locations):
                if loc:
                    ref = f"{col_letter(pb.first_col + j)}{pb.header_row + 2 + i}"
                    loc = loc.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
                    out.append(f'<hyperlink ref="{ref}" location="{loc}" display="{ref}"/>')
    return f"<hyperlinks>{''.join(out)}</hyperlinks>" if out else ""


def sheet_xml_chunks(placed: list[PlacedBlock], styles: StyleIds, drawing_rid: str | None,
                     tab_color: str = argb(BRAND), selected: bool = False):
    """A worksheet part holding the placed blocks, as a generator of UTF-8 chunks.

    Columns are sized to their content, a sheet whose long blocks start at the top keeps
    their titles and headers frozen, and `selected` marks the tab the workbook opens on.
    """
    freeze = frozen_rows(placed)
    placed = sheet_blocks(placed)
    widths = column_widths(placed)
    max_row = max((pb.bottom_row for pb in placed), default=0)
    max_col = max((pb.last_col for pb in placed), default=0)
    tab = ' tabSelected="1"' if selected else ""
    if freeze:
        view = (f'<sheetView{tab} workbookViewId="0"><pane ySplit="{freeze}" '
                f'topLeftCell="A{freeze + 1}" activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="A{freeze + 1}" '
                f'sqref="A{freeze + 1}"/></sheetView>')
    else:
        view = f'<sheetView{tab} workbookViewId="0"/>'
    head = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">',
            f'<sheetPr><tabColor rgb="{tab_color}"/><pageSetUpPr fitToPage="1"/></sheetPr>',
            f'<dimension ref="A1:{col_letter(max_col)}{max_row + 1}"/>',
            f'<sheetViews>{view}</sheetViews>',
            '<sheetFormatPr defaultRowHeight="15"/>']
    if widths:
        head.append("<cols>" + "".join(
            f'<col min="{c + 1}" max="{c + 1}" width="{w:.2f}" customWidth="1"/>'
            for c, w in sorted(widths.items())) + "</cols>")
    head.append("<sheetData>")
    yield "".join(head).encode("utf-8")
    for start in range(0, max_row + 1, ROWS_PER_CHUNK):
        stop = start + ROWS_PER_CHUNK
        rows: dict[int, list[str]] = {}
        lines: dict[int, int] = {}
        for pb in placed:
            if pb.header_row - 1 >= stop or pb.bottom_row < start:
                continue
            for r, cells in block_rows(pb, styles, start, stop).items():
                rows.setdefault(r, []).extend(cells)
            for r, n in wrapped_lines(pb, start, stop).items():
                lines[r] = max(lines.get(r, 1), n)
        out = []
        for r in sorted(rows):
            cells = rows[r]
            if len(cells) > 1:  # cells of several blocks on one row must be in column order
                cells = sorted(cells, key=_first_col_of)
            height = (f' ht="{lines[r] * ROW_POINTS:g}" customHeight="1"'
                      if lines.get(r, 1) > 1 else "")
            out.append(f'<row r="{r + 1}"{height}>' + "".join(cells) + "</row>")
        if out:
            yield "".join(out).encode("utf-8")
    tail = ["</sheetData>", *colour_scales(placed), hyperlinks_xml(placed),
            '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.5" header="0.3" footer="0.3"/>',
            '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>']
    if drawing_rid:
        tail.append(f'<drawing r:id="{drawing_rid}"/>')
    tail.append("</worksheet>")
    yield "".join(tail).encode("utf-8")


ROW_POINTS = 15  # the default row height in points: a wrapped text's row is this per line


def wrapped_lines(pb: PlacedBlock, start: int, stop: int) -> dict[int, int]:
    """Sheet row (0-based, in [start, stop)) -> lines its wrapping texts take, for rows of the
    block whose wrapped text needs more than one line. The row is given that height, since
    neither Excel nor LibreOffice refits rows when it opens a file."""
    first = max(start - pb.header_row - 1, 0)
    last = min(stop - pb.header_row - 1, len(pb.block.frame))
    need = np.ones(max(last - first, 0), dtype=np.int64)
    for j in sorted(pb.wrap):
        if last <= first:
            break
        values = pb.block.frame.iloc[first:last, j]
        length = values.where(~blank_text(values), "").astype(str).str.len().to_numpy()
        per_line = max(pb.widths[j] - (INDENT_WIDTH if pb.indent[j] else 0.0) - 1.0, 1.0)
        need = np.maximum(need, np.ceil(length / per_line).astype(np.int64))
    rows = np.flatnonzero(need > 1)
    return dict(zip((rows + first + pb.header_row + 1).tolist(), need[rows].tolist(),
                    strict=True))


def colour_scales(placed: list[PlacedBlock]) -> list[str]:
    """Conditional formatting of the blocks that ask for it: a red-yellow-green 3-colour scale
    (min, median, max) over their data cells from `colour_scale_from` to the last column."""
    out = []
    for priority, pb in enumerate((p for p in placed if p.block.colour_scale_from), start=1):
        columns = [str(c) for c in pb.block.frame.columns]
        if pb.block.colour_scale_from not in columns or pb.last_row <= pb.header_row:
            continue
        c0 = pb.first_col + columns.index(pb.block.colour_scale_from)
        ref = (f"{col_letter(c0)}{pb.header_row + 2}:{col_letter(pb.last_col)}"
               f"{pb.last_row + 1}")
        out.append(f'<conditionalFormatting sqref="{ref}"><cfRule type="colorScale" '
                   f'priority="{priority}"><colorScale><cfvo type="min"/>'
                   '<cfvo type="percentile" val="50"/><cfvo type="max"/>'
                   + "".join(f'<color rgb="{argb(c)}"/>' for c in COLOUR_SCALE) +
                   '</colorScale></cfRule></conditionalFormatting>')
    return out


def _first_col_of(cells: str) -> int:
    ref = cells[6:cells.index('"', 6)]
    letters = "".join(ch for ch in ref if ch.isalpha())
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


BLOCK_GAP_ROWS = 2  # empty rows between stacked blocks (the next title row comes after them)


def _title_px(block: Block) -> int:
    return int(len(block.title) * 7.6) + 10  # bold text is a little wider than plain


def place_blocks(blocks: list[Block]) -> list[PlacedBlock]:
    """Lay a sheet's blocks out so that nothing overlaps and every text shows whole.

    Short blocks (summaries) are stacked in a column on the left, each with its charts to its
    right; long blocks (one row per customer, curves, the summary's contents) stand side by
    side to the right of that column with their title and header on rows 1-2, which are
    frozen: every long block's header stays in view. Every block's title fits above its block
    and charts, so no title runs into the next block. A text column right of a number column
    is indented; a text longer than its column wraps where something lies to its right.
    """
    placed = [_placed(b) for b in blocks]
    short = [pb for pb in placed if len(pb.block.frame) <= LONG_BLOCK_ROWS]
    long_ = [pb for pb in placed if len(pb.block.frame) > LONG_BLOCK_ROWS]
    # the last column of a stacked block without charts spills into the empty cells to its
    # right (up to SPILL_MAX, or without limit when nothing stands right of the stack): it
    # need not widen the column that the blocks above and below share
    full_px = {id(pb): sum(px(w) for w in pb.widths) for pb in placed}
    for pb in short:
        if pb.block.charts or not pb.widths:
            continue
        last = len(pb.widths) - 1
        full = content_widths(pb.block.frame.iloc[:, last:], cap=SPILL_MAX + 1,
                              kinds=pb.cell_kinds[last:])[0]
        full += INDENT_WIDTH if pb.indent[last] else 0.0
        if full <= SPILL_MAX or not long_:
            full_px[id(pb)] += px(min(full, SPILL_MAX)) - px(pb.widths[last])
            name = str(pb.block.frame.columns[last])
            pb.widths[last] = min(pb.widths[last], max(len(name) + 2.0, 12.0))
            pb.wrap.discard(last)
    # left column: stacked blocks, charts after a one-column gap right of the widest block;
    # beside long blocks the stack starts below the frozen rows (a frozen header of the first
    # stacked block would stand over the blocks below it)
    row = FROZEN_ROWS + 1 if long_ else 1
    width_of: dict[int, float] = {}
    for pb in short:
        for j, w in enumerate(pb.widths):
            width_of[j] = max(width_of.get(j, 0.0), w)
    ncols = max((len(pb.widths) for pb in short), default=0)
    chart_col = ncols + 1
    right_px = 0
    for pb in short:
        pb.header_row, pb.first_col = row, 0
        r = row
        for spec in pb.block.charts:
            pb.chart_cells.append((r, chart_col))
            r += spec.height_rows + 1
        block_px = max(sum(px(width_of[j]) for j in range(len(pb.widths))),
                       sum(px(width_of[j]) for j in range(len(pb.widths) - 1)) + full_px[id(pb)]
                       - sum(px(w) for w in pb.widths[:-1]))
        charts_px = (sum(px(width_of.get(j, DEFAULT_WIDTH)) for j in range(chart_col))
                     + max(spec.width_cols * COL_PX for spec in pb.block.charts)
                     if pb.block.charts and len(pb.block.frame) else 0)
        right_px = max(right_px, block_px, charts_px, _title_px(pb.block))
        charted = r if pb.block.charts and len(pb.block.frame) else 0
        row = max(pb.bottom_row + 1, charted) + BLOCK_GAP_ROWS + 1
    col = _first_col_after(right_px, width_of) + 1 if short else 0
    # long blocks side by side, each followed by its charts; the last one's last column has
    # nothing to its right, so its text spills rather than wraps
    for k, pb in enumerate(long_):
        pb.header_row, pb.first_col = 1, col
        r = 1
        end_px = sum(px(w) for w in pb.widths)
        for spec in pb.block.charts:
            pb.chart_cells.append((r, pb.last_col + 2))
            r += spec.height_rows + 1
        if pb.block.charts:
            end_px += px(DEFAULT_WIDTH) + max(s.width_cols * COL_PX for s in pb.block.charts)
        elif k == len(long_) - 1:
            pb.wrap.discard(len(pb.widths) - 1)
        end_px = max(end_px, _title_px(pb.block))
        local = {j: w for j, w in enumerate(pb.widths)}
        col = pb.first_col + _first_col_after(end_px, local) + 1
    # the chart data of split scatters: right of everything else, titles on the first row
    for pb in placed:
        for spec in pb.block.charts:
            j = [str(c) for c in pb.block.frame.columns].index(spec.y[0]) if spec.y else -1
            kind = pb.kinds[j] if j >= 0 and pb.kinds[j] in NUMERIC_KINDS else "number"
            data = chart_data_block(pb.block, spec, kind)
            if data is None:
                pb.chart_data.append(None)
                continue
            dp = _placed(data)
            dp.header_row, dp.first_col = 1, col
            pb.chart_data.append(dp)
            local = {j: w for j, w in enumerate(dp.widths)}
            col += _first_col_after(max(sum(px(w) for w in dp.widths), _title_px(data)),
                                    local) + 1
    return placed


RIGHT_ALIGNED: tuple[CellKind, ...] = ("integer", "number", "percent", "share", "pct", "date")
INDENT_WIDTH = 2.0  # characters an indented column needs besides its text
SPILL_MAX = 100.0  # how far a stacked block's last text may run into the empty cells right of it


def _placed(block: Block) -> PlacedBlock:
    """A block with its columns' widths, kinds, indents and (provisionally) wrapping texts:
    every text column wider than MAX_WIDTH wraps until the layout finds room for it."""
    frame = block.frame
    cell_kinds = column_kinds(frame, block.formats, block.name)
    kinds = [summary_kind(k) for k in cell_kinds]
    indent = [j > 0 and kind == "text" and kinds[j - 1] in RIGHT_ALIGNED
              for j, kind in enumerate(kinds)]
    widths = [min(w + (INDENT_WIDTH if ind else 0.0), MAX_WIDTH)
              for w, ind in zip(content_widths(frame, kinds=cell_kinds), indent, strict=True)]
    wrap = {j for j, (w, kind) in enumerate(zip(widths, kinds, strict=True))
            if kind == "text" and w >= MAX_WIDTH}
    return PlacedBlock(block, 0, 0, widths=widths, kinds=kinds, cell_kinds=cell_kinds,
                       indent=indent, wrap=wrap)


def _first_col_after(pixels: int, widths: dict[int, float]) -> int:
    """Index (relative) of the first column starting at or after `pixels` from the left edge,
    where columns without an entry in widths have DEFAULT_WIDTH."""
    edge, j = 0, 0
    while edge < pixels:
        edge += px(widths.get(j, DEFAULT_WIDTH))
        j += 1
    return j
