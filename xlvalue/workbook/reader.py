"""Headless workbook reader: resolves defined names and Excel tables, reads cells with calamine.

Structure (sheets, names, tables) comes from the package XML; cell values (cached values of
formulas included) come from python-calamine, which reads large sheets about 10x faster than
openpyxl.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlvalue.errors import InputError, Problem
from xlvalue.workbook.ooxml import (
    NS_MAIN,
    NS_REL,
    REL_TABLE,
    REL_WORKSHEET,
    Area,
    col_index,
    open_package,
    parse_area,
    parse_xml,
    read_part,
    read_rels,
)

__all__ = ["MAX_CELLS", "Cell", "DefinedName", "ExcelError", "RangeSource", "RawRange", "SheetInfo",
           "TableInfo", "UncachedFormula", "WorkbookReader"]

Cell = Any  # str | float | int | bool | date | datetime | '' | ExcelError

_ERROR_CELL = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)>(.*?)</c>', re.S)
_REF_ATTR = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")


_FORMULA_CELL = re.compile(rb"<c\b([^>]*)>(<f\b.*?)</c>", re.S)
_FORMULA = re.compile(rb"<f\b[^>]*>([^<]*)</f>")
_ROW_ATTR = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_WIDE_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{3})\d+"')
MAX_CELLS = int(os.environ.get("XLVALUE_MAX_CELLS", 50_000_000))


@dataclass(frozen=True)
class UncachedFormula:
    """A formula cell saved without its value (e.g. written by a library, never opened)."""

    formula: str

    def __str__(self) -> str:
        return f"={self.formula}"


@dataclass(frozen=True)
class ExcelError:
    """An Excel error value found in an input cell."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class SheetInfo:
    name: str
    part: str
    state: str  # visible / hidden / veryHidden


@dataclass(frozen=True)
class DefinedName:
    name: str
    text: str
    local_sheet: int | None


@dataclass(frozen=True)
class TableInfo:
    name: str
    sheet: str
    area: Area
    header_rows: int
    totals_rows: int = 0  # a totals row at the bottom is not data (totalsRowCount)


@dataclass
class RawRange:
    """Cells of one input range, with where they came from (for located error messages)."""

    name: str
    book: str
    area: Area
    rows: list[list[Cell]]
    header: bool = True

    def sha256(self) -> str:
        """Hash of the cell values in a canonical form, equal whichever reader read them."""
        h = hashlib.sha256()
        for row in self.rows:
            h.update("\t".join(_canonical(v) for v in row).encode("utf-8"))
            h.update(b"\n")
        return h.hexdigest()


class RangeSource:
    """What the pipeline reads inputs through (the headless reader, the xlwings adapter):
    `book`, `has(name)` and `read(name)`; the rules built on them are written here once."""

    @property
    def book(self) -> str:
        raise NotImplementedError

    def has(self, name: str) -> bool:
        raise NotImplementedError

    def read(self, name: str) -> RawRange:
        raise NotImplementedError

    def has_data(self, name: str) -> bool:
        """The name exists and its range has a non-blank cell below the header row."""
        if not self.has(name):
            return False
        try:
            rows = self.read(name).rows
        except InputError:
            return True  # let the read report what is wrong
        return any(not (c == "" or c is None) for row in rows[1:] for c in row)


@dataclass
class WorkbookReader(RangeSource):
    """Reads input ranges of one .xlsx/.xlsm by defined name or Excel table name."""

    path: Path
    sheets: list[SheetInfo] = field(default_factory=list)
    names: list[DefinedName] = field(default_factory=list)
    tables: dict[str, TableInfo] = field(default_factory=dict)
    _cells: dict[str, list[list[Cell]]] = field(default_factory=dict)
    _calamine: Any = None
    _errors: dict[str, dict[tuple[int, int], object]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path) -> WorkbookReader:
        reader = cls(Path(path))
        reader._load_structure()
        return reader

    @property
    def book(self) -> str:
        return self.path.name

    def _load_structure(self) -> None:
        book = self.book
        with open_package(self.path) as zf:
            root = parse_xml(read_part(zf, "xl/workbook.xml", book), book, "xl/workbook.xml")
            rels = read_rels(zf, "xl/workbook.xml", book)
            for el in root.iter(f"{{{NS_MAIN}}}sheet"):
                rid = el.get(f"{{{NS_REL}}}id", "")
                rtype, target = rels.get(rid, ("", ""))
                self.sheets.append(SheetInfo(el.get("name", ""), target if rtype == REL_WORKSHEET
                                             else "", el.get("state", "visible")))
            for el in root.iter(f"{{{NS_MAIN}}}definedName"):
                local = el.get("localSheetId")
                self.names.append(DefinedName(el.get("name", ""), el.text or "",
                                              int(local) if local is not None else None))
            names_in_zip = set(zf.namelist())
            for sheet in self.sheets:
                if not sheet.part or sheet.part not in names_in_zip:
                    continue
                for rtype, target in read_rels(zf, sheet.part, book).values():
                    if rtype != REL_TABLE or target not in names_in_zip:
                        continue
                    t = parse_xml(read_part(zf, target, book), book, target)
                    parsed = parse_area(t.get("ref", ""))
                    if parsed is None:
                        continue
                    _, r0, c0, r1, c1 = parsed
                    name = t.get("displayName") or t.get("name") or ""
                    totals = int(t.get("totalsRowCount", "0") or 0)
                    self.tables[name.lower()] = TableInfo(
                        name, sheet.name, Area(sheet.name, r0, c0, max(r1 - totals, r0), c1),
                        int(t.get("headerRowCount", "1")), totals)

    # ---- name resolution -------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return self._find_name(name) is not None or name.lower() in self.tables

    def _find_name(self, name: str) -> list[DefinedName] | None:
        found = [n for n in self.names if n.name.lower() == name.lower()]
        return found or None

    def resolve(self, name: str) -> Area:
        """Area of a defined name (workbook- or sheet-scoped) or of an Excel table."""
        found = self._find_name(name)
        if found:
            workbook_scoped = [n for n in found if n.local_sheet is None]
            if len(workbook_scoped) == 0 and len(found) > 1:
                sheets = ", ".join(self._sheet_of_local(n) for n in found)
                raise InputError(Problem(
                    f"name is defined on several sheets ({sheets}); keep one, or define it for "
                    "the workbook", book=self.book, name=name))
            dn = workbook_scoped[0] if workbook_scoped else found[0]
            return self._area_of(dn)
        table = self.tables.get(name.lower())
        if table is not None:
            return table.area
        raise InputError(Problem("no defined name or Excel table of this name",
                                 book=self.book, name=name))

    def _sheet_of_local(self, dn: DefinedName) -> str:
        if dn.local_sheet is not None and 0 <= dn.local_sheet < len(self.sheets):
            return self.sheets[dn.local_sheet].name
        return "?"

    def _area_of(self, dn: DefinedName) -> Area:
        text = dn.text.strip()
        if "#REF!" in text.upper():
            raise InputError(Problem(f"name points to {text} (its cells were deleted); "
                                     "redefine it", book=self.book, name=dn.name))
        parsed = parse_area(text)
        if parsed is None:
            raise InputError(Problem(
                f"name refers to '{text}', expected a plain range like Sheet!$A$1:$D$100 "
                "(formulas, unions and links to other workbooks are not followed)",
                book=self.book, name=dn.name))
        sheet, r0, c0, r1, c1 = parsed
        if sheet is None:
            sheet = self._sheet_of_local(dn) if dn.local_sheet is not None else ""
        if sheet not in {s.name for s in self.sheets}:
            raise InputError(Problem(f"name refers to sheet '{sheet}', which does not exist",
                                     book=self.book, name=dn.name))
        return Area(sheet, r0, c0, r1, c1)

    # ---- cells ------------------------------------------------------------------------------

    def _sheet_xml(self, sheet: str) -> bytes:
        info = next((s for s in self.sheets if s.name == sheet), None)
        if info is None or not info.part:
            raise InputError(Problem("sheet not found in the workbook", book=self.book,
                                     sheet=sheet))
        with open_package(self.path) as zf:
            return read_part(zf, info.part, self.book)

    def _sheet_cells(self, sheet: str) -> list[list[Cell]]:
        if sheet not in self._cells:
            self._scan(sheet)
            try:
                if self._calamine is None:
                    import python_calamine as pc  # lazily: xlvalue.lite never reads files

                    self._calamine = pc.CalamineWorkbook.from_path(str(self.path))
                data = self._calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except Exception as exc:  # calamine raises several error types for damaged files
                raise InputError(Problem(f"cannot read the cells ({type(exc).__name__}: {exc})",
                                         book=self.book, sheet=sheet)) from None
            self._cells[sheet] = data
        return self._cells[sheet]

    def _scan(self, sheet: str) -> None:
        """One pass over the sheet XML before calamine loads it densely.

        Refuses sheets whose used area exceeds MAX_CELLS (a dense load of A1:XFD1048576 would
        exhaust memory) and records cells calamine reads as blank: Excel error values and
        formulas without a cached value.
        """
        data = self._sheet_xml(sheet)
        last_row = 0
        pos = data.rfind(b"<row ")
        if pos >= 0:
            m = _ROW_ATTR.search(data, pos)
            last_row = int(m.group(1)) if m else 0
        wide = [col_index(m.group(1).decode()) for m in _WIDE_REF.finditer(data)]
        last_col = max(wide) if wide else 702
        if last_row * (last_col + 1) > MAX_CELLS and (last_row > MAX_CELLS // 16 or wide):
            raise InputError(Problem(
                f"the used area reaches row {last_row:,} and column {last_col + 1:,}: more than "
                f"the {MAX_CELLS:,}-cell limit (XLVALUE_MAX_CELLS); delete stray cells far from "
                "the data", book=self.book, sheet=sheet))
        found: dict[tuple[int, int], object] = {}
        for m in _ERROR_CELL.finditer(data):
            ref = _REF_ATTR.search(m.group(1))
            val = _VALUE.search(m.group(2))
            if ref:
                key = (int(ref.group(2)) - 1, col_index(ref.group(1).decode()))
                found[key] = ExcelError(val.group(1).decode() if val else "#ERROR")
        for m in _FORMULA_CELL.finditer(data):
            body = m.group(2)
            val = _VALUE.search(body)
            if val is None or val.group(1) == b"":
                ref = _REF_ATTR.search(m.group(1))
                if ref:
                    key = (int(ref.group(2)) - 1, col_index(ref.group(1).decode()))
                    found.setdefault(key, UncachedFormula(_FORMULA.search(body).group(1).decode(
                        "utf-8", "replace") if _FORMULA.search(body) else ""))
        self._errors[sheet] = found

    def read_area(self, area: Area) -> list[list[Cell]]:
        """Cell values of an area, clipped to the used part of the sheet (whole columns ok).

        Excel error values come back as `ExcelError` objects so validators can name them.
        """
        cells = self._sheet_cells(area.sheet)
        r1 = min(area.r1, len(cells) - 1)
        used_width = max((len(r) for r in cells), default=0)
        c1 = min(area.c1, max(used_width - 1, area.c0))
        width = c1 - area.c0 + 1
        rows = []
        for row in cells[area.r0:r1 + 1]:
            part = row[area.c0:c1 + 1]
            if len(part) < width:
                part = part + [""] * (width - len(part))
            rows.append(part)
        for (r, c), marker in self._errors.get(area.sheet, {}).items():
            if area.r0 <= r <= r1 and area.c0 <= c <= c1 and rows[r - area.r0][c - area.c0] == "":
                rows[r - area.r0][c - area.c0] = marker
        return rows

    def read(self, name: str) -> RawRange:
        area = self.resolve(name)
        return RawRange(name, self.book, area, self.read_area(area))

    def close(self) -> None:
        if self._calamine is not None:
            self._calamine.close()
            self._calamine = None


def _canonical(v: Any) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return repr(float(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)

