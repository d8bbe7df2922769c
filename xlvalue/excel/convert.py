"""Translation between Excel ranges (lists of rows) and the core's arrays and frames.

UDFs receive ranges as lists of lists (first row = header where a table is expected) and
return lists of lists with a header row. Errors become one readable string in the cell.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from xlvalue.errors import InputError, ModelError, XlvalueError
from xlvalue.workbook.cells import frame_rows
from xlvalue.workbook.contract import InputTable, setting
from xlvalue.workbook.ooxml import Area
from xlvalue.workbook.reader import RawRange
from xlvalue.workbook.settings import parse_setting
from xlvalue.workbook.validation import number_hint, parse_number_text, validate_table

__all__ = ["ERROR_PREFIX", "REGISTRY", "Cells", "UDFError", "UDFSpec", "as_rows", "column_cells",
           "covariance_from_range",
           "excel_date", "frame_to_cells", "number", "numbers", "params_from_range", "setting_arg",
           "table_from_range", "udf", "is_header", "NO_RESULT"]

ERROR_PREFIX = "#XV! "
Cells = list[list[Any]]


class UDFError(XlvalueError):
    """A worksheet-function argument is wrong; the message goes into the cell."""


@dataclass(frozen=True)
class UDFSpec:
    """What Excel sees of one worksheet function: name, arguments, help."""

    name: str
    func: Callable
    args: tuple[tuple[str, str], ...]  # (argument, description)
    doc: str
    category: str = "xlvalue"
    volatile: bool = False
    extra: dict = field(default_factory=dict)


REGISTRY: dict[str, UDFSpec] = {}


def as_rows(value: Any) -> Cells:
    """Any range value as a list of rows (xlwings gives scalars and 1-D lists for thin ranges)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        if value and not isinstance(value[0], list | tuple):
            return [[v] for v in value]
        if set(map(type, value)) == {list}:
            return list(value)  # rows are not modified downstream: no per-row copies
        return [list(r) for r in value]
    return [[value]]


def table_from_range(value: Any, spec: InputTable, argument: str) -> pd.DataFrame:
    """Validate a range with a header row against a contract table; errors name the row."""
    rows = as_rows(value)
    if rows:  # empty header cells are '' (data cells may stay None: validation knows blanks)
        rows[0] = ["" if c is None else c for c in rows[0]]
    width = max(map(len, rows), default=0)
    area = Area(argument, 0, 0, max(len(rows) - 1, 0), max(width - 1, 0))
    table, problems = validate_table(RawRange(argument, "", area, rows), spec)
    if problems:
        p = problems[0]
        total = sum(q.count for q in problems)  # summaries stand for many problems
        more = f" (+{total - 1:,} more)" if total > 1 else ""
        raise UDFError(f"{argument} {p.cell}: {p.message}{more}")
    assert table is not None
    return table.frame


_HEADER = re.compile(r"[^\W\d][\w .()/%#:'-]*")  # starts with a letter (any script)
_NOT_HEADERS = {"nan", "inf", "infinity", "na", "n/a", "none", "null", "true", "false"}


def is_header(v: Any) -> bool:
    """A first cell that labels a column: text starting with a letter, not a number and not
    a placeholder of one ('nan', 'n/a', ...). Anything else in a first cell is data, checked
    like the rest, so '12,5' is refused rather than dropped as a header."""
    return isinstance(v, str) and bool(_HEADER.fullmatch(v.strip())) and \
        v.strip().lower() not in _NOT_HEADERS


def numbers(value: Any, argument: str, allow_empty: bool = False) -> np.ndarray:
    """A column or row of finite numbers (a first cell that is a header label is skipped;
    numeric text is read by the workbook contract's rule, so '29,50' and 'nan' are refused)."""
    flat = [c for row in as_rows(value) for c in row]
    if len(flat) > 1 and is_header(flat[0]):  # a lone text is a wrong value, not a header
        flat = flat[1:]
    out = np.empty(len(flat))
    for i, v in enumerate(flat):
        x = _number_of(v)
        if x is None:
            raise UDFError(f"{argument} item {i + 1}: {v!r} is not a number"
                           + number_hint(v))
        if not np.isfinite(x):
            raise UDFError(f"{argument} item {i + 1}: {v!r} is not a finite number")
        out[i] = x
    if not allow_empty and len(out) == 0:
        raise UDFError(f"{argument} is empty")
    return out


def _number_of(v: Any) -> float | None:
    """A cell's number: numbers as they are, text by the contract's rule, else None."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float | np.number):
        return float(v)
    if isinstance(v, str):
        x = parse_number_text(v)
        return None if np.isnan(x) else x
    return None


def _is_number(v: Any) -> bool:
    x = _number_of(v)
    return x is not None and bool(np.isfinite(x))


def number(value: Any, argument: str, default: float | None = None) -> float:
    if value is None or value == "":
        if default is None:
            raise UDFError(f"{argument} is required")
        return default
    arr = numbers(value, argument)
    if arr.size != 1:
        raise UDFError(f"{argument} must be a single number")
    return float(arr[0])


def setting_arg(value: Any, key: str, argument: str) -> Any:
    """An optional argument that is a workbook setting (xv_Settings `key`): its default, type,
    range and choices come from the contract, errors name the argument."""
    if isinstance(value, list | tuple):
        flat = [c for row in as_rows(value) for c in row]
        if len(flat) != 1:
            raise UDFError(f"{argument} must be a single cell")
        value = flat[0]
    parsed, error = parse_setting(replace(setting(key), key=argument), value)
    if error:
        raise UDFError(error)
    return parsed


def params_from_range(value: Any, names: tuple[str, ...], argument: str) -> dict[str, float]:
    """Model parameters from a fit output (parameter | estimate ...) or a row of numbers."""
    rows = as_rows(value)
    found: dict[str, float] = {}
    for row in rows:
        if len(row) >= 2 and isinstance(row[0], str) and row[0] in names and _is_number(row[1]):
            if row[0] in found and found[row[0]] != float(row[1]):
                raise UDFError(f"{argument} holds '{row[0]}' twice (e.g. both fits of "
                               "xv_out_Models); pass the rows of one fit (the one its fit "
                               "column says is used for CLV)")
            found[row[0]] = float(row[1])
    if len(found) == len(names):
        return found
    flat = [c for r in rows for c in r if _is_number(c)]
    if len(flat) == len(names):
        return dict(zip(names, map(float, flat), strict=True))
    raise UDFError(f"{argument}: expected the parameters {', '.join(names)} (the output of the "
                   "fit function, or the numbers in that order)")


def covariance_from_range(value: Any, names: tuple[str, ...]) -> np.ndarray | None:
    """The parameters' covariance from a fit output's cov_<name> columns (None without them)."""
    rows = as_rows(value)
    header = next((r for r in rows if r and r[0] == "parameter"), None)
    if header is None or not all(f"cov_{n}" in header for n in names):
        return None
    cols = [header.index(f"cov_{n}") for n in names]
    by_name = {r[0]: r for r in rows if r and isinstance(r[0], str) and r[0] in names}
    if len(by_name) != len(names):
        return None
    try:
        return np.array([[float(by_name[a][c]) for c in cols] for a in names])
    except (TypeError, ValueError, IndexError):
        return None


def frame_to_cells(frame: pd.DataFrame) -> Cells:
    """Header row plus values (workbook.cells.frame_rows: NaN/inf empty, dates as datetimes)."""
    return [[str(c) for c in frame.columns], *frame_rows(frame)]


NO_RESULT = ERROR_PREFIX + "no result for this row (not a finite number); check its inputs"


def column_cells(values: np.ndarray, header: str | None = None) -> Cells:
    """A result column (one value per input row); a NaN/inf result is a readable error in its
    cell, never a blank that looks like a value."""
    body = [[float(v) if np.isfinite(v) else NO_RESULT] for v in np.asarray(values, dtype=float)]
    return ([[header]] if header else []) + body


def excel_date(value: Any, argument: str) -> np.datetime64 | None:
    """An optional single date argument (Excel date, serial or ISO text)."""
    from xlvalue.workbook.validation import convert_dates

    rows = as_rows(value) if isinstance(value, list | tuple) else [[value]]
    if len(rows) == 1 and len(rows[0]) == 1:  # a 1x1 range arrives as [[v]]
        value = rows[0][0]
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date | int | float | str):
        out, bad = convert_dates(np.array([value], dtype=object))
        if not bad[0]:
            return out[0]
    raise UDFError(f"{argument} {value!r} is not a date")


def _summary(func: Callable) -> str:
    """A function's help line: the first paragraph of its docstring, on one line (a summary
    that wraps onto a second docstring line is not cut mid-sentence)."""
    first = (func.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in first.splitlines())


def _arity(name: str, params: list[inspect.Parameter], args: tuple, kwargs: dict) -> str:
    """What is wrong with the number of arguments of a call ('' when nothing): a formula
    that leaves out a required argument, or passes too many (Excel's wrappers pass every
    argument; `xlvalue eval` and Lite pass what the formula holds)."""
    if len(args) > len(params):
        return f"{name} takes at most {len(params)} arguments, got {len(args)}"
    for i, p in enumerate(params):
        if p.default is inspect.Parameter.empty and i >= len(args) and p.name not in kwargs:
            return f"{name} needs {p.name} (argument {i + 1})"
    return ""


def udf(name: str, category: str = "xlvalue", **arg_docs: str):
    """Register a worksheet function: errors become '#XV! ...' text, never a traceback."""

    def wrap(func: Callable) -> Callable:
        params = list(inspect.signature(func).parameters.values())

        @functools.wraps(func)
        def safe(*args, **kwargs):
            wrong = _arity(name, params, args, kwargs)
            if wrong:
                return [[ERROR_PREFIX + wrong]]
            try:
                return func(*args, **kwargs)
            except UDFError as exc:
                return [[ERROR_PREFIX + str(exc)]]
            except (InputError, ModelError, XlvalueError) as exc:
                return [[ERROR_PREFIX + str(exc).splitlines()[0]]]
            except Exception as exc:  # the cell shows one line, not a traceback
                return [[ERROR_PREFIX + f"internal error: {type(exc).__name__}: {exc}"]]

        safe.__wrapped_core__ = func  # type: ignore[attr-defined]
        REGISTRY[name] = UDFSpec(name, safe, tuple(arg_docs.items()), _summary(func), category)
        return safe

    return wrap
