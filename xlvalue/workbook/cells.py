"""How values become Excel cells, said once for every writer.

The OOXML writer (sheetxml), the xlwings adapter and the worksheet functions all show output
frames; this module holds the rules they share: the Excel date epoch, the error codes, the kind
of each output column (hence its number format, the percent rule included) and the conversion
of a frame to Python cell values (NaN, NaT, inf and empty text become empty cells, dates whole days).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["BUILTIN_FORMAT_IDS", "EXCEL_EPOCH", "EXCEL_ERROR_CODES", "MAX_CELL_TEXT",
           "NUMBER_FORMATS", "PERCENT_COLUMNS", "CellKind", "blank_text", "column_kind",
           "column_values", "days_from_serial", "frame_rows", "is_excel_error",
           "is_percent_column", "serial_from_days"]

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

CellKind = Literal["bool", "date", "integer", "number", "percent", "text"]

# Number format of each kind: as a format code (xlwings) and as the built-in numFmtId that
# the OOXML writer's cell styles use (3 = #,##0, 4 = #,##0.00, 10 = 0.00%, 14 = short date).
NUMBER_FORMATS: dict[str, str] = {"integer": "#,##0", "number": "#,##0.00", "percent": "0.00%",
                                  "date": "yyyy-mm-dd"}
BUILTIN_FORMAT_IDS: dict[str, int] = {"integer": 3, "number": 4, "percent": 10, "date": 14}


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


def column_values(values: pd.Series, kind: CellKind,
                  text: Callable[[str], Any] | None = None) -> list[Any]:
    """Python cell values of one column: None for blank, NaN, NaT and inf; numbers as float;
    dates as datetimes of whole days; everything else as text (passed through `text`)."""
    if kind == "bool":
        obj = values.to_numpy(dtype=object)
        return [None if v is None or v is pd.NA else bool(v) for v in obj]
    if kind == "date":
        days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
        return days.astype("datetime64[us]").astype(object).tolist()  # NaT -> None
    if kind in ("integer", "number", "percent"):
        x = values.to_numpy(dtype=float, na_value=np.nan)
        obj = x.astype(object)
        obj[~np.isfinite(x)] = None
        return obj.tolist()
    blank = blank_text(values)
    strings = np.where(blank, None, values.astype(str).to_numpy(dtype=object))
    if text is not None:
        strings[~blank] = [text(v) for v in strings[~blank]]
    return strings.tolist()


def blank_text(values: pd.Series) -> np.ndarray:
    """Where a text column has no cell: missing values and empty text (Excel keeps no cell
    for an empty string either, so every writer shows the same)."""
    return (values.isna() | (values.astype(str) == "")).to_numpy(dtype=bool)


def frame_rows(frame: pd.DataFrame, text: Callable[[str], Any] | None = None) -> list[list[Any]]:
    """The data rows of a frame as Python cell values (no header), column by column."""
    cols = []
    for j, name in enumerate(frame.columns):
        values = frame.iloc[:, j]
        cols.append(column_values(values, column_kind(values, str(name)), text))
    return [list(r) for r in zip(*cols, strict=True)] if cols else []
