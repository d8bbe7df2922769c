"""`xlvalue eval`: compute the XV_* formulas of a workbook without Excel.

Excel formulas are computed by the `formulas` library, with every XV_ function registered as
the same Python function the Excel add-in calls (xlvalue.excel.udfs). Spilled results are taken from
the array ranges Excel records with a spilled formula (`<f t="array" ref=...>`); references to
a spill (`B2#`) are rewritten to that range. The values go to a report (CSV or JSON) and, on
request, into a copy of the workbook whose XV_ cells keep their formulas and carry the
computed values as cached values (so pandas, calamine or openpyxl read numbers).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from lxml import etree
from openpyxl.utils import range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from xlvalue.errors import InputError, Problem
from xlvalue.workbook.cells import EXCEL_EPOCH, is_excel_error
from xlvalue.workbook.ooxml import NS_MAIN, cell_ref, col_index, parse_xml, rels_path, to_bytes
from xlvalue.workbook.writer import _Package, atomic_write

__all__ = ["SPILL_REF", "XV_CALL", "Evaluated", "evaluate", "write_cached_values", "write_report"]

XV_CALL = re.compile(r"(?:_xludf\.)?\b(XV_[A-Z_]+)\s*\(", re.I)
SPILL_REF = re.compile(r"(?<![A-Za-z0-9_$])(\$?[A-Z]{1,3}\$?\d+)#")


@dataclass
class Evaluated:
    sheet: str
    cell: str
    formula: str
    value: Any


def _register() -> None:
    from formulas.functions import get_functions, wrap_ranges_func

    from xlvalue.excel import udfs
    from xlvalue.excel.convert import REGISTRY

    funcs = get_functions()
    for name in REGISTRY:
        if name in funcs:
            continue
        core = getattr(udfs, name)

        def call(*args, _f=core):
            converted = [_from_formulas(a) for a in args]
            out = _f(*converted)
            return np.asarray(out, dtype=object)

        funcs[name] = wrap_ranges_func(call)


def _from_formulas(value: Any) -> Any:
    """formulas hands ranges as 2-D arrays with its own empty marker; make them lists."""
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 0:
        v = arr.item()
        return None if _is_empty(v) else _plain(v)
    return [[None if _is_empty(v) else _plain(v) for v in row] for row in np.atleast_2d(arr)]


def _is_empty(v: Any) -> bool:
    return v is None or type(v).__name__ in ("_Empty", "Empty") or str(v) == "empty"


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _prepare(book: Path, tmp: Path) -> tuple[Path, list[tuple[str, str, str]]]:
    """A copy with XV_ formulas normalised: no _xludf prefix, spill refs as ranges."""
    wb = openpyxl.load_workbook(book)
    spills: dict[tuple[str, str], str] = {}
    cells: list[tuple[str, str, str]] = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                text = v.text if isinstance(v, ArrayFormula) else v
                if isinstance(text, str) and text.startswith("=") and XV_CALL.search(text):
                    if isinstance(v, ArrayFormula):
                        spills[(ws.title, c.coordinate)] = v.ref
                    cells.append((ws.title, c.coordinate, text))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                is_array = isinstance(v, ArrayFormula)
                text = v.text if is_array else v
                if not (isinstance(text, str) and text.startswith("=")):
                    continue
                new = text.replace("_xludf.", "")

                def spill(m, sheet=ws.title, where=c.coordinate):
                    anchor = m.group(1).replace("$", "")
                    ref = spills.get((sheet, anchor))
                    if ref is None:
                        raise InputError(Problem(f"{m.group(0)} refers to a cell whose spill range "
                                                 "is unknown (save the workbook in Excel first)",
                                                 book=book.name, sheet=sheet, cell=where))
                    return ref.split("!")[-1]

                new = SPILL_REF.sub(spill, new)
                if new != text:
                    c.value = ArrayFormula(v.ref, new) if is_array else new
    path = tmp / book.name.replace(" ", "_")
    wb.save(path)
    return path, cells


def evaluate(book: str | Path) -> list[Evaluated]:
    """Compute every XV_ formula cell (and its spill) of the workbook."""
    import formulas

    book = Path(book)
    from xlvalue.workbook.ooxml import open_package

    open_package(book).close()  # the same checks as `run`: not a workbook, zip bomb, ...
    _register()
    with tempfile.TemporaryDirectory() as tmp:
        prepared, cells = _prepare(book, Path(tmp))
        if not cells:
            raise InputError(Problem("no cell calls an XV_ function", book=book.name))
        try:
            model = formulas.ExcelModel().loads(str(prepared)).finish()
            solution = model.calculate()
        except Exception as exc:  # formulas' parse errors: one line naming the formula
            detail = exc.args[1] if len(exc.args) > 1 else exc
            raise InputError(Problem(f"cannot compute the workbook's formulas ({type(exc).__name__}:"
                                     f" {detail})", book=book.name)) from None
    values: dict[tuple[str, str], Any] = {}
    for key, ranges in solution.items():
        m = re.match(r"'\[(?P<book>[^\]]+)\](?P<sheet>.+)'!(?P<ref>[A-Z0-9:$]+)$", str(key))
        if not m:
            continue
        values[(m.group("sheet").upper(), m.group("ref").upper())] = getattr(ranges, "value",
                                                                             ranges)
    out: list[Evaluated] = []
    for sheet, cell, formula in cells:
        wb_sheet = sheet.upper()
        value = values.get((wb_sheet, cell.upper()))
        ref = None
        if value is None:  # array formula: keyed by its range
            ref = next((r for (s, r) in values if s == wb_sheet and r.startswith(cell.upper() + ":")),
                       None)
            value = values.get((wb_sheet, ref)) if ref else None
        arr = np.atleast_2d(np.asarray(value, dtype=object)) if value is not None else \
            np.array([[None]], dtype=object)
        c0, r0, _, _ = range_boundaries(cell)
        for i, row in enumerate(arr):
            for j, v in enumerate(row):
                out.append(Evaluated(sheet, cell_ref(r0 - 1 + i, c0 - 1 + j),
                                     formula if (i, j) == (0, 0) else "", _result(v)))
    return out


def _result(v: Any) -> Any:
    v = _plain(v)
    if _is_empty(v):
        return None
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if type(v).__name__ == "XlError":
        return str(v)
    return v


def write_report(results: list[Evaluated], path: Path) -> None:
    """The values report: one row per computed cell (sheet, cell, formula, value)."""
    from xlvalue.cli.batch import write_table

    write_table(pd.DataFrame([r.__dict__ for r in results]), path)


def write_cached_values(book: Path, output: Path, results: list[Evaluated]) -> None:
    """Copy of book where the evaluated cells carry their values as cached values."""
    from xlvalue.workbook.ooxml import resolve_target

    pkg = _Package(book)
    wb = pkg.xml("xl/workbook.xml")
    rels = pkg.xml(rels_path("xl/workbook.xml"))
    target = {r.get("Id"): resolve_target("xl/workbook.xml", r.get("Target", "")) for r in rels}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    parts = {s.get("name"): target.get(s.get(rid)) for s in wb.iter(f"{{{NS_MAIN}}}sheet")}
    by_sheet: dict[str, list[Evaluated]] = {}
    for r in results:
        by_sheet.setdefault(r.sheet, []).append(r)
    m = f"{{{NS_MAIN}}}"
    for sheet, cells in by_sheet.items():
        part = parts.get(sheet)
        if part is None:
            continue
        root = parse_xml(pkg.data[part], book.name, part)
        data = root.find(f"{m}sheetData")
        rows = {int(r.get("r")): r for r in data.findall(f"{m}row")}
        for ev in cells:
            rnum = int(re.sub(r"[A-Z]", "", ev.cell))
            row = rows.get(rnum)
            if row is None:
                row = etree.Element(f"{m}row")
                row.set("r", str(rnum))
                after = [r for r in sorted(rows) if r < rnum]
                if after:
                    rows[after[-1]].addnext(row)
                else:
                    data.insert(0, row)
                rows[rnum] = row
            c = next((x for x in row.findall(f"{m}c") if x.get("r") == ev.cell), None)
            if c is None:
                c = etree.Element(f"{m}c")
                c.set("r", ev.cell)
                col = col_index(re.sub(r"\d", "", ev.cell))
                later = [x for x in row.findall(f"{m}c")
                         if col_index(re.sub(r"\d", "", x.get("r", "A1"))) > col]
                if later:
                    later[0].addprevious(c)
                else:
                    row.append(c)
            _set_value(c, ev.value, m)
        pkg.put(part, to_bytes(root))
    atomic_write(output, pkg.save)


def _set_value(c: etree._Element, value: Any, m: str) -> None:
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
        v.text = repr(float((np.datetime64(d, "us") - EXCEL_EPOCH) / np.timedelta64(1, "D")))
    elif is_excel_error(value):
        c.set("t", "e")
        v.text = value
    else:
        c.set("t", "str")  # a formula's text result
        v.text = str(value)
