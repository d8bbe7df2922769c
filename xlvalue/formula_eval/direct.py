"""The fast path of `xlvalue eval`: an XV_ formula whose arguments are literals and ranges of
constants is computed by calling its Python function directly, without the `formulas` engine.

Why: `formulas` builds a Python node per cell it reads; `=XV_RFM(Transactions!A1:C6920)` in
the demo workbook read 20,761 cells and took ~20 s, nearly all of it in that model. Constant
cells need no engine: their values are read with calamine and handed to the function exactly
as `formulas` hands them (so results equal the engine's to the bit):

- a date or time is its Excel serial (openpyxl's to_excel: an int for a date, a float for a
  date-time), as `formulas` reads dates raw;
- a number goes through the text a workbook stores ("%.16g"): integral values become ints,
  other floats are rounded to 15 decimals (formulas' compile_cell);
- blanks and empty strings are None; text (ids like "00123") stays text; booleans stay;
  text that the engine's copy would store as an error code ("#N/A") or a formula ("=x")
  is left to the engine.

A formula is taken directly only when it is one XV_ call whose arguments are number, text or
boolean literals, or references (cells, ranges, whole columns, workbook-level defined names)
whose cells are constants or lie inside the result of another XV_ formula computed directly.
A whole column (A:C) is all 1,048,576 rows of it, as the engine hands it.
Anything else (an ordinary formula in a range, nested functions, operators, whole
rows (2:3), an array-formula range of a shape whose filling `formulas` decides differently)
is left to the engine (which also recomputes the XV_ formulas such a formula reads).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils import range_boundaries
from openpyxl.utils.datetime import to_excel

from xlvalue.errors import InputError, Problem

__all__ = ["MAX_EVAL_RANGE_CELLS", "DirectCall", "as_engine_sees", "direct_results",
           "fill_array_range", "parse_call", "range_values"]

MAX_ROW = 1_048_576  # a whole column (A:C) is that many rows, blanks included, as in Excel
# the cells one reference may hand a function: every one becomes a Python value (a whole
# column is a million of them), so A:XFD would exhaust memory (SECURITY.md)
MAX_EVAL_RANGE_CELLS = int(os.environ.get("XLVALUE_MAX_EVAL_RANGE_CELLS", 20_000_000))
NUMBER = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:E[+-][0-9]+)?$", re.I)


@dataclass(frozen=True)
class DirectCall:
    """One XV_ call: its function name and arguments, each ('value', literal) or
    ('range', sheet, (min_col, min_row, max_col, max_row)); rows and columns 1-based."""

    name: str
    args: tuple[tuple, ...]


def parse_call(text: str, sheet: str, names: dict[str, list[tuple[str, str]]],
               known: Callable[[str], bool]) -> DirectCall | None:
    """The call of a normalised formula ('=XV_X(arg, ...)'), or None when it is anything
    but one XV_ call over literals and bounded references."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    try:
        tokens = [t for t in Tokenizer(text).items if t.type != Token.WSPACE]
    except Exception:
        return None
    if len(tokens) < 2 or tokens[0].type != Token.FUNC or tokens[0].subtype != Token.OPEN:
        return None
    if tokens[-1].type != Token.FUNC or tokens[-1].subtype != Token.CLOSE:
        return None
    name = tokens[0].value[:-1].upper()
    if not name.startswith("XV_") or not known(name):
        return None
    body = tokens[1:-1]
    if not body:
        return DirectCall(name, ())
    args: list[tuple] = []
    for i, t in enumerate(body):
        if i % 2:  # every other token separates two arguments
            if t.type != Token.SEP or t.subtype != Token.ARG:
                return None
            continue
        arg = _argument(t, sheet, names)
        if arg is None:
            return None
        args.append(arg)
    if len(body) % 2 == 0:  # a trailing separator: an omitted last argument
        return None
    return DirectCall(name, tuple(args))


def _argument(t, sheet: str, names: dict[str, list[tuple[str, str]]]) -> tuple | None:
    from openpyxl.formula.tokenizer import Token

    if t.type != Token.OPERAND:
        return None
    if t.subtype == Token.NUMBER:
        text = t.value
        if not NUMBER.match(text) or re.match(r"0[0-9]", text):  # `formulas` refuses 007
            return None
        return ("value", float(text) if re.search(r"[.eE]", text) else int(text))
    if t.subtype == Token.TEXT:
        return ("value", t.value[1:-1].replace('""', '"'))
    if t.subtype == Token.LOGICAL:
        return ("value", t.value.upper() == "TRUE")
    if t.subtype != Token.RANGE:
        return None
    ref = t.value
    if ref.lower() in names:
        target, area = names[ref.lower()][0]
    else:
        where, _, area = ref.rpartition("!")
        target = where.strip("'").replace("''", "'") if where else sheet
        if where.startswith("[") or "[" in where:  # another workbook
            return None
    try:
        bounds = range_boundaries(area.replace("$", ""))
    except (ValueError, TypeError):
        return None
    if bounds[1] is None and bounds[3] is None and None not in (bounds[0], bounds[2]):
        bounds = (bounds[0], 1, bounds[2], MAX_ROW)  # whole columns: the engine hands all rows
    if any(b is None for b in bounds):  # whole rows: left to the engine
        return None
    return ("range", target, bounds)


def as_engine_sees(v: Any) -> Any:
    """A calamine cell value as `formulas` hands it to a function (see the module doc);
    raises ValueError for a value the fast path does not translate."""
    if v is None or isinstance(v, str) and v == "":
        return None
    if isinstance(v, str) and (v in ERROR_CODES or v.startswith("=")):
        raise ValueError(v)  # the engine's copy stores these as an error or a formula
    if isinstance(v, bool | str):
        return v
    if isinstance(v, dt.datetime | dt.date | dt.time | dt.timedelta):
        v = to_excel(v)
    if isinstance(v, int | float):
        if not np.isfinite(v):
            raise ValueError(v)
        text = f"{v:.16g}"  # openpyxl's safe_string, read back by openpyxl's _cast_number
        if "." in text or "e" in text or "E" in text:
            return round(float(text), 15)
        return int(text)
    raise ValueError(v)


def range_values(grid: list[list[Any]], bounds: tuple[int, int, int, int],
                 override: dict[tuple[int, int], Any]) -> list[list[Any]]:
    """The cells of a bounded range as `formulas` gives them: rows of translated values,
    blanks beyond the data as None; cells in `override` (direct results) win."""
    c0, r0, c1, r1 = bounds
    out = []
    last = max(len(grid), max((r for r, _c in override), default=0))
    for r in range(r0, r1 + 1):
        if r > last:  # below the data: blank rows (a whole column has a million of them)
            out.extend([None] * (c1 - c0 + 1) for _ in range(r1 - r + 1))
            break
        row = grid[r - 1] if r <= len(grid) else []
        if override:
            out.append([override[(r, c)] if (r, c) in override else
                        as_engine_sees(row[c - 1]) if c <= len(row) else None
                        for c in range(c0, c1 + 1)])
        else:
            out.append([as_engine_sees(row[c - 1]) if c <= len(row) else None
                        for c in range(c0, c1 + 1)])
    return out


def fill_array_range(result: np.ndarray, rows: int, cols: int) -> np.ndarray | None:
    """The values of an array formula over rows x cols as `formulas` (and Excel) fill them
    from a result no larger: a single row or column repeated across the range, cells beyond
    a longer result #N/A. None when the result is larger than the range in either direction
    (the engine has its own rules for cutting it: it computes those)."""
    r, c = result.shape
    if r > rows or c > cols:
        return None
    if (r, c) == (rows, cols):
        return result
    out = np.full((rows, cols), "#N/A", dtype=object)
    out[: rows if r == 1 else r, : cols if c == 1 else c] = result
    return out


Key = tuple[str, str]  # (sheet title, anchor cell)
Bounds = tuple[int, int, int, int]  # min_col, min_row, max_col, max_row (1-based)


def _meets(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@dataclass
class _Formula:
    key: Key
    region: Bounds  # the array range, or the anchor alone for a plain formula
    xv: bool
    array: bool


def direct_results(cells: list[tuple[str, str, str]],
                   found: dict[str, dict[str, tuple[str, str | None]]],
                   names: dict[str, list[tuple[str, str]]],
                   normalise: Callable[[str, str, str], str],
                   grid: Callable[[str], list[list[Any]]],
                   udf: Callable[[str], Callable | None],
                   say: Callable[[str], None] = lambda _m: None, book: str = ""
                   ) -> dict[Key, np.ndarray]:
    """The XV_ cells computed without the engine: (sheet, anchor) -> the values of the cells
    the formula fills (its array range, or its result for a plain formula, spilled or not).

    Formulas are taken in dependency order: one reading the result of another XV_ formula
    waits for it; one reading an ordinary formula, or anything the engine computes, is left
    to the engine (see the module doc)."""
    titles = {name.lower(): name for name in found}
    formulas: dict[str, list[_Formula]] = {}
    for sheet, cells_ in found.items():
        for coord, (text, ref) in cells_.items():
            region = range_boundaries(ref.split("!")[-1].replace("$", "") if ref else coord)
            formulas.setdefault(sheet, []).append(
                _Formula((sheet, coord), region, bool(_xv(text)), bool(ref)))
    calls: dict[Key, DirectCall | None] = {}
    for sheet, coord, text in cells:
        call = parse_call(normalise(sheet, coord, text), sheet, names,
                          lambda n: udf(n) is not None)
        for arg in call.args if call else ():
            size = (arg[2][2] - arg[2][0] + 1) * (arg[2][3] - arg[2][1] + 1) if arg[0] == "range" \
                else 0
            if size > MAX_EVAL_RANGE_CELLS:
                raise InputError(Problem(
                    f"a reference covers {size:,} cells, more than the {MAX_EVAL_RANGE_CELLS:,} "
                    "`eval` hands a function (XLVALUE_MAX_EVAL_RANGE_CELLS): use a range that "
                    "ends with the data (e.g. A1:C7000) or fewer whole columns",
                    book=book, sheet=sheet, cell=coord))
        calls[(sheet, coord)] = call
    arrays = {f.key: f for fs in formulas.values() for f in fs}
    done: dict[Key, np.ndarray] = {}
    inexact: set[Key] = set()
    engine = {k for k, c in calls.items() if c is None}
    reads: dict[Key, list[tuple[str, Bounds]]] = {}
    pending = [k for k in calls if k not in engine]
    while pending:
        progressed = False
        for key in list(pending):
            call = calls[key]
            state = _ready(call, titles, formulas, done, engine)
            if state == "wait":
                continue
            pending.remove(key)
            progressed = True
            if state == "engine":
                engine.add(key)
                continue
            size = sum((a[2][2] - a[2][0] + 1) * (a[2][3] - a[2][1] + 1) for a in call.args
                       if a[0] == "range")
            say(f"{key[0]}!{key[1]}: {call.name}" + (f" over {size:,} cell(s)" if size else ""))
            result = _compute(key, call, titles, grid, udf, done, arrays, inexact)
            if result is None:
                engine.add(key)
                continue
            done[key] = result
            reads[key] = [(titles[a[1].lower()], a[2]) for a in call.args if a[0] == "range"]
        if not progressed:  # a cycle: the engine reports it
            engine.update(pending)
            break
    # a plain formula's spill is known only once computed: a reader of the cells it may
    # fill (computed here before it, or by the engine) goes to the engine too
    while True:
        spills = [(k, _spill_area(k, done.get(k))) for k in calls
                  if not arrays[k].array and (k in engine or done[k].shape != (1, 1)
                                              and not _blocked(k, done[k], grid))]
        bad = [k for k, ranges in reads.items() if k in done and any(
            s[0] == sheet and s != k and _meets(area, b) and not _only_anchor(b, area)
            for sheet, b in ranges for s, area in spills)]
        bad += [k for k, ranges in reads.items() if k in done and any(
            dep in engine for dep in _deps(ranges, formulas))]
        if not bad:
            break
        for k in bad:
            done.pop(k, None)
            engine.add(k)
    return done


def _xv(text: str) -> bool:
    return re.search(r"\bXV_[A-Z_]+\s*\(", text, re.I) is not None


def _spill_area(key: Key, result: np.ndarray | None) -> Bounds:
    """The cells a plain formula may fill: its result's, or every cell right of and below
    its anchor when the engine computes it."""
    c0, r0, _, _ = range_boundaries(key[1])
    if result is None:
        return (c0, r0, 16_384, 1_048_576)
    return (c0, r0, c0 + result.shape[1] - 1, r0 + result.shape[0] - 1)


def _blocked(key: Key, result: np.ndarray, grid: Callable[[str], list[list[Any]]]) -> bool:
    """A plain formula's spill is blocked by a cell that is not empty (Excel: #SPILL!); it
    then fills its anchor alone (the test evaluate._blocked_spills makes too)."""
    c0, r0, c1, r1 = _spill_area(key, result)
    rows = grid(key[0])
    return any(rows[r - 1][c - 1] not in ("", None)
               for r in range(r0, min(r1, len(rows)) + 1)
               for c in range(c0, min(c1, len(rows[r - 1])) + 1) if (r, c) != (r0, c0))


def _only_anchor(read: Bounds, area: Bounds) -> bool:
    """True when a read range meets a spill area in its anchor cell alone (the reader then
    depends on the anchor's 1x1 value, handled as a dependency)."""
    anchor = (area[0], area[1], area[0], area[1])
    return (max(read[0], area[0]), max(read[1], area[1]), min(read[2], area[2]),
            min(read[3], area[3])) == anchor


def _deps(ranges: list[tuple[str, Bounds]], formulas: dict[str, list[_Formula]]) -> list[Key]:
    return [f.key for sheet, b in ranges for f in formulas.get(sheet, []) if _meets(f.region, b)]


def _ready(call: DirectCall, titles: dict[str, str], formulas: dict[str, list[_Formula]],
           done: dict[Key, np.ndarray], engine: set[Key]) -> str:
    """'go' when every cell the call reads is a constant or a computed XV_ result, 'wait'
    while an XV_ formula it reads is still to be computed here, else 'engine'."""
    waiting = False
    for arg in call.args:
        if arg[0] != "range":
            continue
        title = titles.get(arg[1].lower())
        if title is None:
            return "engine"
        for f in formulas.get(title, []):
            if not _meets(f.region, arg[2]):
                continue
            if not f.xv or f.key in engine:
                return "engine"
            if f.key not in done:
                waiting = True
            elif not f.array and done[f.key].shape != (1, 1):
                return "engine"
    return "wait" if waiting else "go"


def _compute(key: Key, call: DirectCall, titles: dict[str, str],
             grid: Callable[[str], list[list[Any]]], udf: Callable[[str], Callable | None],
             done: dict[Key, np.ndarray], arrays: dict[Key, _Formula], inexact: set[Key]
             ) -> np.ndarray | None:
    """The values of the cells the call fills (None: left to the engine)."""
    values = []
    for arg in call.args:
        if arg[0] == "value":
            values.append(arg[1])
            continue
        title = titles[arg[1].lower()]
        override: dict[tuple[int, int], Any] = {}
        for dep, out in done.items():
            region = arrays[dep].region
            if dep[0] != title or not _meets(region, arg[2]):
                continue
            if dep in inexact:  # padded or repeated: the engine decides what it hands on
                return None
            for (i, j), v in np.ndenumerate(out):
                if v is None:  # a blank in a result: likewise
                    return None
                override[(region[1] + i, region[0] + j)] = v.item() if isinstance(
                    v, np.generic) else v
        try:
            values.append(range_values(grid(title), arg[2], override))
        except ValueError:  # a cell value the fast path does not translate
            return None
    try:
        result = np.atleast_2d(np.asarray(udf(call.name)(*values), dtype=object))
    except Exception:  # not a cell message: what the engine shows for it is the engine's
        return None
    if 0 in result.shape:
        return None
    f = arrays[key]
    if not f.array:
        return result
    rows, cols = f.region[3] - f.region[1] + 1, f.region[2] - f.region[0] + 1
    filled = fill_array_range(result, rows, cols)
    if filled is not None and filled.shape != result.shape:
        inexact.add(key)
    return filled
