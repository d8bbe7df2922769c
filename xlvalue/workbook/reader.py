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
from xlvalue.workbook import ooxml
from xlvalue.workbook.ooxml import (
    MAX_COLS,
    MAX_ROWS,
    NS_MAIN,
    NS_REL,
    NS_STRICT,
    REL_TABLE,
    REL_WORKSHEET,
    Area,
    iter_part,
    open_package,
    parse_area,
    parse_xml,
    read_part,
    read_rels,
)
from xlvalue.workbook.sheet_scan import ExcelError, UncachedFormula, scan_sheet

__all__ = ["MAX_CELLS", "Cell", "DefinedName", "ExcelError", "RangeSource", "RawRange", "SheetInfo",
           "TableInfo", "UncachedFormula", "WorkbookReader", "check_extent"]

Cell = Any  # str | float | int | bool | date | datetime | '' | ExcelError

MAX_CELLS = int(os.environ.get("XLVALUE_MAX_CELLS", 50_000_000))
REL_SHARED_STRINGS = NS_REL + "/sharedStrings"
REL_STYLES = NS_REL + "/styles"
_SI = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_NOT_A_PANIC = (KeyboardInterrupt, SystemExit, GeneratorExit)


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
    shared_strings: str = ""  # the shared-string part, if any

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
            _check_content_types(zf, book)
            root = parse_xml(read_part(zf, "xl/workbook.xml", book), book, "xl/workbook.xml")
            if root.tag == f"{{{NS_STRICT}}}workbook":
                raise InputError(Problem(
                    "is saved as Strict Open XML, which xlvalue does not read; in Excel use "
                    "File > Save As > 'Excel Workbook (*.xlsx)' and run on that copy", book=book))
            rels = read_rels(zf, "xl/workbook.xml", book)
            for rtype, target in rels.values():
                if rtype == REL_SHARED_STRINGS:
                    self.shared_strings = target
                info = zf.NameToInfo.get(target)
                if rtype in (REL_SHARED_STRINGS, REL_STYLES) and info is not None and \
                        info.file_size > ooxml.MAX_PART_BYTES:  # calamine reads these whole
                    raise InputError(Problem(
                        f"part {target} inflates to {info.file_size / 2**20:,.0f} MiB, more than "
                        f"the {ooxml.MAX_PART_BYTES / 2**20:,.0f} MiB a part may hold "
                        "(XLVALUE_MAX_PART_BYTES); refused", book=book))
            for el in root.iter(f"{{{NS_MAIN}}}sheet"):
                rid = el.get(f"{{{NS_REL}}}id", "")
                rtype, target = rels.get(rid, ("", ""))
                self.sheets.append(SheetInfo(el.get("name", ""), target if rtype == REL_WORKSHEET
                                             else "", el.get("state", "visible")))
            for el in root.iter(f"{{{NS_MAIN}}}definedName"):
                local = el.get("localSheetId")
                self.names.append(DefinedName(el.get("name", ""), el.text or "", _whole(
                    local, book, "xl/workbook.xml", f"localSheetId of the name {el.get('name')}")))
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
                    totals = _whole(t.get("totalsRowCount", "0") or "0", book, target,
                                    "totalsRowCount")
                    self.tables[name.lower()] = TableInfo(
                        name, sheet.name, Area(sheet.name, r0, c0, max(r1 - totals, r0), c1),
                        _whole(t.get("headerRowCount", "1"), book, target, "headerRowCount"),
                        totals)

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
        parsed = parse_area(text) if _one_reference(text) else None
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

    def _sheet_part(self, sheet: str) -> str:
        info = next((s for s in self.sheets if s.name == sheet), None)
        if info is None or not info.part:
            raise InputError(Problem("sheet not found in the workbook", book=self.book,
                                     sheet=sheet))
        return info.part

    def _sheet_cells(self, sheet: str) -> list[list[Cell]]:
        if sheet not in self._cells:
            self._scan(sheet)  # calamine is never handed a sheet whose extent is unbounded
            try:
                if self._calamine is None:
                    import python_calamine as pc  # lazily: xlvalue.lite never reads files

                    self._calamine = pc.CalamineWorkbook.from_path(str(self.path))
                data = self._calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except BaseException as exc:  # calamine's errors, and a Rust panic (a BaseException)
                if isinstance(exc, _NOT_A_PANIC):
                    raise
                raise InputError(Problem(f"cannot read the cells ({type(exc).__name__}: {exc})",
                                         book=self.book, sheet=sheet)) from None
            self._cells[sheet] = data
        return self._cells[sheet]

    def _scan(self, sheet: str) -> None:
        """One linear pass over the sheet XML before calamine loads it densely (sheet_scan).

        Refuses sheets whose used area exceeds MAX_CELLS (a dense load of A1:XFD1048576 would
        exhaust memory, or abort calamine) and records cells calamine reads as blank or
        wrong: Excel error values, formulas without a cached value, bad shared-string indices.
        """
        part = self._sheet_part(sheet)
        with open_package(self.path) as zf:
            count = None
            if self.shared_strings and self.shared_strings in zf.NameToInfo:
                strings = read_part(zf, self.shared_strings, self.book)
                parse_xml(strings, self.book, self.shared_strings)  # no DTD, well-formed
                count = len(_SI.findall(strings))
            scan = scan_sheet(iter_part(zf, part, self.book), self.book, sheet, part, count)
        check_extent(scan.last_row, scan.last_col, self.book, sheet)
        if scan.bad_shared:
            shown = "; ".join(scan.bad_shared[:5])
            more = f" and {len(scan.bad_shared) - 5} more" if len(scan.bad_shared) > 5 else ""
            raise InputError(Problem(
                f"shared-string index is not a whole number inside the table of "
                f"{count or 0:,} strings ({shown}{more}); the sheet is damaged (re-save it in "
                "Excel)", book=self.book, sheet=sheet))
        self._errors[sheet] = scan.markers

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


def check_extent(last_row: int, last_col: int, book: str, sheet: str) -> None:
    """Refuse a used area (1-based last row and column) beyond Excel's grid or larger than
    MAX_CELLS."""
    if last_row > MAX_ROWS or last_col > MAX_COLS:
        raise InputError(Problem(
            f"a cell lies at row {last_row:,}, column {last_col:,}: beyond Excel's last cell "
            f"XFD{MAX_ROWS} (the sheet is damaged; re-save it in Excel)", book=book, sheet=sheet))
    if last_row * last_col > MAX_CELLS:
        from xlvalue.workbook.ooxml import cell_ref

        raise InputError(Problem(
            f"the used area reaches {cell_ref(last_row - 1, last_col - 1)} (row {last_row:,}, "
            f"column {last_col:,}): more than the {MAX_CELLS:,}-cell limit (XLVALUE_MAX_CELLS); "
            "delete stray cells far from the data", book=book, sheet=sheet))


def _check_content_types(zf, book: str) -> None:
    """[Content_Types].xml exists, is safe XML and names each part and extension once (the
    writer edits it, and Excel refuses a package whose types are ambiguous)."""
    part = "[Content_Types].xml"
    if part not in zf.NameToInfo:
        raise InputError(Problem(f"has no {part}, so it is not a valid workbook package; "
                                 "re-save it in Excel", book=book))
    root = parse_xml(read_part(zf, part, book), book, part)
    seen: set[tuple[str, str]] = set()
    for el in root:
        if not isinstance(el.tag, str):
            continue
        kind = el.tag.rsplit("}", 1)[-1]
        key = el.get("PartName") if kind == "Override" else el.get("Extension")
        if kind not in ("Default", "Override") or not key or not el.get("ContentType"):
            raise InputError(Problem(f"part {part} holds a malformed entry <{kind} "
                                     f"{dict(el.attrib)}>; re-save the workbook in Excel",
                                     book=book))
        if (kind, key.lower()) in seen:
            raise InputError(Problem(f"part {part} lists {key} twice; re-save the workbook in "
                                     "Excel", book=book))
        seen.add((kind, key.lower()))


def _whole(text: str | None, book: str, part: str, what: str) -> int | None:
    """An integer attribute of the package, or a located error if it is not one."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(Problem(f"part {part}: {what} is '{text[:40]}', not a whole number; "
                                 "the workbook is damaged (re-save it in Excel)",
                                 book=book)) from None


def _one_reference(text: str) -> bool:
    """The text is one reference, `Sheet!A1:B2` or `'Sheet name'!A1:B2`: no union (a comma
    outside quotes), intersection (a space), call or unterminated quote (parse_area alone
    would read `S!A1:B2,S!D1:E2` as a range on a sheet named `S!A1:B2,S`)."""
    text = text.removeprefix("=")
    if text.startswith("'"):  # a quoted sheet name ends at a quote that is not doubled
        j = 1
        while (j := text.find("'", j)) >= 0 and text[j + 1:j + 2] == "'":
            j += 2
        if j < 0 or text[j + 1:j + 2] != "!":
            return False  # unterminated quote, or no '!' after it
        text = text[j + 2:]
    else:
        text = text.split("!", 1)[-1]  # an unquoted sheet name holds none of the signs below
    return not any(c in text for c in "'!, ()")


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

