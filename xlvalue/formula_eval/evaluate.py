"""`xlvalue eval`: compute the XV_* formulas of a workbook without Excel.

The formulas are found in the package XML, the cells' values read with calamine, and the XV_
formulas with the formula cells they read computed in dependency order (graph.py): an XV_
call over literals and references by calling the same Python function the Excel add-in calls
(xlvalue.excel.udfs) on the cells' values (direct.py), any other formula compiled alone by
the `formulas` library with every XV_ function registered as that same function. A spill is
the array range Excel recorded (`<f t="array" ref=...>`), or, for a plain formula beginning
with an XV_ call, its result's extent once computed (as Excel 365 spills it). The values go
to a report (CSV or JSON) and, on request, into a copy of the workbook whose XV_ cells keep
their formulas and carry the computed values as cached values (so pandas, calamine or
openpyxl read numbers). The path before the graph, the whole workbook through the
`formulas` engine, is kept as `evaluate(..., engine_only=True)` to compare results and speed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from xlvalue.errors import InputError, Problem
from xlvalue.formula_eval.graph import (
    CellGraph,
    from_formulas,
    is_empty,
    plain,
    register_functions,
)
from xlvalue.workbook.ooxml import (
    NS_MAIN,
    cell_ref,
    col_index,
    col_letter,
    parse_xml,
    quote_sheet,
    rels_path,
    to_bytes,
)

__all__ = ["MAX_EVAL_CELLS", "MAX_EVAL_FORMULAS", "SPILL_REF", "XV_CALL", "Evaluated", "bound_workbook",
           "evaluate", "write_cached_values", "write_report"]

XV_CALL = re.compile(r"(?:_xludf\.)?\b(XV_[A-Z_]+)\s*\(", re.I)
SPILL_REF = re.compile(r"(?<![A-Za-z0-9_$])(\$?[A-Z]{1,3}\$?\d+)#")


@dataclass
class Evaluated:
    sheet: str
    cell: str
    formula: str
    value: Any


# result shapes of the plain (non-array) XV_ cells, by the alias their formula calls
_SHAPES: dict[str, tuple[int, int]] = {}
TOP_CALL = re.compile(r"^=\s*(?:_xludf\.)?(XV_[A-Z_]+)\s*\(", re.I)


def _register_alias(alias: str, name: str) -> None:
    """Register `alias` as XV_ function `name` that also records its result's shape, so that
    a plain formula whose result is an array can be spilled as Excel 365 spills it."""
    from formulas.functions import get_functions, wrap_ranges_func

    from xlvalue.excel import udfs

    core = getattr(udfs, name.upper())

    def call(*args):
        out = np.atleast_2d(np.asarray(core(*[from_formulas(a) for a in args]), dtype=object))
        _SHAPES[alias] = out.shape
        return out

    get_functions()[alias] = wrap_ranges_func(call)


def _scan(book: Path) -> tuple[list[str], dict[str, dict[str, tuple[str, str | None]]],
                              dict[str, list[tuple[str, str]]]]:
    """Sheet names, each sheet's formula cells {A1: (formula, array range or None)} and the
    defined names, read straight from the package XML (openpyxl would build every cell)."""
    from xlvalue.workbook.ooxml import NS_REL, open_package, read_part, resolve_target

    m = f"{{{NS_MAIN}}}"
    with open_package(book) as zf:
        wb = parse_xml(read_part(zf, "xl/workbook.xml", book.name), book.name, "xl/workbook.xml")
        rels = parse_xml(read_part(zf, rels_path("xl/workbook.xml"), book.name), book.name)
        target = {r.get("Id"): resolve_target("xl/workbook.xml", r.get("Target", "")) for r in rels}
        order, found = [], {}
        for el in wb.iter(f"{m}sheet"):
            name, part = el.get("name"), target.get(el.get(f"{{{NS_REL}}}id"))
            order.append(name)
            found[name] = {}
            if part is None or part not in zf.namelist():
                continue
            data = read_part(zf, part, book.name)
            if b"<f" not in data and b":f" not in data:
                continue
            for c in parse_xml(data, book.name, part).iter(f"{m}c"):
                f = c.find(f"{m}f")
                if f is None or not f.text:  # a shared formula's followers: cached value
                    continue
                ref = f.get("ref") if f.get("t") == "array" else None
                found[name][c.get("r")] = ("=" + f.text, ref)
        names: dict[str, list[tuple[str, str]]] = {}
        for dn in wb.iter(f"{m}definedName"):
            if dn.get("localSheetId") is None and dn.text and "!" in dn.text:
                sheet, _, area = dn.text.rpartition("!")
                names[dn.get("name", "").lower()] = [(sheet.strip("'").replace("''", "'"),
                                                      area.replace("$", ""))]
    return order, found, names


def _prepare(book: Path, tmp: Path, say=lambda _m: None,
             spill: dict[tuple[str, str], tuple[int, int]] | None = None,
             targets: set[tuple[str, str]] | None = None
             ) -> tuple[Path, list[tuple[str, str, str]], dict[str, tuple[str, str]]]:
    """A small copy holding the XV_ formulas (normalised: no _xludf prefix, spill refs as
    ranges) and only the cells they read, transitively.

    The `formulas` library compiles every cell of the workbook it loads: on the demo
    workbook (~90,000 input cells) one formula took ~20 s, nearly all of it building a model
    of cells the formula never reads, after openpyxl had built every cell too. Formulas are
    found in the package XML, values read with calamine, and only the cells reached from the
    XV_ formulas go to `formulas`.

    A plain XV_ formula (not an array formula) calls an alias of its function that records
    the shape of its result; `spill` gives the shapes found by a first pass, and such cells
    become array formulas of that size: the result spills as in Excel 365.
    `targets` limits the XV_ cells computed to those (sheet, cell) (the others were computed
    without the engine); cells inside another formula's array range bring that formula in.
    Returns the prepared file, the XV_ cells and the aliases (alias -> (sheet, cell))."""
    import openpyxl  # pandas and openpyxl load on use: the first progress line comes sooner
    from openpyxl.utils import range_boundaries
    from openpyxl.worksheet.formula import ArrayFormula

    spill = spill or {}
    aliases: dict[str, tuple[str, str]] = {}
    order, found, names = _scan(book)
    spills = {(sheet, cell): ref for sheet, cells_ in found.items()
              for cell, (_text, ref) in cells_.items() if ref}
    cells = [(sheet, cell, text) for sheet in order for cell, (text, _ref) in found[sheet].items()
             if XV_CALL.search(text) and (targets is None or (sheet, cell) in targets)]
    say(f"{len(cells)} XV_ formula(s) for the formula engine; reading the cells they use")
    regions: dict[str, list[tuple[str, tuple[int, int, int, int]]]] = {}
    for (sheet, anchor), ref in spills.items():
        regions.setdefault(sheet, []).append(
            (anchor, range_boundaries(ref.split("!")[-1].replace("$", ""))))

    normalised = _normaliser(book, spills)

    import python_calamine

    values: dict[str, list[list[Any]]] = {}
    calamine = python_calamine.CalamineWorkbook.from_path(str(book))

    def sheet_values(sheet: str) -> list[list[Any]]:
        if sheet not in values:
            values[sheet] = calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return values[sheet]

    titles = {name.lower(): name for name in order}
    keep: dict[str, dict[tuple[int, int], Any]] = {name: {} for name in order}
    todo = [(sheet, cell) for sheet, cell, _ in cells]
    while todo:
        sheet, area = todo.pop()
        title = titles.get(sheet.lower())
        if title is None:
            continue
        rows = sheet_values(title)
        try:
            c0, r0, c1, r1 = range_boundaries(area)
        except ValueError:
            continue
        for anchor, (a0, b0, a1, b1) in regions.get(title, []):  # cells of an array result
            if (a0 <= (c1 or a1) and (c0 or 1) <= a1 and b0 <= (r1 or b1) and (r0 or 1) <= b1
                    and range_boundaries(anchor)[1::-1] not in keep[title]):
                todo.append((title, anchor))
        width = max((len(r) for r in rows), default=0)
        c0, r0 = c0 or 1, r0 or 1
        c1 = max(c0, min(c1 or width, max(width, c0)))
        r1 = max(r0, min(r1 or len(rows), max(len(rows), r0)))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) in keep[title]:
                    continue
                coord = cell_ref(r - 1, c - 1)
                formula = found[title].get(coord)
                if formula is not None:
                    text = normalised(title, coord, formula[0])
                    todo.extend(_references(text, title, names))
                    shape = spill.get((title, coord))
                    top = TOP_CALL.match(text)
                    if formula[1]:
                        keep[title][(r, c)] = ArrayFormula(formula[1], text)
                    elif shape is not None:  # spill the array result, as Excel 365 does
                        end = cell_ref(r - 2 + shape[0], c - 2 + shape[1])
                        keep[title][(r, c)] = ArrayFormula(f"{coord}:{end}", text)
                    elif top is not None:
                        alias = f"{top.group(1).upper()}__XVCELL{len(aliases)}"
                        _register_alias(alias, top.group(1))
                        aliases[alias] = (title, coord)
                        keep[title][(r, c)] = "=" + alias + text[top.end() - 1:]
                    else:
                        keep[title][(r, c)] = text
                else:
                    v = rows[r - 1][c - 1] if r <= len(rows) and c <= len(rows[r - 1]) else ""
                    keep[title][(r, c)] = None if v == "" else v
    out = openpyxl.Workbook()
    out.remove(out.active)
    for name in order:
        ws = out.create_sheet(name)
        for (r, c), v in sorted(keep[name].items()):
            if v is not None:
                cell = ws.cell(r, c)
                cell.value = v
                if isinstance(v, str) and not isinstance(found[name].get(cell_ref(r - 1, c - 1)),
                                                         tuple) and v.startswith("="):
                    cell.data_type = "s"  # text that begins with '=' stays text
    from openpyxl.workbook.defined_name import DefinedName

    for name, dests in names.items():
        sheet, area = dests[0]
        out.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheet(sheet)}!{area}")
    path = tmp / book.name.replace(" ", "_")
    try:
        out.save(path)
    except OSError as exc:  # a full or read-only temporary folder
        from xlvalue.workbook.writer import WriteError

        raise WriteError(f"{book.name}: cannot write a temporary copy for `formulas` in "
                         f"{tmp} ({exc.strerror or exc}); nothing was written") from None
    kept = sum(len(k) for k in keep.values())
    say(f"computing {len(cells)} formula(s) over {kept:,} cell(s)")
    return path, cells, aliases


def _normaliser(book: Path, spills: dict[tuple[str, str], str]):
    """formula text -> the text `formulas` parses: no _xludf prefix, spill refs (B2#) as
    the array range Excel recorded for them."""
    def normalised(sheet: str, where: str, text: str) -> str:
        def spill(m):
            anchor = m.group(1).replace("$", "")
            ref = spills.get((sheet, anchor))
            if ref is None:
                raise InputError(Problem(f"{m.group(0)} refers to a cell whose spill range "
                                         "is unknown (save the workbook in Excel first)",
                                         book=book.name, sheet=sheet, cell=where))
            return ref.split("!")[-1]

        return SPILL_REF.sub(spill, text.replace("_xludf.", ""))

    return normalised


def _references(formula: str, sheet: str, names: dict[str, list[tuple[str, str]]]
                ) -> list[tuple[str, str]]:
    """The (sheet, range) operands of a formula, defined names resolved."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    out = []
    try:
        tokens = Tokenizer(formula).items
    except Exception:  # formulas reports unparsable formulas itself
        return out
    for t in tokens:
        if t.type != Token.OPERAND or t.subtype != Token.RANGE:
            continue
        ref = t.value
        if ref.lower() in names:
            out.extend(names[ref.lower()])
            continue
        where, _, area = ref.rpartition("!")
        target = where.strip("'").replace("''", "'") if where else sheet
        out.append((target, area.replace("$", "")))
    return out


# eval loads the sheets its formulas read densely (calamine) and compiles formulas with
# `formulas` at Python speed: both are bounded before anything is loaded (SECURITY.md)
MAX_EVAL_CELLS = int(os.environ.get("XLVALUE_MAX_EVAL_CELLS", 2_000_000))
MAX_EVAL_FORMULAS = int(os.environ.get("XLVALUE_MAX_EVAL_FORMULAS", 5_000))


def bound_workbook(book: Path) -> dict[str, dict[tuple[int, int], str]]:
    """Refuse, before any sheet is loaded, a workbook whose sheets' used areas or formula
    count would make `eval` run for minutes, exhaust memory or abort calamine (one linear
    scan per sheet, as `run` does before calamine). Returns each sheet's cells that hold an
    Excel error value {(row, column): code}, 1-based (calamine reads them as blanks)."""
    from xlvalue.workbook.ooxml import iter_part, open_package
    from xlvalue.workbook.reader import WorkbookReader, check_extent
    from xlvalue.workbook.sheet_scan import ExcelError, scan_sheet

    reader = WorkbookReader.open(book)
    cells = formulas = 0
    errors: dict[str, dict[tuple[int, int], str]] = {}
    with open_package(book) as zf:
        for sheet in reader.sheets:
            if not sheet.part or sheet.part not in zf.NameToInfo:
                continue
            scan = scan_sheet(iter_part(zf, sheet.part, book.name), book.name, sheet.name,
                              sheet.part)
            check_extent(scan.last_row, scan.last_col, book.name, sheet.name)
            cells += scan.last_row * scan.last_col
            formulas += scan.formulas
            errors[sheet.name] = {(r + 1, c + 1): str(m) for (r, c), m in scan.markers.items()
                                  if isinstance(m, ExcelError)}
            if cells > MAX_EVAL_CELLS:
                raise InputError(Problem(
                    f"the sheets' used areas hold more than the {MAX_EVAL_CELLS:,} cells `eval` "
                    "visits (XLVALUE_MAX_EVAL_CELLS); the used area of this sheet ends at "
                    f"{cell_ref(scan.last_row - 1, scan.last_col - 1)}: delete stray cells far "
                    "from the data", book=book.name, sheet=sheet.name))
    if formulas > MAX_EVAL_FORMULAS:
        raise InputError(Problem(
            f"holds {formulas:,} formulas, more than the {MAX_EVAL_FORMULAS:,} `eval` computes "
            "(XLVALUE_MAX_EVAL_FORMULAS); open it in Excel instead", book=book.name))
    return errors


def evaluate(book: str | Path, progress=None, *, engine_only: bool = False
             ) -> list[Evaluated]:
    """Compute every XV_ formula cell (and its spill) of the workbook; progress(message)
    hears what is being done (the CLI prints it).

    The XV_ formulas and the formula cells they read are computed in dependency order
    without a workbook model (graph.py): spills are known once computed, `A1#` and ranges
    over spilled cells wait for them, whole columns are cut to the used range, a cycle names
    its cells. `engine_only=True` loads the workbook into the `formulas` engine instead (the
    path before the graph, kept to compare results and speed; it knows no spill of a plain
    formula)."""
    say = progress or (lambda _m: None)
    book = Path(book)
    say(f"reading the formulas of {book.name}")
    errors = bound_workbook(book)  # the same checks as `run`, and limits for calamine, formulas
    order, found, names = _scan(book)
    cells = [(sheet, cell, text) for sheet in order for cell, (text, _ref) in found[sheet].items()
             if XV_CALL.search(text)]
    if not cells:
        raise InputError(Problem("no cell calls an XV_ function", book=book.name))
    blocked: dict[tuple[str, str], str] = {}
    if engine_only:
        arrays, blocked = _engine_pass(book, {(sheet, cell) for sheet, cell, _t in cells}, say)
    else:
        graph = _graph_pass(book, cells, found, names, errors, say)
        arrays = {(s, c): graph.nodes[(s, c)].values for s, c, _t in cells}
    from openpyxl.utils import range_boundaries

    out: list[Evaluated] = []
    for sheet, cell, formula in cells:
        arr = arrays.get((sheet, cell))
        if arr is None:
            arr = np.array([[None]], dtype=object)
        if (sheet, cell) in blocked:
            arr = np.array([[blocked[(sheet, cell)]]], dtype=object)
        c0, r0, _, _ = range_boundaries(cell)
        letters = [col_letter(c0 - 1 + j) for j in range(arr.shape[1])]
        for i, row in enumerate(arr.tolist()):
            for j, v in enumerate(row):
                out.append(Evaluated(sheet, f"{letters[j]}{r0 + i}",
                                     formula if (i, j) == (0, 0) else "", _result(v)))
    return out


def _graph_pass(book: Path, cells: list[tuple[str, str, str]],
                found: dict[str, dict[str, tuple[str, str | None]]],
                names: dict[str, list[tuple[str, str]]],
                errors: dict[str, dict[tuple[int, int], str]], say) -> CellGraph:
    """The XV_ cells and the formulas they read computed without the engine (graph.py),
    values read with calamine."""
    say(f"{len(cells)} XV_ formula(s) in {book.name}; loading the XV_ functions")
    import python_calamine

    from xlvalue.excel import udfs
    from xlvalue.excel.convert import REGISTRY

    calamine = python_calamine.CalamineWorkbook.from_path(str(book))
    grids: dict[str, list[list[Any]]] = {}

    def grid(sheet: str) -> list[list[Any]]:
        if sheet not in grids:
            say(f"reading {sheet}")
            grids[sheet] = calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return grids[sheet]

    say("computing the formulas in dependency order")
    targets = [(sheet, cell) for sheet, cell, _text in cells]
    areas = None
    for _attempt in range(2):  # a second pass only when spills had to be guessed
        graph = CellGraph(found, names, grid, lambda s: errors.get(s, {}),
                          lambda n: getattr(udfs, n) if n in REGISTRY else None, book.name,
                          say, areas)
        graph.build(targets)
        graph.run()
        areas = graph.guessed_areas()
        if not areas:
            break
    done = sum(1 for k in targets if graph.nodes[k].values is not None)
    say(f"{done} of {len(cells)} computed directly")
    return graph


def _engine_pass(book: Path, targets: set[tuple[str, str]], say
                 ) -> tuple[dict[tuple[str, str], np.ndarray], dict[tuple[str, str], str]]:
    """The XV_ cells `targets` computed by the `formulas` engine: (sheet, anchor) -> values
    of the cells each fills, and the anchors of blocked spills -> their message."""
    say("loading the formula engine")
    import formulas  # noqa: F401  (the slow import, under its own progress line)

    register_functions()
    with tempfile.TemporaryDirectory() as tmp:
        prepared, cells, aliases = _prepare(book, Path(tmp), say, targets=targets)
        _SHAPES.clear()
        solution = _calculate(prepared, book)
        spill = {aliases[a]: shape for a, shape in _SHAPES.items()
                 if a in aliases and shape != (1, 1)}
        blocked = _blocked_spills(book, spill)
        spill = {k: v for k, v in spill.items() if k not in blocked}
        if spill:  # plain formulas whose results are arrays: spill them, as Excel 365 does
            say(f"spilling {len(spill)} array result(s)")
            prepared, cells, aliases = _prepare(book, Path(tmp), lambda _m: None, spill,
                                                targets)
            solution = _calculate(prepared, book)
    values: dict[tuple[str, str], Any] = {}
    for key, ranges in solution.items():
        m = re.match(r"'\[(?P<book>[^\]]+)\](?P<sheet>.+)'!(?P<ref>[A-Z0-9:$]+)$", str(key))
        if not m:
            continue
        values[(m.group("sheet").upper(), m.group("ref").upper())] = getattr(ranges, "value",
                                                                             ranges)
    arrays = {}
    for sheet, cell, _formula in cells:
        wb_sheet = sheet.upper()
        value = values.get((wb_sheet, cell.upper()))
        if value is None:  # array formula: keyed by its range
            ref = next((r for (s, r) in values if s == wb_sheet and r.startswith(cell.upper() + ":")),
                       None)
            value = values.get((wb_sheet, ref)) if ref else None
        if value is not None:
            arrays[(sheet, cell)] = np.atleast_2d(np.asarray(value, dtype=object))
    return arrays, blocked


def _blocked_spills(book: Path, spill: dict[tuple[str, str], tuple[int, int]]
                    ) -> dict[tuple[str, str], str]:
    """Spills whose range holds other cells: the anchor shows what to do (Excel: #SPILL!)."""
    if not spill:
        return {}
    import python_calamine
    from openpyxl.utils import range_boundaries

    wb = python_calamine.CalamineWorkbook.from_path(str(book))
    out = {}
    for (sheet, cell), (rows, cols) in spill.items():
        grid = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        c0, r0, _, _ = range_boundaries(cell)
        taken = [cell_ref(r - 1, c - 1) for r in range(r0, r0 + rows) for c in range(c0, c0 + cols)
                 if (r, c) != (r0, c0) and r <= len(grid) and c <= len(grid[r - 1])
                 and grid[r - 1][c - 1] not in ("", None)]
        if taken:
            end = cell_ref(r0 + rows - 2, c0 + cols - 2)
            out[(sheet, cell)] = (f"#XV! the result fills {cell}:{end} ({rows} x {cols}) but "
                                  f"{taken[0]} is not empty: clear the range (Excel shows "
                                  "#SPILL!) or enter the formula as an array formula")
    return out


def _calculate(prepared: Path, book: Path):
    """The `formulas` solution of a prepared workbook; its parse errors as one line."""
    import formulas  # noqa: F401  (the slow import, under its own progress line)

    try:
        return formulas.ExcelModel().loads(str(prepared)).finish().calculate()
    except Exception as exc:  # formulas' parse errors: one line naming the formula
        detail = exc.args[1] if len(exc.args) > 1 else exc
        raise InputError(Problem(f"cannot compute the workbook's formulas ({type(exc).__name__}:"
                                 f" {detail})", book=book.name)) from None


def _result(v: Any) -> Any:
    """A computed value as the report and the cached values hold it: blanks and non-finite
    numbers None, Excel errors as their code."""
    t = type(v)
    if t is str or t is int:
        return v
    if t is float:
        return v if np.isfinite(v) else None
    v = plain(v)
    if is_empty(v):
        return None
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if type(v).__name__ == "XlError":
        return str(v)
    return v


def write_report(results: list[Evaluated], path: Path) -> None:
    """The values report: one row per computed cell (sheet, cell, formula, value); in a CSV
    report text beginning with =, +, -, @, tab or CR gets a leading ' (CSV injection,
    xlvalue.workbook.reports)."""
    from xlvalue.workbook.reports import write_rows

    write_rows(["sheet", "cell", "formula", "value"],
               ((r.sheet, r.cell, r.formula, r.value) for r in results), path)


def write_cached_values(book: Path, output: Path, results: list[Evaluated]) -> None:
    """Copy of book where the evaluated cells carry their values as cached values."""
    from xlvalue.workbook.ooxml import open_package, read_part, resolve_target
    from xlvalue.workbook.writer import copy_with_parts

    with open_package(book) as zf:
        wb = parse_xml(read_part(zf, "xl/workbook.xml", book.name), book.name, "xl/workbook.xml")
        rels = parse_xml(read_part(zf, rels_path("xl/workbook.xml"), book.name), book.name)
    target = {r.get("Id"): resolve_target("xl/workbook.xml", r.get("Target", "")) for r in rels}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    parts = {s.get("name"): target.get(s.get(rid)) for s in wb.iter(f"{{{NS_MAIN}}}sheet")}
    by_sheet: dict[str, list[Evaluated]] = {}
    for r in results:
        by_sheet.setdefault(r.sheet, []).append(r)
    edits = {parts[sheet]: (lambda data, part=parts[sheet], cells=cells:
                            _with_values(data, part, cells, book.name))
             for sheet, cells in by_sheet.items() if parts.get(sheet) is not None}
    copy_with_parts(book, output, edits)


def _with_values(data: bytes, part: str, cells: list[Evaluated], book: str) -> bytes:
    """A sheet part whose evaluated cells carry their values as cached values."""
    m = f"{{{NS_MAIN}}}"
    root = parse_xml(data, book, part)
    sheet_data = root.find(f"{m}sheetData")
    rows = {int(r.get("r")): r for r in sheet_data.findall(f"{m}row")}
    numbers = sorted(rows)  # kept sorted: a spilled table adds thousands of rows
    for ev in cells:
        rnum = int(re.sub(r"[A-Z]", "", ev.cell))
        row = rows.get(rnum)
        if row is None:
            row = etree.Element(f"{m}row")
            row.set("r", str(rnum))
            at = bisect.bisect_left(numbers, rnum)
            if at:
                rows[numbers[at - 1]].addnext(row)
            else:
                sheet_data.insert(0, row)
            numbers.insert(at, rnum)
            rows[rnum] = row
        present = row.findall(f"{m}c")
        c = next((x for x in present if x.get("r") == ev.cell), None)
        if c is None:
            c = etree.Element(f"{m}c")
            c.set("r", ev.cell)
            col = col_index(re.sub(r"\d", "", ev.cell))
            if not present or col_index(re.sub(r"\d", "", present[-1].get("r", "A1"))) < col:
                row.append(c)  # results are written left to right: the usual case
            else:
                later = [x for x in present
                         if col_index(re.sub(r"\d", "", x.get("r", "A1"))) > col]
                if later:
                    later[0].addprevious(c)
                else:
                    row.append(c)
        _set_value(c, ev.value, m)
    return to_bytes(root)


def _set_value(c: etree._Element, value: Any, m: str) -> None:
    from xlvalue.workbook.cells import is_excel_error, serial_from_days

    for old in c.findall(f"{m}v") + c.findall(f"{m}is"):
        c.remove(old)
    c.attrib.pop("t", None)
    if value is None:
        return
    v = etree.SubElement(c, f"{m}v")
    if isinstance(value, bool):
        c.set("t", "b")
        v.text = "1" if value else "0"
    elif isinstance(value, int | float):
        v.text = repr(float(value))
    elif isinstance(value, dt.datetime | dt.date):
        d = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
        day = np.datetime64(d, "D")
        serial = serial_from_days(np.array([day]))[0]  # Excel's phantom 1900-02-29 rule
        if np.isnan(serial):
            c.set("t", "str")  # before 1900-01-01: no serial exists, keep the date as text
            v.text = d.date().isoformat()
        else:
            v.text = repr(float(serial + (np.datetime64(d, "us") - day) / np.timedelta64(1, "D")))
    elif is_excel_error(value):
        c.set("t", "e")
        v.text = value
    else:
        c.set("t", "str")  # a formula's text result
        v.text = str(value)
