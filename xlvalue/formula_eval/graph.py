"""The cells `xlvalue eval` computes, in dependency order, as Excel 365 would.

Every XV_ formula of the workbook is computed, with the formula cells it reads (transitively),
without loading the workbook into a formula engine:

- a formula that is one XV_ call over literals and references is computed by calling its
  Python function on the cells' values (direct.py says how values are handed over);
- any other formula (`=SUM(S!A:XFD)`, `=XV_NBD_P(1,2,3)*2`, `=B2*C2`) is compiled alone by the
  `formulas` library (its parser and Excel functions, the XV_ functions registered), and
  called on the cells it reads;
- a plain formula that begins with an XV_ call and returns an array spills it, as Excel 365
  does: its extent is known once it is computed, so a reference to its spill (`A1#`) or a
  range over the cells it fills waits for it. Until then, every cell right of and below its
  anchor may be part of its spill: a formula reading such cells waits too;
- whole columns and rows (`A:C`, `2:3`) are the sheet's used range (its data and the results
  spilled on it), not a million rows;
- a formula that reads a cell showing an error says which cell and what it shows; formulas
  that wait on each other are a circular reference: each names the cells of the cycle.

A formula that needs the whole workbook model (OFFSET, INDIRECT: `formulas` shows #NAME? for
them even with the model) or another workbook says so in its cell.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from openpyxl.utils import range_boundaries

from xlvalue.errors import InputError, Problem
from xlvalue.formula_eval.direct import (
    MAX_EVAL_RANGE_CELLS,
    MAX_ROW,
    as_engine_sees,
    fill_array_range,
    parse_call,
)
from xlvalue.workbook.ooxml import cell_ref, quote_sheet

__all__ = ["CIRCULAR", "MAX_COL", "CellGraph", "Node", "Ref", "from_formulas", "is_empty", "is_error",
           "plain", "register_functions", "spill_placeholders"]

MAX_COL = 16_384
CIRCULAR = "#XV! circular reference"
PREFIX = "#XV! "
XV_TOP = re.compile(r"^=\s*(?:_xludf\.)?(XV_[A-Z_]+)\s*\(", re.I)
XV_ANY = re.compile(r"\bXV_[A-Z_]+\s*\(", re.I)
# A1# (also Sheet!$A$1#): the spill of the formula at A1, as a name the tokenizer accepts
SPILL = re.compile(r"(?<![A-Za-z0-9_$.])\$?([A-Z]{1,3})\$?(\d+)#")
PLACEHOLDER = "XVSPILL_"
REF = re.compile(r"^(?:\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?|\$?[A-Z]{1,3}:\$?[A-Z]{1,3}"
                 r"|\$?\d+:\$?\d+)$", re.I)
ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
               "#GETTING_DATA", "#SPILL!", "#CALC!")

Key = tuple[str, str]  # (sheet title, anchor cell)
Bounds = tuple[int, int, int, int]  # min_col, min_row, max_col, max_row (1-based)


def spill_placeholders(text: str) -> str:
    """Formula text with each spill reference `A1#` written as the name XVSPILL_A1 (the
    tokenizer does not know `#`); text in double quotes is left as it is."""
    parts = text.split('"')
    for i in range(0, len(parts), 2):  # outside string literals ("" inside one: empty parts)
        parts[i] = SPILL.sub(lambda m: f"{PLACEHOLDER}{m.group(1).upper()}{m.group(2)}",
                             parts[i])
    return '"'.join(parts)


def is_error(v: Any) -> bool:
    """An error value: an Excel error (the engine's XlError, or its code) or a '#XV! ' text."""
    if type(v).__name__ == "XlError":
        return True
    return isinstance(v, str) and (v.startswith(PREFIX) or v in ERROR_CODES)


def register_functions() -> None:
    """Register every XV_ function with `formulas` (once), as the Python function the add-in
    calls, so that formulas mixing them with Excel's functions compile."""
    from formulas.functions import get_functions, wrap_ranges_func

    from xlvalue.excel import udfs
    from xlvalue.excel.convert import REGISTRY

    funcs = get_functions()
    for name in REGISTRY:
        if name in funcs:
            continue
        core = getattr(udfs, name)

        def call(*args, _f=core):
            return np.asarray(_f(*[from_formulas(a) for a in args]), dtype=object)

        funcs[name] = wrap_ranges_func(call)


def from_formulas(value: Any) -> Any:
    """A value `formulas` hands a function (ranges as 2-D arrays with its own empty marker)
    as the XV_ functions take it: lists of rows, blanks None."""
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 0:
        v = arr.item()
        return None if is_empty(v) else plain(v)
    return [[None if is_empty(v) else plain(v) for v in row] for row in np.atleast_2d(arr)]


def is_empty(v: Any) -> bool:
    """`formulas`' blank cell (or None)."""
    return v is None or type(v).__name__ in ("_Empty", "Empty") or str(v) == "empty"


def plain(v: Any) -> Any:
    """A numpy scalar as the Python value."""
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclass(frozen=True)
class Ref:
    """A reference of a formula: a range (whole columns or rows open to the sheet's used
    range) or the spill of the formula at an anchor cell."""

    sheet: str
    bounds: Bounds  # for a spill, the anchor cell
    spill: bool = False
    open_rows: bool = False  # A:C
    open_cols: bool = False  # 2:3


def _meets(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@dataclass
class Node:
    key: Key
    formula: str  # as written in the file (=...)
    text: str  # normalised: no _xludf. prefix, spill references as placeholders
    array: Bounds | None  # an array formula's range
    spills: bool  # a plain formula beginning with an XV_ call: an array result spills
    refs: list[tuple[int, Ref]] = field(default_factory=list)  # (token index, reference)
    problem: str = ""  # a reference that cannot be read (unknown sheet, undefined name)
    deps: set[Key] = field(default_factory=set)  # formulas whose cells it reads
    maybe: set[Key] = field(default_factory=set)  # spilling formulas whose spill it may read
    values: np.ndarray | None = None  # the values of the cells it fills, from its anchor
    area: Bounds | None = None  # the cells it fills

    @property
    def anchor(self) -> tuple[int, int]:
        c, r, _, _ = range_boundaries(self.key[1])
        return c, r

    @property
    def region(self) -> Bounds:
        """The cells known to hold the formula: its array range or its anchor."""
        if self.array is not None:
            return self.array
        c, r = self.anchor
        return (c, r, c, r)


class CellGraph:
    """The formula cells reached from the XV_ formulas, computed in dependency order.

    `found` holds each sheet's formula cells {A1: (formula, array range or None)}, `names`
    the workbook-level defined names, `grid(sheet)` a sheet's values (calamine rows),
    `errors(sheet)` the cells that hold an Excel error {(row, col): code}, `udf(name)` the
    XV_ function of a name (None if there is none). `areas` gives spill extents known from
    an earlier pass (the second pass of a workbook whose spills read each other)."""

    def __init__(self, found: dict[str, dict[str, tuple[str, str | None]]],
                 names: dict[str, list[tuple[str, str]]],
                 grid: Callable[[str], list[list[Any]]],
                 errors: Callable[[str], dict[tuple[int, int], str]],
                 udf: Callable[[str], Callable | None], book: str = "",
                 say: Callable[[str], None] = lambda _m: None,
                 areas: dict[Key, Bounds] | None = None):
        self.found, self.names, self.grid, self.errors = found, names, grid, errors
        self.udf, self.book, self.say = udf, book, say
        self.titles = {name.lower(): name for name in found}
        self.known_areas = areas or {}
        self.nodes: dict[Key, Node] = {}
        # computed cells: sheet -> row -> column -> value
        self.filled: dict[str, dict[int, dict[int, Any]]] = {}
        self.used: dict[str, tuple[int, int]] = {}  # rows, columns reached by computed cells
        self.speculated = False
        self._index: dict[str, tuple[list[Key], np.ndarray]] = {}
        self._compiled = False

    # ---- the graph ---------------------------------------------------------------------

    def build(self, targets: list[Key]) -> None:
        """The nodes reached from `targets` (the XV_ formula cells) and their dependencies."""
        todo = list(targets)
        while todo:
            key = todo.pop()
            if key in self.nodes:
                continue
            node = self._node(key)
            self.nodes[key] = node
            for _i, ref in node.refs:
                found = self._formulas_meeting(ref)
                todo.extend(k for k in found if k not in self.nodes)
        spillers: dict[str, list[Node]] = {}
        for node in self.nodes.values():
            if node.spills:
                spillers.setdefault(node.key[0], []).append(node)
        for node in self.nodes.values():
            for _i, ref in node.refs:
                node.deps.update(k for k in self._formulas_meeting(ref) if k in self.nodes)
                for s in spillers.get(ref.sheet, []):
                    if s.key == node.key or s.key in node.deps:
                        continue
                    if _meets(self._reach(s), ref.bounds):
                        node.maybe.add(s.key)

    def _reach(self, node: Node) -> Bounds:
        """The cells a spilling formula may fill: known from an earlier pass, else every cell
        right of and below its anchor."""
        if node.key in self.known_areas:
            return self.known_areas[node.key]
        c, r = node.anchor
        return (c, r, MAX_COL, MAX_ROW)

    def _node(self, key: Key) -> Node:
        sheet, coord = key
        formula, array_ref = self.found[sheet][coord]
        text = spill_placeholders(formula.replace("_xludf.", ""))
        array = range_boundaries(array_ref.split("!")[-1].replace("$", "")) if array_ref else None
        node = Node(key, formula, text, array, spills=array is None and bool(XV_TOP.match(text)))
        from openpyxl.formula.tokenizer import Token, Tokenizer

        try:
            tokens = Tokenizer(text).items
        except Exception:  # reported when the formula is computed
            return node
        for i, t in enumerate(tokens):
            if t.type != Token.OPERAND or t.subtype != Token.RANGE:
                continue
            ref, problem = self._ref(t.value, sheet)
            if ref is not None:
                node.refs.append((i, ref))
            elif problem and not node.problem:
                node.problem = problem
        return node

    def _ref(self, value: str, sheet: str) -> tuple[Ref | None, str]:
        """The reference an operand names, or a reason it names none."""
        if value.lower() in self.names:
            where, area = self.names[value.lower()][0]
        else:
            where, _, area = value.rpartition("!")
            where = where.strip("'").replace("''", "'") if where else sheet
        if "[" in where:
            return None, f"{value} refers to another workbook"
        title = self.titles.get(where.lower())
        if title is None:
            return None, f"{value} refers to sheet {where!r}, which is not in the workbook"
        area = area.replace("$", "")
        if area.upper().startswith(PLACEHOLDER):
            anchor = area[len(PLACEHOLDER):]
            c, r, _, _ = range_boundaries(anchor)
            return Ref(title, (c, r, c, r), spill=True), ""
        if not REF.match(area):
            return None, f"the name {value} is not defined (Excel shows #NAME?)"
        c0, r0, c1, r1 = range_boundaries(area)
        return Ref(title, (c0 or 1, r0 or 1, c1 or MAX_COL, r1 or MAX_ROW),
                   open_rows=r0 is None, open_cols=c0 is None), ""

    def _formulas_meeting(self, ref: Ref) -> list[Key]:
        """The formula cells of a sheet whose cells meet a reference (for a spill: the
        formula at its anchor)."""
        if ref.sheet not in self._index:
            keys, boxes = [], []
            for coord, (_text, array_ref) in self.found.get(ref.sheet, {}).items():
                keys.append((ref.sheet, coord))
                boxes.append(range_boundaries((array_ref or coord).split("!")[-1]
                                              .replace("$", "")))
            self._index[ref.sheet] = (keys, np.array(boxes, dtype=np.int64).reshape(-1, 4))
        keys, b = self._index[ref.sheet]
        c0, r0, c1, r1 = ref.bounds
        hit = (b[:, 0] <= c1) & (c0 <= b[:, 2]) & (b[:, 1] <= r1) & (r0 <= b[:, 3])
        if ref.spill:  # the formula at the anchor itself
            hit &= (b[:, 0] == c0) & (b[:, 1] == r0)
        return [keys[i] for i in np.flatnonzero(hit)]

    # ---- the order ---------------------------------------------------------------------

    def run(self) -> None:
        """Compute every node once its dependencies are computed; cycles are named."""
        order = {key: i for i, key in enumerate(sorted(self.nodes, key=_position))}
        for k, n in self.nodes.items():
            if k in n.deps:  # reads its own cells
                self._circular(n, [k])
        waiting = {k: (n.deps | n.maybe) - {k} for k, n in self.nodes.items()}
        readers: dict[Key, set[Key]] = {}
        for k, deps in waiting.items():
            for d in deps:
                readers.setdefault(d, set()).add(k)
        ready = [(order[k], k) for k, deps in waiting.items() if not deps]
        heapq.heapify(ready)
        pending = set(self.nodes)
        while pending:
            if not ready:
                self._unblock(pending, waiting, ready, order)
                continue
            _, key = heapq.heappop(ready)
            if key not in pending:
                continue
            pending.discard(key)
            if self.nodes[key].values is None:
                self._compute(self.nodes[key])
            for r in readers.get(key, ()):
                waiting[r].discard(key)
                if not waiting[r] and r in pending:
                    heapq.heappush(ready, (order[r], r))

    def _unblock(self, pending: set[Key], waiting: dict[Key, set[Key]], ready: list,
                 order: dict[Key, int]) -> None:
        """No formula can go on: a cycle of definite references is a circular reference
        (each of its cells says so); otherwise the wait is only on spills that may reach a
        range, and the first such formula is computed (checked after the pass)."""
        cycle = _cycle(pending, {k: {d for d in waiting[k] if d in self.nodes[k].deps}
                                 for k in pending})
        if cycle:
            for k in cycle:
                self._circular(self.nodes[k], cycle)
                waiting[k] = set()
                heapq.heappush(ready, (order[k], k))
            return
        self.speculated = True
        k = min((k for k in pending if not waiting[k] & self.nodes[k].deps),
                key=order.__getitem__, default=None)
        if k is None:  # not reached: a wait on definite references alone is a cycle
            k = min(pending, key=order.__getitem__)
        waiting[k] = set()
        heapq.heappush(ready, (order[k], k))

    def _circular(self, node: Node, cycle: list[Key]) -> None:
        names = " -> ".join(f"{quote_sheet(s)}!{c}" for s, c in [*cycle, cycle[0]])
        self._place(node, _message(f"{CIRCULAR.removeprefix(PREFIX)}: {names} (each reads "
                                   "the next; Excel warns and shows 0)"))

    def guessed_areas(self) -> dict[Key, Bounds]:
        """After a pass that had to guess an order (spills that may reach each other's
        reads): the spill extents it found, for a second pass that orders exactly; {} when
        the order was exact."""
        if not self.speculated:
            return {}
        return {k: n.area for k, n in self.nodes.items() if n.spills and n.area is not None}

    # ---- computing one formula ---------------------------------------------------------

    def _compute(self, node: Node) -> None:
        sheet, coord = node.key
        call = parse_call(node.text, lambda n: self.udf(n) is not None)
        if node.problem:
            if call is None:
                self._parses(node)  # a formula that does not parse says so first
            self._place(node, _message(node.problem))
            return
        missing = [ref for _i, ref in node.refs if ref.spill and not self._spilled(ref)]
        if missing:
            ref = missing[0]
            at = cell_ref(ref.bounds[1] - 1, ref.bounds[0] - 1)
            self._place(node, _message(f"{at}# refers to {ref.sheet}!{at}, which holds no "
                                       "formula (Excel shows #REF!)"))
            return
        if call is not None:
            result = self._call(node, call)
        else:
            result = self._compiled_result(node)
        self._place(node, result)

    def _parses(self, node: Node) -> None:
        """Raise one line naming the cell when `formulas` cannot parse the formula."""
        self._load_functions()
        from formulas import Parser

        try:
            Parser().ast(node.text)
        except Exception as exc:
            detail = exc.args[1] if len(exc.args) > 1 else exc
            raise InputError(Problem(f"cannot compute the workbook's formulas "
                                     f"({type(exc).__name__}: {detail})", book=self.book,
                                     sheet=node.key[0], cell=node.key[1])) from None

    def _load_functions(self) -> None:
        if not self._compiled:
            self.say("loading the formula functions (for the formulas that are not one XV_ call)")
            register_functions()
            self._compiled = True

    def _spilled(self, ref: Ref) -> bool:
        c, r = ref.bounds[0], ref.bounds[1]
        node = self.nodes.get((ref.sheet, cell_ref(r - 1, c - 1)))
        return node is not None and node.area is not None

    def _place(self, node: Node, result: np.ndarray) -> None:
        """Record the cells a result fills: an array formula's range (a smaller result
        repeated or padded with #N/A, as Excel does), a spilling formula's result when the
        cells it would fill are empty (else its anchor says which is not), else the
        anchor's value."""
        c, r = node.anchor
        if node.array is not None:
            rows = node.array[3] - node.array[1] + 1
            cols = node.array[2] - node.array[0] + 1
            filled = fill_array_range(result[:rows, :cols], rows, cols)
            values = filled if filled is not None else result[:rows, :cols]
        elif node.spills and result.shape != (1, 1):
            blocker = self._blocker(node, result.shape)
            if blocker:
                end = cell_ref(r + result.shape[0] - 2, c + result.shape[1] - 2)
                values = _message(f"the result fills {node.key[1]}:{end} ({result.shape[0]} x "
                                  f"{result.shape[1]}) but {blocker} is not empty: clear the "
                                  "range (Excel shows #SPILL!) or enter the formula as an "
                                  "array formula")
            else:
                values = result
        else:
            values = result[:1, :1]
        node.values = values
        node.area = (c, r, c + values.shape[1] - 1, r + values.shape[0] - 1)
        cells = self.filled.setdefault(node.key[0], {})
        for i, row in enumerate(values.tolist()):  # tolist: numpy scalars as Python values
            cells.setdefault(r + i, {}).update(zip(range(c, c + len(row)), row, strict=True))
        rows, cols = self.used.get(node.key[0], (0, 0))
        self.used[node.key[0]] = (max(rows, node.area[3]), max(cols, node.area[2]))

    def _blocker(self, node: Node, shape: tuple[int, int]) -> str:
        """The first cell of a spill range that is not empty (a constant, another formula,
        or a cell another result fills), or ''."""
        sheet = node.key[0]
        c0, r0 = node.anchor
        rows = self.grid(sheet)
        errors = self.errors(sheet)
        filled = self.filled.get(sheet, {})
        formulas = self.found.get(sheet, {})
        for r in range(r0, r0 + shape[0]):
            row = rows[r - 1] if r <= len(rows) else []
            for c in range(c0, c0 + shape[1]):
                if (r, c) == (r0, c0):
                    continue
                coord = cell_ref(r - 1, c - 1)
                if (c <= len(row) and row[c - 1] not in ("", None)) or (r, c) in errors \
                        or c in filled.get(r, ()) or coord in formulas:
                    return coord
        return ""

    def _bounded(self, ref: Ref) -> Bounds:
        """A reference's cells, whole columns and rows cut to the sheet's used range."""
        c0, r0, c1, r1 = ref.bounds
        if ref.spill:
            node = self.nodes[(ref.sheet, cell_ref(r0 - 1, c0 - 1))]
            assert node.area is not None
            return node.area
        if ref.open_rows or ref.open_cols:  # the rest of the sheet is blank
            grid = self.grid(ref.sheet)
            rows, cols = self.used.get(ref.sheet, (0, 0))
            r1 = max(r0, min(r1, max(len(grid), rows)))
            c1 = max(c0, min(c1, max(max((len(x) for x in grid), default=0), cols)))
        return c0, r0, c1, r1

    def _cells(self, sheet: str, bounds: Bounds, engine: bool) -> tuple[list[list[Any]],
                                                                        tuple[int, int] | None]:
        """The values of a range as the XV_ functions (engine=False: blanks None, errors as
        their code) or the `formulas` functions (blanks EMPTY, errors XlError) take them, and
        the first cell filled by a formula that shows an error."""
        grid = self.grid(sheet)
        errors = self.errors(sheet)
        error_rows = {r for r, _c in errors}
        filled = self.filled.get(sheet, {})
        c0, r0, c1, r1 = bounds
        width = c1 - c0 + 1
        blank: Any = None
        codes: dict[str, Any] = {}
        if engine:
            import schedula as sh
            from formulas.tokens.operand import Error

            blank, codes = sh.EMPTY, dict(Error.errors)
        conv = as_engine_sees
        out: list[list[Any]] = []
        bad = None
        last = max(len(grid), self.used.get(sheet, (0, 0))[0])
        for r in range(r0, r1 + 1):
            if r > last:  # below the data: blank rows
                out.extend([blank] * width for _ in range(r1 - r + 1))
                break
            segment = grid[r - 1][c0 - 1:c1] if r <= len(grid) else []
            if engine:
                values = [blank if (x := conv(v)) is None else x for v in segment]
            else:
                values = [conv(v) for v in segment]
            if len(values) < width:
                values.extend([blank] * (width - len(values)))
            if r in error_rows:
                for c in range(c0, c1 + 1):
                    if (r, c) in errors:
                        values[c - c0] = codes.get(errors[(r, c)], errors[(r, c)])
            computed = filled.get(r)
            if computed:
                columns = [c for c in computed if c0 <= c <= c1] if len(computed) < width \
                    else [c for c in range(c0, c1 + 1) if c in computed]
                for c in columns:
                    v = computed[c]
                    if bad is None and is_error(v):
                        bad = (r, c)
                    if v is None:
                        v = blank
                    elif engine and isinstance(v, str) and v in codes:
                        v = codes[v]
                    values[c - c0] = v
            out.append(values)
        return out, bad

    def _check_size(self, node: Node, bounds: Bounds) -> None:
        size = (bounds[2] - bounds[0] + 1) * (bounds[3] - bounds[1] + 1)
        if size > MAX_EVAL_RANGE_CELLS:
            raise InputError(Problem(
                f"a reference covers {size:,} cells, more than the {MAX_EVAL_RANGE_CELLS:,} "
                "`eval` hands a function (XLVALUE_MAX_EVAL_RANGE_CELLS): use a range that "
                "ends with the data (e.g. A1:C7000) or a whole column (A:C, cut to the used "
                "range)", book=self.book, sheet=node.key[0], cell=node.key[1]))

    def _call(self, node: Node, call) -> np.ndarray:
        """One XV_ call over literals and references: its function on the cells' values."""
        from xlvalue.excel.convert import REGISTRY

        spec = REGISTRY.get(call.name)
        argnames = [a for a, _doc in spec.args] if spec else []
        refs = dict(node.refs)
        values, size = [], 0
        for n, (kind, value) in enumerate(call.args):
            if kind == "value":
                values.append(value)
                continue
            ref = refs[value]
            bounds = self._bounded(ref)
            self._check_size(node, bounds)
            size += (bounds[2] - bounds[0] + 1) * (bounds[3] - bounds[1] + 1)
            cells, bad = self._cells(ref.sheet, bounds, engine=False)
            if bad is not None:
                name = argnames[n] if n < len(argnames) else f"argument {n + 1}"
                return _message(_reads_error(name, ref.sheet, bad,
                                             self.filled[ref.sheet][bad[0]][bad[1]]))
            values.append(cells)
        self.say(f"{node.key[0]}!{node.key[1]}: {call.name}"
                 + (f" over {size:,} cell(s)" if size else ""))
        out = self.udf(call.name)(*values)
        result = np.atleast_2d(np.asarray(out, dtype=object))
        if 0 in result.shape:
            return _message(f"{call.name} returned no values (Excel shows #CALC!)")
        return result

    def _compiled_result(self, node: Node) -> np.ndarray:
        """Any other formula: compiled alone by `formulas` and called on the cells it reads
        (references rewritten to their bounded ranges)."""
        from openpyxl.formula.tokenizer import Tokenizer

        sheet, coord = node.key
        tok = Tokenizer(node.text)
        for i, ref in node.refs:
            bounds = self._bounded(ref)
            self._check_size(node, bounds)
            area = f"{cell_ref(bounds[1] - 1, bounds[0] - 1)}:{cell_ref(bounds[3] - 1, bounds[2] - 1)}"
            tok.items[i].value = f"{quote_sheet(ref.sheet)}!{area}"
        text = "=" + tok.render() if not tok.render().startswith("=") else tok.render()
        self._load_functions()
        from formulas.cell import Cell
        from formulas.ranges import Ranges

        try:
            cell = Cell(f"{quote_sheet(sheet)}!{coord}", text,
                        context={"sheet": sheet}).compile()
        except Exception as exc:  # formulas' parse errors: one line naming the formula
            detail = exc.args[1] if len(exc.args) > 1 else exc
            raise InputError(Problem(f"cannot compute the workbook's formulas "
                                     f"({type(exc).__name__}: {detail})", book=self.book,
                                     sheet=sheet, cell=coord)) from None
        args = []
        for name in cell.inputs:
            if is_error(name):  # OFFSET and the like need the whole model
                used = ", ".join(cell.inputs[name]) if isinstance(cell.inputs[name], list) \
                    else str(cell.inputs[name])
                return _message(f"{used} needs the whole workbook model, which `eval` does "
                                "not build (Excel computes it)")
            rng = Ranges.get_range(name)
            title = self.titles.get(rng["sheet"].lower())
            if title is None:
                return _message(f"{name} refers to a sheet that is not in the workbook")
            bounds = (rng["n1"], int(rng["r1"]), rng["n2"], int(rng["r2"]))
            cells, bad = self._cells(title, bounds, engine=True)
            if bad is not None:
                shown = self.filled[title][bad[0]][bad[1]]
                if isinstance(shown, str) and shown.startswith(PREFIX):
                    return _message(_reads_error(None, title, bad, shown))
            args.append(Ranges().push(name, np.array(cells, dtype=object)))
        try:
            out = cell.func(*args)
        except Exception as exc:  # formulas raises for what it cannot compute
            return _message(f"{type(exc).__name__}: {exc}")
        value = getattr(out, "value", out)
        return np.atleast_2d(np.asarray(value, dtype=object))


def _message(text: str) -> np.ndarray:
    return np.array([[PREFIX + text.removeprefix(PREFIX)]], dtype=object)


def _reads_error(argument: str | None, sheet: str, at: tuple[int, int], shown: Any) -> str:
    where = f"{quote_sheet(sheet)}!{cell_ref(at[0] - 1, at[1] - 1)}"
    text = str(shown).removeprefix(PREFIX)
    lead = f"{argument}: " if argument else ""
    return f"{lead}{where} shows an error: {text}"


def _position(key: Key) -> tuple[str, int, int]:
    c, r, _, _ = range_boundaries(key[1])
    return key[0], r, c


def _cycle(pending: set[Key], edges: dict[Key, set[Key]]) -> list[Key]:
    """A cycle of the graph restricted to `pending` (depth-first), or []."""
    state: dict[Key, int] = {}
    for start in sorted(pending, key=_position):
        if start in state:
            continue
        stack = [(start, iter(sorted(edges.get(start, ()), key=_position)))]
        path = [start]
        state[start] = 1
        while stack:
            k, it = stack[-1]
            nxt = next((d for d in it if d in pending and state.get(d) != 2), None)
            if nxt is None:
                state[k] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):]
            state[nxt] = 1
            path.append(nxt)
            stack.append((nxt, iter(sorted(edges.get(nxt, ()), key=_position))))
    return []
