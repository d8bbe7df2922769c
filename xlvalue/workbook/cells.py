"""How values become Excel cells, said once for every writer.

The OOXML writer (sheetxml), the xlwings adapter and the worksheet functions all show output
frames; this module holds the rules they share: the Excel date epoch, the error codes, the kind
of each output column (hence its number format, the percent rule included) and the conversion
of a frame to Python cell values (NaN, NaT, inf and empty text become empty cells, dates whole days).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

__all__ = ["CELL_KINDS", "EXCEL_EPOCH", "EXCEL_ERROR_CODES", "FORMATS",
           "MAX_CELL_TEXT", "NUMBER_FORMATS", "NUMERIC_KINDS", "PERCENT_COLUMNS", "CellKind",
           "ColumnFormat", "NumberFormat", "blank_text", "column_kind", "column_kinds",
           "column_values", "days_from_serial", "frame_rows", "is_excel_error",
           "is_percent_column", "numbers_of", "row_values", "serial_from_days", "summary_kind"]

# Day 0 of Excel's 1900 date system as serial numbers count it (serial 1 = 1900-01-01; the
# phantom 1900-02-29 makes every later serial match this epoch).
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")

_MARCH_1900 = np.datetime64("1900-03-01", "D")
_JAN_1900 = np.datetime64("1900-01-01", "D")
MAX_CELL_TEXT = 32_767  # characters an Excel cell holds


def serial_from_days(days: np.ndarray) -> np.ndarray:
    """Excel serial numbers of datetime64[D] days, with Excel's phantom 1900-02-29: days
    before 1900-03-01 count from 1899-12-31 (1900-01-01 is serial 1), later ones from
    EXCEL_EPOCH. NaT and days before 1900-01-01 (no serial exists) become NaN."""
    days = np.asarray(days, dtype="datetime64[D]")
    serial = (days - EXCEL_EPOCH).astype(np.int64).astype(float)
    serial = np.where(days < _MARCH_1900, serial - 1, serial)
    return np.where(np.isnat(days) | (days < _JAN_1900), np.nan, serial)


def days_from_serial(serial: np.ndarray) -> np.ndarray:
    """Days (datetime64[D]) of whole Excel serial numbers (the inverse of serial_from_days):
    serials 1-59 are 1900-01-01..1900-02-28, 60 is the phantom 1900-02-29 (NaT: no such day),
    from 61 on EXCEL_EPOCH + serial. Serials below 1 are NaT."""
    whole = np.floor(np.nan_to_num(np.asarray(serial, dtype=float), nan=-1.0))
    whole = np.clip(whole, -1, 2_958_465).astype(np.int64)
    days = EXCEL_EPOCH + np.where(whole < 60, whole + 1, whole).astype("timedelta64[D]")
    return np.where((whole < 1) | (whole == 60), np.datetime64("NaT", "D"), days)


# Every error value Excel shows in a cell (the dynamic-array ones included).
EXCEL_ERROR_CODES: frozenset[str] = frozenset({
    "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
    "#GETTING_DATA"})

CellKind = Literal["bool", "date", "integer", "number", "percent", "share", "pct", "text"]
# numeric kinds: written as numbers (right-aligned), each with its number format
NUMERIC_KINDS: frozenset[str] = frozenset({"integer", "number", "percent", "share", "pct"})


@dataclass(frozen=True)
class NumberFormat:
    """How a kind of cell shows its number: the format code (xlwings sets it as it is) and,
    where Excel has it built in, its numFmtId (the OOXML writer's cell styles use it; a code
    without one is appended to the workbook's styles.xml as a custom format)."""

    code: str
    builtin_id: int | None = None


# The one table of number formats. Values are never changed for showing: a share stays
# 0.663 (shown 66.3%), a pct stays 66.3 (already in percent units, shown 66.3%).
FORMATS: dict[str, NumberFormat] = {
    "integer": NumberFormat("#,##0", 3),  # counts, whole amounts: no decimals
    "number": NumberFormat("#,##0.00", 4),  # amounts
    "percent": NumberFormat("0.00%", 10),  # rates and margins stored as fractions
    "share": NumberFormat("0.0%"),  # shares and probabilities stored 0..1: 0.663 -> 66.3%
    "pct": NumberFormat('0.0"%"'),  # percentages stored 0..100: 66.3 -> 66.3%
    "date": NumberFormat("yyyy-mm-dd", 14),  # built-in 14 shows the reader's short date
}
# kind -> format code (what xlwings sets), derived from FORMATS
NUMBER_FORMATS: dict[str, str] = {k: f.code for k, f in FORMATS.items()}
# What a block may declare for a column: its kind, or one kind per data row (a long-format
# column mixing counts, amounts, shares and text, such as the headline's value column).
ColumnFormat = CellKind | Sequence[CellKind]


def is_excel_error(value: Any) -> bool:
    """Whether a cell value is the text of an Excel error (#N/A, #DIV/0!, ...)."""
    return isinstance(value, str) and value in EXCEL_ERROR_CODES


# rates and margins of the outputs (fractions), shown as percentages too
PERCENT_COLUMNS = frozenset({"margin_rate", "revenue_margin_fac", "cost_margin_fac",
                             "revenue_margin_incremental", "cost_margin_incremental"})


def is_percent_column(name: str) -> bool:
    """Shares and cumulative shares are shown as percentages."""
    return name.startswith("share") or name.endswith("_share") or name.startswith("cumulative") \
        or name in PERCENT_COLUMNS


def column_kind(values: pd.Series, name: str) -> CellKind:
    """The kind of cell an output column is written as, from its dtype and name."""
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_numeric_dtype(values):
        if pd.api.types.is_integer_dtype(values):
            return "integer"
        if is_percent_column(name):
            return "percent"
        return "integer" if _whole_numbers(values) else "number"
    return "text"


def _whole_numbers(values: pd.Series) -> bool:
    """A float column holding whole numbers only (stage 1, 236 customers): no decimals."""
    x = values.to_numpy(dtype=float, na_value=np.nan)
    x = x[np.isfinite(x)]
    return x.size > 0 and bool(np.all(x == np.round(x))) and bool(np.all(np.abs(x) < 1e15))


CELL_KINDS: tuple[str, ...] = get_args(CellKind)


def column_kinds(frame: pd.DataFrame, formats: Mapping[str, ColumnFormat] | None = None,
                 block: str = "") -> list[CellKind | tuple[CellKind, ...]]:
    """Each column's kind: the one `formats` declares (a kind, or a tuple of one kind per data
    row), else the guess from its dtype and name (column_kind). A declaration that names no
    column of the frame, an unknown kind or a per-row list of the wrong length is a
    programming error of the block's spec (ValueError naming the block)."""
    formats = formats or {}
    names = [str(c) for c in frame.columns]
    for col, declared in formats.items():
        if col not in names:
            raise ValueError(f"block {block}: formats name column {col!r}, which it does not have")
        kinds = (declared,) if isinstance(declared, str) else tuple(declared)
        bad = sorted({k for k in kinds if k not in CELL_KINDS})
        if bad:
            raise ValueError(f"block {block}: column {col}: unknown cell kind(s) {bad} "
                             f"(one of {', '.join(CELL_KINDS)})")
        if not isinstance(declared, str) and len(kinds) != len(frame):
            raise ValueError(f"block {block}: column {col} declares {len(kinds)} row kinds "
                             f"for {len(frame)} data rows")
    out: list[CellKind | tuple[CellKind, ...]] = []
    for j, name in enumerate(names):
        declared = formats.get(name)
        if declared is None:
            out.append(column_kind(frame.iloc[:, j], name))
        elif isinstance(declared, str):
            out.append(declared)  # type: ignore[arg-type]
        else:
            out.append(tuple(declared))
    return out


def summary_kind(kind: CellKind | Sequence[CellKind]) -> CellKind:
    """One kind for a whole column (its header's alignment, its indent, its wrapping): a
    column's own kind, or for per-row kinds the rows' common kind, "number" when every row
    is numeric (right-aligned like them), else "text"."""
    if isinstance(kind, str):
        return kind  # type: ignore[return-value]
    found = set(kind)
    if len(found) == 1:
        return next(iter(found))  # type: ignore[return-value]
    return "number" if found and found <= NUMERIC_KINDS else "text"


def numbers_of(values: pd.Series, kind: str = "number", what: str = "") -> np.ndarray:
    """The values of a numeric column as floats (NaN for blanks). Text that is no number in a
    column or row declared numeric is a programming error of the block's spec (ValueError)."""
    try:
        return values.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        pass
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lost = np.isnan(x) & ~blank_text(values) & ~pd.isna(values).to_numpy(dtype=bool)
    if lost.any():
        i = int(np.flatnonzero(lost)[0])
        raise ValueError(f"{what or 'column'}: row {i + 1} holds {values.iloc[i]!r}, declared "
                         f"{kind} (a number)")
    return x


def column_values(values: pd.Series, kind: CellKind | Sequence[CellKind],
                  text: Callable[[str], Any] | None = None) -> list[Any]:
    """Python cell values of one column: None for blank, NaN, NaT and inf; numbers as float;
    dates as datetimes of whole days; everything else as text (passed through `text`).
    `kind` may give one kind per row (row_values)."""
    if not isinstance(kind, str):
        return row_values(values, kind, text)
    if kind == "bool":
        obj = values.to_numpy(dtype=object)
        return [None if v is None or v is pd.NA else bool(v) for v in obj]
    if kind == "date":
        days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
        return days.astype("datetime64[us]").astype(object).tolist()  # NaT -> None
    if kind in NUMERIC_KINDS:
        x = numbers_of(values, kind, str(values.name))
        obj = x.astype(object)
        obj[~np.isfinite(x)] = None
        return obj.tolist()
    blank = blank_text(values)
    strings = np.where(blank, None, values.astype(str).to_numpy(dtype=object))
    if text is not None:
        strings[~blank] = [text(v) for v in strings[~blank]]
    return strings.tolist()


def row_values(values: pd.Series, kinds: Sequence[CellKind],
               text: Callable[[str], Any] | None = None) -> list[Any]:
    """Python cell values of a column with one kind per row: each group of rows of one kind
    converted as column_values converts a column of that kind."""
    kinds_arr = np.asarray(list(kinds), dtype=object)
    out = np.empty(len(values), dtype=object)
    v = values.reset_index(drop=True)
    for kind in dict.fromkeys(kinds_arr.tolist()):
        rows = np.flatnonzero(kinds_arr == kind)
        out[rows] = column_values(v.iloc[rows], kind, text)
    return out.tolist()


def blank_text(values: pd.Series) -> np.ndarray:
    """Where a text column has no cell: missing values and empty text (Excel keeps no cell
    for an empty string either, so every writer shows the same)."""
    return (values.isna() | (values.astype(str) == "")).to_numpy(dtype=bool)


def frame_rows(frame: pd.DataFrame, text: Callable[[str], Any] | None = None,
               kinds: Sequence[CellKind | Sequence[CellKind]] | None = None) -> list[list[Any]]:
    """The data rows of a frame as Python cell values (no header), column by column: each
    column as its kind in `kinds` (column_kinds: declared or guessed), else as guessed."""
    cols = []
    for j, name in enumerate(frame.columns):
        values = frame.iloc[:, j]
        kind = kinds[j] if kinds is not None else column_kind(values, str(name))
        cols.append(column_values(values, kind, text))
    return [list(r) for r in zip(*cols, strict=True)] if cols else []
