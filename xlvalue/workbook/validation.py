"""Turn raw input ranges into clean, typed frames, collecting located problems.

Conversions are vectorised with pandas over whole columns; only the failing cells are
visited one by one, to name them in messages like `Transactions!C17: amount 'abc' is not a
number`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from xlvalue.errors import MAX_REPORTED, Problem, remainder
from xlvalue.workbook.cells import MAX_CELL_TEXT, days_from_serial
from xlvalue.workbook.contract import Column, InputTable
from xlvalue.workbook.ooxml import cell_ref
from xlvalue.workbook.reader import ExcelError, RawRange, UncachedFormula

__all__ = ["GROUPED_NUMBER", "MAX_SERIAL", "PLAIN_NUMBER", "CleanTable", "convert_dates",
           "convert_ids", "convert_numbers", "number_hint", "parse_number_text", "validate_table"]

# value class -> 0 datetime/date, 1 number, 2 text (subclasses of date: 3, anything else: 9)
_DATE_KIND = {dt.datetime: 0, dt.date: 0, pd.Timestamp: 0, int: 1, float: 1, str: 2}
MAX_SERIAL = 2_958_465  # 9999-12-31


@dataclass
class CleanTable:
    """A validated input table: typed columns plus the Excel row number of every row."""

    frame: pd.DataFrame
    rows: np.ndarray  # 1-based Excel row numbers
    source: RawRange
    columns: dict[str, int] = field(default_factory=dict)  # 0-based sheet column per column

    def problem(self, i: int, column: str, message: str) -> Problem:
        """A problem located at data row i (0-based) of `column`."""
        return _problem(self.source, int(self.rows[i]) - 1, self.columns[column], message)


def _is_blank(values: np.ndarray) -> np.ndarray:
    """None, NaN, '' or whitespace-only text."""
    blank = pd.isna(values)  # None and NaN, at C speed
    text = np.fromiter((v.__class__ is str for v in values), bool, len(values))
    if text.any():
        idx = np.flatnonzero(text)
        blank[idx] = [not v.strip() for v in values[idx]]
    return blank


def _problem(src: RawRange, row: int, col: int, msg: str) -> Problem:
    return Problem(msg, book=src.book, sheet=src.area.sheet, cell=cell_ref(row, col),
                   name=src.name)


def convert_ids(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Customer ids as text: integral numbers lose the '.0', text is stripped, case kept."""
    if set(map(type, values)) <= {str}:  # all text (the usual case): strip at C speed
        out = np.array(list(map(str.strip, values)), dtype=object)
        too_long = np.fromiter(map(len, out), np.int64, len(out)) > MAX_CELL_TEXT
        return out, (out == "") | too_long
    out = np.array([(v.strip() or None) if v.__class__ is str else _id_text(v) for v in values],
                   dtype=object)
    bad = np.fromiter((v is None for v in out), bool, len(out))
    out[bad] = ""
    return out, bad


def _id_text(v: object) -> str | None:
    if isinstance(v, bool | ExcelError | UncachedFormula) or v is None:
        return None
    if isinstance(v, float):
        if not np.isfinite(v):
            return None
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    text = str(v).strip()
    return text or None


def convert_dates(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dates as datetime64[D]: Excel dates, serial numbers, ISO text and yyyymmdd accepted."""
    n = len(values)
    if n and pd.api.types.infer_dtype(values, skipna=False) in ("datetime", "date"):
        try:  # every cell is a real date: the common case, converted in C
            days = pd.DatetimeIndex(values).to_numpy().astype("datetime64[D]")
        except (TypeError, ValueError):  # e.g. mixed time zones
            days = pd.to_datetime(values.tolist()).to_numpy().astype("datetime64[D]")
        return days, days < _FIRST_DAY  # before 1900-01-01 no Excel date exists
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    s = pd.Series(values, dtype=object)
    kind = np.fromiter((_DATE_KIND.get(v.__class__, 3 if isinstance(v, dt.date) else 9)
                        for v in values), np.int8, n)
    is_dt = (kind == 0) | (kind == 3)
    if is_dt.any():
        stamps = pd.to_datetime(values[is_dt].tolist())  # C-level conversion of date objects
        out[is_dt] = stamps.to_numpy().astype("datetime64[D]")
    is_num = kind == 1
    if is_num.any():
        serial = s[is_num].astype(float).to_numpy()
        ok = np.isfinite(serial) & (serial >= 1) & (serial <= MAX_SERIAL)
        idx = np.flatnonzero(is_num)
        out[idx[ok]] = days_from_serial(serial[ok])  # 1 = 1900-01-01, Excel's leap-day rule
        # 19970101 as a number: past every Excel serial, so read as yyyymmdd, as text is
        # (and as a CSV TransactionsFile reads it)
        compact = ~ok & np.isfinite(serial) & (serial >= 1e7) & (serial < 1e8) & \
            (serial == np.floor(np.nan_to_num(serial)))
        if compact.any():
            text = pd.Series(serial[compact].astype(np.int64).astype(str))
            out[idx[compact]] = _text_days(text)
    is_str = (kind == 2) & ~_is_blank(values)
    if is_str.any():
        out[is_str] = _text_days(s[is_str].astype(str).str.strip())
    bad = np.isnat(out) | (out < _FIRST_DAY)
    return out, bad


# Numeric text is read by one unambiguous rule (docs/workbook-contract.md, "Numbers as text"):
# a point is the decimal mark; commas may only group thousands in threes *before a decimal
# point* (1,234.50). Anything else with a comma (29,50 or 1,234 or 1.234,50), spaces inside,
# apostrophes or currency signs could be a decimal comma or a grouping: it is refused, never
# guessed.
PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
GROUPED_NUMBER = r"[+-]?\d{1,3}(?:,\d{3})+\.\d*"
_NUMBER_TEXT = re.compile(rf"(?:{PLAIN_NUMBER}|{GROUPED_NUMBER})")


def parse_number_text(text: str) -> float:
    """A number from text by the documented rule, NaN when the text does not follow it."""
    t = text.strip()
    if not _NUMBER_TEXT.fullmatch(t):
        return np.nan
    return float(t.replace(",", ""))


# ISO 8601 text: the date as written (a time and a zone offset may follow and are ignored: a
# purchase is a day), yyyymmdd and yyyy/mm/dd; read at day precision, so years up to 9999
# (Excel's last) never meet pandas' nanosecond bounds (1677-2262)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                       r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SLASH_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_FIRST_DAY = np.datetime64("1900-01-01", "D")


def _text_days(text: pd.Series) -> np.ndarray:
    """Days of date text (NaT where it is not one of the accepted forms or no such day)."""
    parts = text.str.extract(_ISO_DATE.pattern + r"\Z")
    for pattern in (_COMPACT_DATE, _SLASH_DATE):
        missing = parts[0].isna()
        if missing.any():
            parts[missing] = text[missing].str.extract(pattern.pattern + r"\Z").to_numpy()
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[D]")
    found = parts[0].notna().to_numpy()
    if found.any():
        y, m, d = (parts[k][found].astype(int).to_numpy() for k in range(3))
        ok = (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1)
        months = ((y - 1970) * 12 + (m - 1)).astype("timedelta64[M]")
        first = np.datetime64("1970-01", "M") + months
        days = first.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
        ok &= (days < (first + 1).astype("datetime64[D]")) & (days >= _FIRST_DAY) & \
            (days <= np.datetime64("9999-12-31", "D"))  # a real day inside Excel's dates
        out[np.flatnonzero(found)[ok]] = days[ok]
    return out


def convert_numbers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as float64; numeric text by the rule above; booleans, errors and other text
    rejected."""
    if pd.api.types.infer_dtype(values, skipna=False) in ("floating", "integer",
                                                           "mixed-integer-float"):
        out = np.array(values, dtype=float) if len(values) else np.zeros(0)
        return out, ~np.isfinite(out)
    s = pd.Series(values, dtype=object)
    is_text = s.map(lambda v: v.__class__ is str).to_numpy(dtype=bool)
    is_bool = s.map(lambda v: isinstance(v, bool | ExcelError | UncachedFormula)).to_numpy()
    num = pd.to_numeric(s.where(~is_bool & ~is_text, None), errors="coerce")
    out = np.array(num.to_numpy(dtype=float, na_value=np.nan))  # writable
    if is_text.any():  # distinct texts parsed once each
        text = s[is_text]
        distinct = pd.unique(text.to_numpy())
        parsed = dict(zip(distinct, map(parse_number_text, distinct), strict=True))
        out[is_text] = text.map(parsed).to_numpy(dtype=float)
    bad = ~np.isfinite(out)
    return out, bad


def number_hint(value: object) -> str:
    """Why numeric-looking text was refused, and what to write instead."""
    if isinstance(value, str) and "," in value and re.search(r"\d", value):
        return (" (a comma can be a decimal comma or a thousands separator: store the cell "
                "as a number, or write the text with a decimal point and no separators, e.g. "
                "29.50 or 1234.50)")
    return ""


def _describe(v: object) -> str:
    if isinstance(v, ExcelError):
        return f"error value {v.text}"
    if isinstance(v, UncachedFormula):
        return (f"holds the formula ={v.formula} without a saved value (open and save the "
                "workbook in Excel, or use values); it")
    if isinstance(v, str) and len(v) > 80:  # never echo a whole long value
        return f"{v[:40]!r}... ({len(v):,} characters; a cell holds at most {MAX_CELL_TEXT:,})"
    return repr(v) if isinstance(v, str) else f"{v!r}"


_KIND_NOUN = {"id": "a valid id", "date": "a date", "number": "a number",
              "integer": "a whole number", "text": "usable text"}
_EXPECT = {
    "id": "is not a valid id",
    "date": "is not a date (expected an Excel date, a serial number or ISO text like "
            "2024-03-31)",
    "number": "is not a number",
    "integer": "is not a whole number",
    "text": "is not usable as text",
}


def validate_table(src: RawRange, spec: InputTable) -> tuple[CleanTable | None, list[Problem]]:
    """Validate a raw range against its contract entry; returns the table or the problems."""
    problems: list[Problem] = []
    rows = src.rows
    a = src.area
    if not rows:
        return None, [Problem("range is empty; expected a header row with "
                              + ", ".join(c.name for c in spec.columns if c.required),
                              book=src.book, sheet=a.sheet, cell=a.a1, name=src.name)]
    header = ["" if h is None or isinstance(h, ExcelError) else str(h).strip() for h in rows[0]]
    lookup: dict[str, int] = {}
    for j, h in enumerate(header):
        if h and h.lower() in lookup:  # which of the two would be read? never guess
            problems.append(Problem(
                f"column header '{h}' appears twice (also in "
                f"{cell_ref(a.r0, a.c0 + lookup[h.lower()])}); rename or delete one",
                book=src.book, sheet=a.sheet, cell=cell_ref(a.r0, a.c0 + j), name=src.name))
        elif h:
            lookup[h.lower()] = j
    if problems:
        return None, problems
    positions: dict[str, int] = {}
    for col in spec.columns:
        for candidate in (col.name, *col.aliases):
            if candidate.lower() in lookup:
                positions[col.name] = lookup[candidate.lower()]
                break
        else:
            if col.required:
                found = ", ".join(h for h in header if h) or "nothing"
                problems.append(Problem(
                    f"missing column '{col.name}' in the header row (found: {found})",
                    book=src.book, sheet=a.sheet, cell=f"{cell_ref(a.r0, a.c0)}:"
                    f"{cell_ref(a.r0, a.c0 + len(header) - 1)}", name=src.name))
    if problems:
        return None, problems

    body = rows[1:]
    width = len(header)
    data = np.empty((len(body), width), dtype=object)
    if body and set(map(len, body)) == {width}:
        data[:, :] = body  # rectangular ranges (the readers pad rows): one C-level copy
    else:
        for i, row in enumerate(body):
            data[i, :len(row)] = row[:width]
    columns = [c for c in spec.columns if c.name in positions]
    if spec.extra_kind is not None:  # keep undeclared columns (e.g. indicator values)
        taken = set(positions.values())
        for j, h in enumerate(header):
            if h and j not in taken:
                positions[h] = j
                columns.append(Column(h, spec.extra_kind, required=False))
    # convert whole columns first; blank cells are found among the cells that failed (text
    # columns: the empty results), so clean columns cost no per-cell blank check
    converted: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    blank_rows = np.ones(len(body), bool)
    for col in columns:
        values = data[:, positions[col.name]]
        out, bad = _convert(col, values)
        if col.kind == "text":
            blank = np.asarray(out == "", dtype=bool)
        else:
            blank = np.zeros(len(values), bool)
            idx = np.flatnonzero(bad)
            if idx.size:
                blank[idx] = _is_blank(values[idx])
        converted[col.name] = (out, bad, blank)
        blank_rows &= blank
    # trailing blank rows are the unused end of the range; blank rows inside are an error
    last = np.flatnonzero(~blank_rows)
    n = int(last[-1]) + 1 if len(last) else 0
    inside = np.flatnonzero(blank_rows[:n])
    for i in inside[:MAX_REPORTED]:
        problems.append(_problem(src, a.r0 + 1 + int(i), a.c0,
                                 "blank row inside the table; delete it or fill it"))
    problems += remainder(min(inside.size, MAX_REPORTED), inside.size, "blank rows",
                          "the row is blank inside the table", book=src.book, sheet=a.sheet,
                          name=src.name)
    excel_rows = np.arange(n) + a.r0 + 2
    frame: dict[str, np.ndarray] = {}
    for col in columns:
        j = positions[col.name]
        out, bad, blank = (arr[:n] for arr in converted[col.name])
        missing = blank & ~blank_rows[:n] if col.required else np.zeros(n, bool)
        bad = bad & ~blank
        wrong = np.flatnonzero(missing | bad)  # every bad cell of the column, counted
        for i in wrong[:MAX_REPORTED]:
            v = data[i, j]
            text = f"{col.name} is blank" if missing[i] else \
                f"{col.name} {_describe(v)} {_EXPECT[col.kind]}" + \
                (number_hint(v) if col.kind in ("number", "integer") else "")
            problems.append(replace(_problem(src, int(excel_rows[i]) - 1, a.c0 + j, text),
                                    column=col.name))
        problems += remainder(min(wrong.size, MAX_REPORTED), wrong.size, col.name,
                              f"{col.name} is blank or not {_KIND_NOUN[col.kind]}",
                              book=src.book, sheet=a.sheet, name=src.name)
        frame[col.name] = out
    if problems:
        return None, problems
    out = pd.DataFrame(frame)
    table = CleanTable(out, excel_rows, src, {c: a.c0 + positions[c] for c in out.columns})
    if spec.unique_key and n:
        key = out[spec.unique_key]
        dup = key.duplicated(keep=False).to_numpy()
        twice = np.flatnonzero(dup)
        for i in twice[:MAX_REPORTED]:
            problems.append(_problem(src, int(excel_rows[i]) - 1, a.c0 + positions[spec.unique_key],
                                     f"{spec.unique_key} '{key.iloc[i]}' appears more than once"))
        problems += remainder(min(twice.size, MAX_REPORTED), twice.size, spec.unique_key,
                              f"{spec.unique_key} repeats another row's", book=src.book,
                              sheet=a.sheet, name=src.name)
        if problems:
            return None, problems
    return table, []


def _convert(col: Column, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if col.kind == "id":
        return convert_ids(values)
    if col.kind == "date":
        return convert_dates(values)
    if col.kind in ("number", "integer"):
        out, bad = convert_numbers(values)
        if col.kind == "integer":
            bad |= np.isfinite(out) & (np.floor(out) != out)
        return out, bad
    s = pd.Series(values, dtype=object)
    text = s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                 else str(v).strip())
    bad = s.map(lambda v: isinstance(v, ExcelError | UncachedFormula)).to_numpy(dtype=bool)
    return text.to_numpy(dtype=object), bad
