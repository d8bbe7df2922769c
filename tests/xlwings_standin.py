"""An in-memory stand-in for the part of xlwings that xlvalue's doors use, behaving like Excel.

Faithful where it matters for the tests (tests/test_excel_adapter.py checks the first two):
- API surface: every public member has the name, kind (property, method) and signature of the
  real class in `xlwings.main`; arguments the stand-in does not model must keep their default.
- Chart types, plot_by and axis groups are checked against xlwings' own tables
  (`xlwings.main.CHART_TYPES`, `CHART_PLOT_BY`, `CHART_AXIS_GROUPS`).
- Values are stored as Excel stores them (`excel_value`): numbers are doubles, dates are
  datetimes, text that Excel would read as a number, boolean, date or error becomes one (as
  typing it would: "00004" -> 4.0) unless it starts with an apostrophe or the cell is formatted
  as text ("@"); text starting with "=" is a formula (kept in `Sheet.formulas`, no value).
- Reading follows xlwings: 1-based (row, col) tuples, a scalar for one cell, a 1-D list for one
  row or column, 2-D with options(ndim=2), None for empty cells, errors None unless err_to_str.
- Charts: set_source_data with plot_by="columns" makes one series per column (the header names
  it); set_x_axis_values sets every series' x values; series carry chart_type, axis_group and
  markers (validated against xlwings' CHART_MARKER_STYLES, colours normalised to RGB by
  xlwings' own check); axes carry title and scale bounds; the legend is shown at the right
  (Excel's default) until moved or hidden.
- Formulas (Range.formula) are kept in `Sheet.formulas`; HYPERLINK(link, text) is the one
  function evaluated, to the text Excel shows (its second argument), so a link cell compares
  by what a user sees.
- Engine: the classic (Windows/macOS) engines of xlwings 0.37.8 (`App.engine.type` is
  "desktop"), which have no freeze panes and no indent: `Sheet.freeze_panes` and
  `Range.adjust_indent` raise NotImplementedError as theirs do (xlwings.base_classes).
  `Sheet.activate()` makes the sheet `Book.activated`; column widths (characters), row heights
  (points), wrapping and horizontal alignment are kept per sheet (`Sheet.column_widths`,
  `row_heights`, `wrapped`, `alignments`: test hooks).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, get_args

import numpy as np
import openpyxl
from openpyxl.utils import get_column_letter, range_boundaries
from xlwings.base_classes import (
    _UNSET,
    CHART_AXIS_GROUPS,
    CHART_MARKER_STYLES,
    CHART_PLOT_BY,
    HorizontalAlignment,
)
from xlwings.main import CHART_TYPES, _chart_legend_position, _chart_series_color

ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
          "#SPILL!", "#CALC!")


class CellError(str):
    """An Excel error value (#N/A, ...); equal to its text."""


_NUMBER = re.compile(r"^\s*([+-]?)\s*\$?\s*((?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d*)?(?:[eE][+-]?\d+)?)"
                     r"\s*(%?)\s*$")
_PAREN_NUMBER = re.compile(r"^\s*\(\s*\$?\s*(\d[\d,]*(?:\.\d*)?)\s*\)\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
_US_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?\s*$")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_FORMULA = ("=",)
_HYPERLINK = re.compile(r'^=HYPERLINK\(\s*"((?:[^"]|"")*)"\s*,\s*"((?:[^"]|"")*)"\s*\)$', re.I)


def hyperlink_parts(formula: str) -> tuple[str, str] | None:
    """(link location, shown text) of a =HYPERLINK("...","...") formula of two text literals."""
    m = _HYPERLINK.match(formula)
    if m is None:
        return None
    return m.group(1).replace('""', '"'), m.group(2).replace('""', '"')


def _number(text: str) -> float | None:
    m = _NUMBER.match(text)
    if m and re.search(r"\d", m.group(2)):
        value = float(m.group(2).replace(",", ""))
        value = -value if m.group(1) == "-" else value
        return value / 100 if m.group(3) else value
    m = _PAREN_NUMBER.match(text)
    if m:
        return -float(m.group(1).replace(",", ""))
    return None


def _date(text: str) -> dt.datetime | None:
    try:
        m = _ISO_DATE.match(text)
        if m:
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
            h, mi, s = (int(g) if g else 0 for g in m.group(4, 5, 6))
            return dt.datetime(y, mo, d, h, mi, s)
        m = _US_DATE.match(text)  # en-US Excel: month/day[/year]
        if m:
            year = m.group(3)
            y = dt.date.today().year if year is None else int(year)
            y = y + (2000 if y < 30 else 1900) if year is not None and len(year) == 2 else y
            return dt.datetime(y, int(m.group(1)), int(m.group(2)))
    except ValueError:  # 2/30: Excel keeps such text as text
        return None
    m = _TIME.match(text)
    if m and int(m.group(1)) < 24:
        # a bare time is a fraction of a day (Excel shows it as a time)
        return dt.datetime(1899, 12, 30, int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    return None


def excel_value(v: Any, text_format: bool = False) -> tuple[Any, str | None]:
    """(stored value, formula) for a value written to a cell through xlwings.

    Python values go through xlwings' cleaning (numpy scalars to float, NaN and None to empty,
    dates to datetimes); text is then parsed as Excel parses typed input (en-US), unless it
    starts with an apostrophe or the cell's number format is "@".
    """
    if v is None:
        return None, None
    if isinstance(v, bool | np.bool_):
        return bool(v), None
    if isinstance(v, int | float | np.number):
        x = float(v)
        return (None, None) if np.isnan(x) else (x, None)
    if isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond), None
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day), None
    if not isinstance(v, str):
        raise TypeError(f"Excel cannot store a {type(v).__name__} ({v!r})")
    if v == "":
        return None, None
    if v.startswith("'"):
        return v[1:] or None, None
    if text_format:
        return v, None
    if v.startswith(_FORMULA) and len(v) > 1:
        return None, v
    number = _number(v)
    if number is not None:
        return number, None
    if v[0] in "+-@" and len(v) > 1:  # Excel takes "+x", "-x", "@x" for a formula
        return None, "=" + v[1:] if v[0] == "@" else "=" + v
    if v.strip().upper() in ("TRUE", "FALSE"):
        return v.strip().upper() == "TRUE", None
    if v.strip().upper() in ERRORS:
        return CellError(v.strip().upper()), None
    date = _date(v)
    if date is not None:
        return date, None
    return v, None


def _check_chart_type(value: Any) -> str:
    if value not in CHART_TYPES:
        raise ValueError(f"Invalid chart type {value!r} (not in xlwings' CHART_TYPES)")
    return value


class Engine:
    """The classic engine (xlwings' Windows engine is named "excel", of type "desktop")."""

    @property
    def name(self):
        return "excel"

    @property
    def type(self):
        return "desktop"


class App:
    def __init__(self):
        self._status_bar: str | bool = False
        self.alerts: list[tuple[str, str]] = []

    @property
    def engine(self):
        return Engine()

    @property
    def status_bar(self):
        return self._status_bar

    @status_bar.setter
    def status_bar(self, value):
        if not isinstance(value, str | bool):
            raise TypeError("status_bar takes text or False")
        self._status_bar = value

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        assert buttons == "ok" and callback is None, "not modelled"
        assert mode in (None, "info", "critical"), mode  # xlwings' modes
        self.alerts.append((title or "", prompt))


class Range:
    def __init__(self, sheet: Sheet, r0: int, c0: int, r1: int, c1: int, options=None, more=()):
        if min(r0, c0, r1, c1) < 1:
            raise IndexError("Attempted to access 0-based Range. xlwings/Excel Ranges are 1-based.")
        self._sheet = sheet
        self._r0, self._c0 = min(r0, r1), min(c0, c1)
        self._r1, self._c1 = max(r0, r1), max(c0, c1)
        self._options = dict(options or {})
        self._more = tuple(more)  # further areas of a multi-area range: Range objects

    def _areas(self) -> list[Range]:
        return [Range(self._sheet, self._r0, self._c0, self._r1, self._c1), *self._more]

    @property
    def sheet(self):
        return self._sheet

    @property
    def row(self) -> int:
        return self._r0

    @property
    def column(self) -> int:
        return self._c0

    @property
    def shape(self) -> tuple[int, int]:
        return self._r1 - self._r0 + 1, self._c1 - self._c0 + 1

    @property
    def last_cell(self) -> Range:
        return Range(self._sheet, self._r1, self._c1, self._r1, self._c1)

    def options(self, convert=None, **options):
        assert convert is None, "converters are not modelled"
        unknown = set(options) - {"ndim", "err_to_str", "empty"}
        assert not unknown, f"options not modelled: {unknown}"
        return Range(self._sheet, self._r0, self._c0, self._r1, self._c1, options)

    def _cells(self):
        return [[(r, c) for c in range(self._c0, self._c1 + 1)] for r in range(self._r0, self._r1 + 1)]

    @property
    def value(self):
        err_to_str = self._options.get("err_to_str", False)
        empty = self._options.get("empty")
        out = [[self._sheet._get(key, err_to_str, empty) for key in row] for row in self._cells()]
        ndim = self._options.get("ndim")
        if ndim == 2:
            return out
        if len(out) == 1 and len(out[0]) == 1:
            return out[0][0]
        if len(out) == 1:
            return out[0]
        if len(out[0]) == 1:
            return [row[0] for row in out]
        return out

    @value.setter
    def value(self, data):
        if isinstance(data, np.ndarray):
            data = data.tolist()
        if not isinstance(data, list | tuple):
            for row in self._cells():  # a scalar fills the whole range, as in Excel
                for key in row:
                    self._sheet._set(key, data)
            return
        rows = list(data) if data and isinstance(data[0], list | tuple) else [list(data)]
        if len({len(r) for r in rows}) > 1:
            raise ValueError("xlwings writes rectangular data only: rows differ in length")
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self._sheet._set((self._r0 + i, self._c0 + j), v)

    @property
    def formula(self):
        out = [[self._sheet.formulas.get(key, "") for key in row] for row in self._cells()]
        return out[0][0] if len(out) == 1 and len(out[0]) == 1 else out

    @formula.setter
    def formula(self, data):
        rows = data if isinstance(data, list | tuple) else [[data]]
        if rows and not isinstance(rows[0], list | tuple):
            rows = [list(rows)]
        assert len(rows) == self.shape[0] and {len(r) for r in rows} == {self.shape[1]}, \
            "formulas must fill the range"
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                assert isinstance(text, str) and text.startswith("="), f"not a formula: {text!r}"
                self._sheet._set_formula((self._r0 + i, self._c0 + j), text)

    @property
    def column_width(self):
        widths = {self._sheet.column_widths.get(c) for c in range(self._c0, self._c1 + 1)}
        return widths.pop() if len(widths) == 1 else None

    @column_width.setter
    def column_width(self, value):
        if not isinstance(value, int | float) or not 0 <= value <= 255:
            raise ValueError("column_width in characters: 0 to 255")  # as Excel's ColumnWidth
        for c in range(self._c0, self._c1 + 1):
            self._sheet.column_widths[c] = float(value)

    @property
    def row_height(self):
        heights = {self._sheet.row_heights.get(r) for r in range(self._r0, self._r1 + 1)}
        return heights.pop() if len(heights) == 1 else None

    @row_height.setter
    def row_height(self, value):
        if not isinstance(value, int | float) or not 0 <= value <= 409:
            raise ValueError("row_height in points: 0 to 409")  # as Excel's RowHeight
        for r in range(self._r0, self._r1 + 1):
            self._sheet.row_heights[r] = float(value)

    @property
    def wrap_text(self):
        wrapped = {key in self._sheet.wrapped for row in self._cells() for key in row}
        return wrapped.pop() if len(wrapped) == 1 else None

    @wrap_text.setter
    def wrap_text(self, value):
        for row in self._cells():
            for key in row:
                (self._sheet.wrapped.add if value else self._sheet.wrapped.discard)(key)

    @property
    def horizontal_alignment(self):
        aligned = {self._sheet.alignments.get(key, "general") for row in self._cells()
                   for key in row}
        return aligned.pop() if len(aligned) == 1 else None

    @horizontal_alignment.setter
    def horizontal_alignment(self, value):
        if value not in get_args(HorizontalAlignment):
            raise ValueError(f"Invalid horizontal alignment {value!r}")
        for row in self._cells():
            for key in row:
                self._sheet.alignments[key] = value

    def adjust_indent(self, amount):
        raise NotImplementedError()  # xlwings 0.37.8 on Windows and macOS (base_classes.Range)

    @property
    def font(self):
        return Font(self)

    @property
    def conditional_formats(self):
        return ConditionalFormats(self)

    @property
    def number_format(self):
        formats = {self._sheet.formats.get(key) for row in self._cells() for key in row}
        return formats.pop() if len(formats) == 1 else None

    @number_format.setter
    def number_format(self, fmt):
        for row in self._cells():
            for key in row:
                self._sheet.formats[key] = fmt

    @property
    def address(self) -> str:
        return self.get_address()

    def get_address(self, row_absolute=True, column_absolute=True, include_sheetname=False,
                    external=False):
        assert not external, "not modelled"

        def cell(r, c):
            return (("$" if column_absolute else "") + get_column_letter(c) +
                    ("$" if row_absolute else "") + str(r))

        a = cell(self._r0, self._c0)
        if (self._r1, self._c1) != (self._r0, self._c0):
            a += ":" + cell(self._r1, self._c1)
        a = ",".join([a] + [m.get_address(row_absolute, column_absolute) for m in self._more])
        return f"'{self._sheet.name}'!{a}" if include_sheetname else a

    def __eq__(self, other):
        return (isinstance(other, Range) and other._sheet is self._sheet and
                (other._r0, other._c0, other._r1, other._c1) == (self._r0, self._c0, self._r1, self._c1))

    def __hash__(self):
        return hash((id(self._sheet), self._r0, self._c0, self._r1, self._c1))

    def __repr__(self):
        return f"<Range {self.get_address(include_sheetname=True)}>"


class Font:
    """A range's font: bold, italic and color (an RGB tuple) per cell in `Sheet.fonts`."""

    def __init__(self, rng: Range):
        self._range = rng

    def _get(self, key):
        values = {self._range._sheet.fonts.get(cell, {}).get(key)
                  for row in self._range._cells() for cell in row}
        return values.pop() if len(values) == 1 else None

    @property
    def bold(self):
        return bool(self._get("bold"))

    @bold.setter
    def bold(self, value):
        self.set(bold=value)

    @property
    def italic(self):
        return bool(self._get("italic"))

    @italic.setter
    def italic(self, value):
        self.set(italic=value)

    @property
    def color(self):
        return self._get("color")

    @color.setter
    def color(self, value):
        self.set(color=value)

    def set(self, *, bold=_UNSET, italic=_UNSET, size=_UNSET, color=_UNSET, name=_UNSET):
        assert size is _UNSET and name is _UNSET, "not modelled"
        changes = {}
        for key, value in (("bold", bold), ("italic", italic)):
            if value is not _UNSET:
                if not isinstance(value, bool):
                    raise ValueError(f"Invalid {key} {value!r}")
                changes[key] = value
        if color is not _UNSET:
            assert isinstance(color, tuple) and len(color) == 3, "RGB tuples only modelled"
            changes["color"] = color
        for row in self._range._cells():
            for cell in row:
                self._range._sheet.fonts.setdefault(cell, {}).update(changes)


class ConditionalFormats:
    """A range's conditional formats: colour scales, kept in `Sheet.colour_scales`."""

    def __init__(self, rng: Range):
        self._range = rng

    def add_color_scale(self, colors, *, thresholds=None, threshold_type="number"):
        assert thresholds is None and threshold_type == "number", "not modelled"
        if len(colors) not in (2, 3):
            raise ValueError("a colour scale has two or three colours")  # as xlwings
        assert all(isinstance(c, tuple) and len(c) == 3 for c in colors), "RGB tuples modelled"
        self._range._sheet.colour_scales.append((self._range.get_address(False, False),
                                                 list(colors)))


class ChartSeries:
    """One series: its name (header text), values and x values (ranges), markers."""

    def __init__(self, name: str, values: Range, chart_type: str):
        self._name, self.values, self.x_values = name, values, None
        self._chart_type, self._axis_group = chart_type, "primary"
        self._marker_style, self._marker_size = "automatic", 5  # Excel's defaults
        self._marker_colours: dict[str, tuple[int, int, int] | None] = {
            "foreground": None, "background": None}  # None: Excel's automatic colour

    @property
    def name(self):
        return self._name

    @property
    def marker_style(self):
        return self._marker_style

    @marker_style.setter
    def marker_style(self, value):
        self.set(marker_style=value)

    @property
    def marker_size(self):
        return self._marker_size

    @marker_size.setter
    def marker_size(self, value):
        self.set(marker_size=value)

    @property
    def marker_foreground_color(self):
        return self._marker_colours["foreground"]

    @marker_foreground_color.setter
    def marker_foreground_color(self, value):
        self.set(marker_foreground_color=value)

    @property
    def marker_background_color(self):
        return self._marker_colours["background"]

    @marker_background_color.setter
    def marker_background_color(self, value):
        self.set(marker_background_color=value)

    def set(self, *, name=_UNSET, marker_style=_UNSET, marker_size=_UNSET,
            marker_foreground_color=_UNSET, marker_background_color=_UNSET, line_color=_UNSET,
            fill_color=_UNSET, chart_type=_UNSET, axis_group=_UNSET):
        unmodelled = (name, line_color, fill_color)
        assert all(v is _UNSET for v in unmodelled), "not modelled"
        for key, value in (("foreground", marker_foreground_color),
                           ("background", marker_background_color)):
            if value is not _UNSET:  # validated and normalised to RGB as xlwings does
                self._marker_colours[key] = _chart_series_color(value, f"marker_{key}_color")
        if chart_type is not _UNSET:
            self.chart_type = chart_type
        if axis_group is not _UNSET:
            self.axis_group = axis_group
        if marker_style is not _UNSET:
            if marker_style not in CHART_MARKER_STYLES:
                raise ValueError(f"Invalid marker_style {marker_style!r}")
            self._marker_style = marker_style
        if marker_size is not _UNSET:
            if not isinstance(marker_size, int) or not 2 <= marker_size <= 72:
                raise ValueError(f"Invalid marker_size {marker_size!r}")
            self._marker_size = marker_size

    @property
    def chart_type(self):
        return self._chart_type

    @chart_type.setter
    def chart_type(self, value):
        self._chart_type = _check_chart_type(value)

    @property
    def axis_group(self):
        return self._axis_group

    @axis_group.setter
    def axis_group(self, value):
        if value not in CHART_AXIS_GROUPS:
            raise ValueError(f"Invalid axis group {value!r}")
        self._axis_group = value


class ChartLegend:
    """A chart's legend: shown or not, and where (None while hidden)."""

    def __init__(self, chart: Chart):
        self._chart = chart

    @property
    def visible(self):
        return self._chart._legend["visible"]

    @visible.setter
    def visible(self, value):
        self._chart._legend["visible"] = bool(value)

    @property
    def position(self):
        legend = self._chart._legend
        return legend["position"] if legend["visible"] else None

    @position.setter
    def position(self, value):
        legend = self._chart._legend
        legend["position"] = _chart_legend_position(value)
        legend["visible"] = True  # setting a position shows the legend (xlwings' docs)


class ChartAxis:
    """A chart axis: title and scale bounds (None: Excel's automatic ones)."""

    def __init__(self):
        self._title: str | None = None
        self._minimum_scale: float | None = None
        self._maximum_scale: float | None = None

    @property
    def title(self):
        return self._title

    @title.setter
    def title(self, value):
        self.set(title=value)

    @property
    def minimum_scale(self):
        return self._minimum_scale

    @minimum_scale.setter
    def minimum_scale(self, value):
        self.set(minimum_scale=value)

    @property
    def maximum_scale(self):
        return self._maximum_scale

    @maximum_scale.setter
    def maximum_scale(self, value):
        self.set(maximum_scale=value)

    def set(self, *, title=_UNSET, minimum_scale=_UNSET, maximum_scale=_UNSET, major_unit=_UNSET,
            number_format=_UNSET, visible=_UNSET, reverse_order=_UNSET, crosses=_UNSET):
        unmodelled = (major_unit, number_format, visible, reverse_order, crosses)
        assert all(v is _UNSET for v in unmodelled), "not modelled"
        if title is not _UNSET:
            if title is not None and not isinstance(title, str):
                raise ValueError(f"Invalid title {title!r}")
            self._title = title
        for key, value in (("minimum_scale", minimum_scale), ("maximum_scale", maximum_scale)):
            if value is _UNSET:
                continue
            if value is not None and not (isinstance(value, int | float)
                                          and np.isfinite(value)):
                raise ValueError(f"Invalid {key} {value!r}")  # as xlwings' _chart_axis_scale
            setattr(self, "_" + key, None if value is None else float(value))


class ChartSeriesCollection:
    def __init__(self, items: list[ChartSeries]):
        self._items = items

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __getitem__(self, key):
        return self._items[key]


class Chart:
    def __init__(self, charts: Charts, left, top, width, height):
        self._charts = charts
        self._left, self._top, self._width, self._height = left, top, width, height
        self._chart_type, self._name, self._title = "column_clustered", "", None
        self._series: list[ChartSeries] = []
        self._axes = {"category": ChartAxis(), "value": ChartAxis()}
        self._legend = {"visible": True, "position": "right"}  # Excel's default legend
        self.source: Range | None = None

    @property
    def parent(self):
        return self._charts.parent

    left = property(lambda self: self._left)
    top = property(lambda self: self._top)
    width = property(lambda self: self._width)
    height = property(lambda self: self._height)

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def chart_type(self):
        return self._chart_type

    @chart_type.setter
    def chart_type(self, value):
        self._chart_type = _check_chart_type(value)
        for s in self._series:
            s._chart_type = value

    @property
    def title(self):
        return self._title

    @title.setter
    def title(self, value):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"Invalid title {value!r}")
        self._title = value

    @property
    def legend(self):
        return ChartLegend(self)

    @property
    def category_axis(self):
        return self._axes["category"]

    @property
    def value_axis(self):
        return self._axes["value"]

    @property
    def secondary_value_axis(self):
        if not any(s.axis_group == "secondary" for s in self._series):
            # Excel has no secondary axis group until a series is on it (xlwings' docs)
            raise Exception("(-2147352567, 'Exception occurred.')")
        return self._axes.setdefault("secondary_value", ChartAxis())

    @property
    def series(self) -> ChartSeriesCollection:
        return ChartSeriesCollection(self._series)

    def set_source_data(self, source, plot_by=None):
        if plot_by not in CHART_PLOT_BY:
            raise AssertionError("plot_by must be explicit: Excel guesses rows vs columns")
        assert isinstance(source, Range) and source.shape[0] >= 2, "header row + data expected"
        assert plot_by == "columns", "rows not modelled"
        self.source = source
        sheet = source.sheet
        self._series = [
            ChartSeries(str(sheet._get((area.row, c), True, None)),
                        Range(sheet, area.row + 1, c, area.last_cell.row, c), self._chart_type)
            for area in source._areas() for c in range(area.column, area.last_cell.column + 1)]

    def set_x_axis_values(self, source):
        assert isinstance(source, Range)
        for s in self._series:
            s.x_values = source

    def delete(self):
        self._charts._items.remove(self)


class Charts:
    def __init__(self, sheet: Sheet):
        self._sheet = sheet
        self._items: list[Chart] = []

    @property
    def parent(self):
        return self._sheet

    @property
    def count(self):
        return len(self._items)

    def add(self, left=0, top=0, width=355, height=211, chart_type=None, source=None,
            plot_by=None, name=None, anchor=None, style=227):
        assert anchor is None and style == 227, "not modelled"
        chart = Chart(self, left, top, width, height)
        self._items.append(chart)
        if chart_type is not None:
            chart.chart_type = chart_type
        if source is not None:
            chart.set_source_data(source, plot_by)
        if name is not None:
            chart.name = name
        return chart

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def __getitem__(self, key):
        return self._items[key]


class Table:
    def __init__(self, sheet: Sheet, name: str, rng: Range, totals: bool = False):
        self._sheet, self._name, self._range, self._totals = sheet, name, rng, totals

    @property
    def show_totals(self):
        return self._totals

    @property
    def name(self):
        return self._name

    @property
    def range(self):
        return self._range

    @property
    def parent(self):
        return self._sheet


class Tables:
    """The sheet's tables (iteration is all xlvalue needs)."""

    def __init__(self):
        self._items: list[Table] = []

    @property
    def count(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)


class Sheet:
    def __init__(self, book: Book, name: str):
        self._book, self._name = book, name
        self.cells: dict[tuple[int, int], object] = {}
        self.formulas: dict[tuple[int, int], str] = {}
        self.formats: dict[tuple[int, int], str] = {}
        self.column_widths: dict[int, float] = {}
        self.row_heights: dict[int, float] = {}
        self.wrapped: set[tuple[int, int]] = set()
        self.alignments: dict[tuple[int, int], str] = {}
        self.fonts: dict[tuple[int, int], dict] = {}
        self.colour_scales: list[tuple[str, list]] = []  # (address, colours) per colour scale
        self._tables = Tables()
        self._charts = Charts(self)

    @property
    def book(self):
        return self._book

    @property
    def name(self):
        return self._name

    @property
    def tables(self):
        return self._tables

    @property
    def charts(self):
        return self._charts

    @property
    def index(self):
        return self._book.sheets._items.index(self) + 1

    @property
    def used_range(self):
        keys = [*self.cells, *self.formulas, *self.formats, *self.fonts, *self.alignments,
                *self.wrapped]
        if not keys:
            return Range(self, 1, 1, 1, 1)  # as Excel's COM API for an empty sheet
        return Range(self, min(r for r, _ in keys), min(c for _, c in keys),
                     max(r for r, _ in keys), max(c for _, c in keys))

    @property
    def freeze_panes(self):
        # xlwings 0.37.8's Windows and macOS engines: base_classes.Sheet.freeze_panes
        raise NotImplementedError()

    def activate(self):
        self._book.activated = self

    def _get(self, key, err_to_str, empty):
        v = self.cells.get(key)
        if v is None:
            return empty
        if isinstance(v, CellError) and not err_to_str:
            return None
        return v

    def _set(self, key, v):
        value, formula = excel_value(v, self.formats.get(key) == "@")
        if formula is not None:
            self._set_formula(key, formula)
            return
        self.formulas.pop(key, None)
        if value is None:
            self.cells.pop(key, None)
        else:
            self.cells[key] = value

    def _set_formula(self, key, formula: str):
        """A formula is kept apart; a HYPERLINK's value is its shown text (Excel evaluates it),
        any other formula has no value here."""
        self.formulas[key] = formula
        link = hyperlink_parts(formula)
        if link is not None and link[1]:
            self.cells[key] = link[1]
        else:
            self.cells.pop(key, None)

    def range(self, cell1, cell2=None):
        if isinstance(cell1, str):  # "A1:B2" or, as Excel for Windows takes, "A1:A3,C1:C3"
            assert cell2 is None
            areas = []
            for part in cell1.split("!")[-1].replace("$", "").split(","):
                c0, r0, c1, r1 = range_boundaries(part)
                areas.append(Range(self, r0, c0, r1, c1))
            first = areas[0]
            return Range(self, first.row, first.column, first.last_cell.row, first.last_cell.column,
                         more=areas[1:])
        if isinstance(cell1, Range):
            cell1 = (cell1.row, cell1.column)
        if isinstance(cell2, Range):
            cell2 = (cell2.last_cell.row, cell2.last_cell.column)
        r0, c0 = cell1
        r1, c1 = cell2 if cell2 is not None else cell1
        return Range(self, r0, c0, r1, c1)

    def clear(self):
        self.cells.clear()
        self.formulas.clear()
        self.formats.clear()
        self.wrapped.clear()
        self.alignments.clear()
        self.fonts.clear()
        self.colour_scales.clear()

    def clear_contents(self):
        self.cells.clear()
        self.formulas.clear()

    def delete(self):
        self._book.sheets._items.remove(self)


class Sheets:
    def __init__(self, book):
        self._book, self._items = book, []

    @property
    def count(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._items[key]
        for s in self._items:
            if s.name.lower() == key.lower():
                return s
        raise KeyError(key)

    def add(self, name=None, before=None, after=None):
        name = name or f"Sheet{len(self._items) + 1}"
        if any(s.name.lower() == name.lower() for s in self._items):
            raise ValueError(f"a sheet named {name!r} exists")  # Excel refuses duplicates
        sheet = Sheet(self._book, name)
        if after is not None:
            pos = self._items.index(after) + 1
        elif before is not None:
            pos = self._items.index(before)
        else:
            pos = 0  # Excel adds before the active (here: first) sheet
        self._items.insert(pos, sheet)
        return sheet


class Name:
    def __init__(self, names, name, refers_to):
        self._names, self._name, self._refers_to = names, name, refers_to

    @property
    def name(self):
        return self._name

    @property
    def refers_to(self):
        return self._refers_to

    @property
    def refers_to_range(self):
        text = self._refers_to.lstrip("=")
        if "#REF!" in text or "!" not in text:
            raise Exception("(-2147352567, 'Exception occurred.')")  # what pywin32 raises
        sheet, area = text.rsplit("!", 1)
        return self._names._book.sheets[sheet.strip("'")].range(area)

    def delete(self):
        self._names._items.remove(self)


class Names:
    def __init__(self, book):
        self._book, self._items = book, []

    @property
    def count(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def add(self, name, refers_to):
        if any(n.name.lower() == name.lower() for n in self._items):
            self._items = [n for n in self._items if n.name.lower() != name.lower()]
        item = Name(self, name, refers_to)
        self._items.append(item)
        return item


class Book:
    def __init__(self, name: str):
        self._name = name
        self._app = App()
        self._sheets = Sheets(self)
        self._names = Names(self)
        self.activated: Sheet | None = None  # the sheet last activated (a test hook)

    @property
    def name(self):
        return self._name

    @property
    def app(self):
        return self._app

    @property
    def sheets(self):
        return self._sheets

    @property
    def names(self):
        return self._names


def load(path: Path) -> Book:
    """A stand-in book holding the values, names and tables of a real workbook file."""
    wb = openpyxl.load_workbook(path)
    book = Book(Path(path).name)
    for ws in wb.worksheets:
        sheet = book.sheets.add(ws.title, after=list(book.sheets)[-1] if list(book.sheets) else None)
        for row in ws.iter_rows():
            for c in row:
                if c.value is None:
                    continue
                v = c.value
                if c.data_type == "f":
                    sheet.formulas[(c.row, c.column)] = v
                    continue
                if c.data_type == "e":
                    v = CellError(v)
                elif isinstance(v, dt.date | dt.time) and not isinstance(v, dt.datetime):
                    v = (dt.datetime(v.year, v.month, v.day) if isinstance(v, dt.date)
                         else dt.datetime(1899, 12, 30, v.hour, v.minute, v.second))
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    v = float(v)  # Excel numbers are doubles
                sheet.cells[(c.row, c.column)] = v  # stored as the file holds it (no re-typing)
                if c.number_format == "@":
                    sheet.formats[(c.row, c.column)] = "@"
        for t in ws.tables.values():
            c0, r0, c1, r1 = range_boundaries(t.ref)
            sheet.tables._items.append(Table(sheet, t.displayName, sheet.range((r0, c0), (r1, c1)),
                                             bool(t.totalsRowCount)))
    for name, dn in wb.defined_names.items():
        book.names.add(name, "=" + dn.attr_text)
    return book


# what the tests read beyond the xlwings API (instance attributes, not xlwings members)
TEST_HOOKS = {"cells", "formulas", "formats", "alerts", "source", "values", "x_values",
              "activated", "column_widths", "row_heights", "wrapped", "alignments", "fonts",
              "colour_scales"}

# the stand-in classes and the xlwings.main classes they stand in for (tests check the surface)
STANDS_IN_FOR = {App: "App", Engine: "Engine", Book: "Book", Sheet: "Sheet", Sheets: "Sheets", Range: "Range",
                 Names: "Names", Name: "Name", Table: "Table", Tables: "Tables", Chart: "Chart",
                 Charts: "Charts", ChartSeries: "ChartSeries",
                 ChartSeriesCollection: "ChartSeriesCollection", ChartAxis: "ChartAxis",
                 ChartLegend: "ChartLegend",
                 Font: "Font", ConditionalFormats: "ConditionalFormats"}
