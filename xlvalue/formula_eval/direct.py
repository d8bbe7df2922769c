"""How `xlvalue eval` hands cell values to an XV_ function it calls directly (graph.py says
which formulas are called so): one XV_ call whose arguments are literals and references.

Values are handed over exactly as the `formulas` engine hands them (so results equal the
engine's to the bit; the engine-only path of `evaluate(..., engine_only=True)` is kept to
compare):

- a date or time is its Excel serial (openpyxl's to_excel: an int for a date, a float for a
  date-time), as `formulas` reads dates raw;
- a number goes through the text a workbook stores ("%.16g"): integral values become ints,
  other floats are rounded to 15 decimals (formulas' compile_cell);
- blanks and empty strings are None; text (ids like "00123", and text that begins with `=`:
  text stays text, as in `xlvalue run`) stays text; booleans stay; an Excel error value is
  its code ("#N/A").

Why not the engine: `formulas` builds a Python node per cell it reads;
`=XV_RFM(Transactions!A1:C6920)` in the demo workbook read 20,761 cells and took ~20 s,
nearly all of it in that model.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from openpyxl.utils.datetime import to_excel

__all__ = ["MAX_EVAL_RANGE_CELLS", "MAX_ROW", "DirectCall", "as_engine_sees", "fill_array_range",
           "parse_call"]

MAX_ROW = 1_048_576  # Excel's last row
# the cells one reference may hand a function: every one becomes a Python value, so
# A1:XFD1048576 would exhaust memory (SECURITY.md); whole columns are cut to the used range
MAX_EVAL_RANGE_CELLS = int(os.environ.get("XLVALUE_MAX_EVAL_RANGE_CELLS", 20_000_000))
NUMBER = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:E[+-][0-9]+)?$", re.I)


@dataclass(frozen=True)
class DirectCall:
    """One XV_ call: its function name and arguments, each ('value', literal) or ('ref',
    index of the operand's token in the formula's tokens)."""

    name: str
    args: tuple[tuple[str, Any], ...]


def parse_call(text: str, known: Callable[[str], bool]) -> DirectCall | None:
    """The call of a normalised formula ('=XV_X(arg, ...)'), or None when it is anything
    but one XV_ call over number, text or boolean literals and references (token indices
    count every token of openpyxl's Tokenizer, white space included)."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    try:
        items = Tokenizer(text).items
    except Exception:
        return None
    tokens = [(i, t) for i, t in enumerate(items) if t.type != Token.WSPACE]
    if len(tokens) < 2 or tokens[0][1].type != Token.FUNC or tokens[0][1].subtype != Token.OPEN:
        return None
    if tokens[-1][1].type != Token.FUNC or tokens[-1][1].subtype != Token.CLOSE:
        return None
    name = tokens[0][1].value[:-1].upper()
    if not name.startswith("XV_") or not known(name):
        return None
    body = tokens[1:-1]
    if not body:
        return DirectCall(name, ())
    args: list[tuple[str, Any]] = []
    for n, (i, t) in enumerate(body):
        if n % 2:  # every other token separates two arguments
            if t.type != Token.SEP or t.subtype != Token.ARG:
                return None
            continue
        arg = _argument(i, t)
        if arg is None:
            return None
        args.append(arg)
    if len(body) % 2 == 0:  # a trailing separator: an omitted last argument
        return None
    return DirectCall(name, tuple(args))


def _argument(index: int, t) -> tuple[str, Any] | None:
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
    return ("ref", index)


def as_engine_sees(v: Any) -> Any:
    """A calamine cell value as `formulas` hands it to a function (see the module doc); a
    non-finite number (which no workbook stores) as #NUM!."""
    t = type(v)
    if t is float and v.is_integer() and abs(v) < 1e16:  # the common cases first
        return int(v)
    if t is str:
        return v if v != "" else None
    if v is None:
        return None
    if isinstance(v, bool | str):
        return v
    if isinstance(v, dt.datetime | dt.date | dt.time | dt.timedelta):
        v = to_excel(v)
    if isinstance(v, int | float):
        if not np.isfinite(v):
            return "#NUM!"
        text = f"{v:.16g}"  # openpyxl's safe_string, read back by openpyxl's _cast_number
        if "." in text or "e" in text or "E" in text:
            return round(float(text), 15)
        return int(text)
    return str(v)


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
