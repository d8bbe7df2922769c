"""Low-level helpers for the OOXML package (.xlsx/.xlsm): safe zip opening, XML parsing, refs.

Everything that opens a user file goes through here, so the limits against hostile files
(zip bombs, entity expansion) are enforced in one place.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lxml import etree

from xlvalue.errors import InputError, Problem

__all__ = ["WORKBOOK_SUFFIXES", "MAX_COLS", "MAX_INFLATED_BYTES", "MAX_PART_BYTES",
           "MAX_PART_RATIO", "NS_STRICT", "check_members", "iter_part", "MAX_ROWS", "NS_CT", "NS_MAIN",
           "NS_PKG_REL", "NS_REL", "REL_CHART", "REL_DRAWING", "REL_TABLE", "REL_WORKSHEET", "Area",
           "cell_ref", "col_index", "col_letter", "open_package", "parse_area", "parse_xml",
           "quote_sheet", "read_part", "read_rels", "rels_path", "resolve_target", "to_bytes"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")  # the workbooks xlvalue reads and writes

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_WORKSHEET = NS_REL + "/worksheet"
REL_TABLE = NS_REL + "/table"
REL_DRAWING = NS_REL + "/drawing"
REL_CHART = NS_REL + "/chart"

# Limits against hostile files; override with environment variables (documented in SECURITY.md).
MAX_INFLATED_BYTES = int(os.environ.get("XLVALUE_MAX_INFLATED_BYTES", 2 * 1024**3))
MAX_PART_RATIO = int(os.environ.get("XLVALUE_MAX_COMPRESSION_RATIO", 1000))
# a part xlvalue (or calamine) reads is refused above this size, before it is inflated
MAX_PART_BYTES = int(os.environ.get("XLVALUE_MAX_PART_BYTES", 512 * 1024**2))
NS_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
# what a damaged or unsupported zip member raises while it is inflated
_MEMBER_ERRORS = (zipfile.BadZipFile, OSError, EOFError, KeyError, zlib.error,
                  NotImplementedError, RuntimeError, ValueError)
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                          remove_blank_text=False, load_dtd=False)


def parse_xml(data: bytes, book: str = "", part: str = "") -> etree._Element:
    """Parse XML without resolving entities or DTDs (no billion-laughs, no external fetches)."""
    if _DECLARATION.search(data):  # anywhere in the part, not only its first bytes
        raise InputError(Problem(f"part {part} declares a DTD or entities; refused", book=book))
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InputError(Problem(f"part {part} is not well-formed XML ({exc})", book=book)) from None
    if root.getroottree().docinfo.doctype:
        raise InputError(Problem(f"part {part} declares a DTD or entities; refused", book=book))
    return root


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def open_package(path: Path) -> zipfile.ZipFile:
    """Open a workbook as a zip, refusing what is not an OOXML workbook or is a zip bomb.

    Checked from the zip directory before anything is inflated: a regular file (a FIFO or a
    device would hang or never end), one entry per part name (duplicates, also differing only
    in case, make an invalid package), stored or deflated members only, none encrypted, the
    total and per-part inflated sizes and compression ratios.
    """
    book = path.name
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(Problem("file not found", book=str(path))) from None
    except OSError as exc:
        raise InputError(Problem(f"cannot be read ({exc.strerror or exc})", book=str(path))) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(Problem("is a folder, not a workbook", book=str(path)))
    if not stat.S_ISREG(st.st_mode):
        raise InputError(Problem("is not a regular file (a pipe, socket or device?); "
                                 "give the path of a saved workbook", book=book))
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputError(Problem(f"cannot be read ({exc.strerror or exc})", book=book)) from None
    if not head:
        raise InputError(Problem("file is empty (0 bytes), not a workbook", book=book))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(Problem(
            "is an encrypted (password-protected) workbook or an old .xls file; "
            "save it as an unprotected .xlsx or .xlsm", book=book))
    if not head.startswith(b"PK"):
        raise InputError(Problem(
            "is not an Excel .xlsx/.xlsm workbook (a CSV or text file renamed?)", book=book))
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise InputError(Problem(f"is damaged or truncated ({exc})", book=book)) from None
    try:
        check_members(infos, book)
    except InputError:
        zf.close()
        raise
    return zf


def check_members(infos: list[zipfile.ZipInfo], book: str) -> None:
    """The directory checks of open_package (see there)."""
    total = 0
    seen: dict[str, str] = {}
    for info in infos:
        key = info.filename.lower()
        if key in seen:
            raise InputError(Problem(
                f"the zip holds two entries for the part {info.filename}"
                + ("" if seen[key] == info.filename else f" (and {seen[key]})")
                + "; it is not a valid workbook package (re-save it in Excel)", book=book))
        seen[key] = info.filename
        if info.flag_bits & 0x1:
            raise InputError(Problem(
                f"part {info.filename} is encrypted inside the zip; save the workbook "
                "unprotected from Excel", book=book))
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError(Problem(
                f"part {info.filename} uses compression method {info.compress_type}, which Excel "
                "workbooks never use (only stored or deflated); re-save it in Excel", book=book))
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_PART_RATIO \
                and info.file_size > 10 * 1024**2:
            raise InputError(Problem(
                f"part {info.filename} inflates {info.file_size / info.compress_size:.0f}-fold "
                f"(limit {MAX_PART_RATIO}); refused as a possible zip bomb", book=book))
    if total > MAX_INFLATED_BYTES:
        raise InputError(Problem(
            f"inflates to {total / 1024**3:.1f} GiB (limit {MAX_INFLATED_BYTES / 1024**3:.1f} GiB, "
            "XLVALUE_MAX_INFLATED_BYTES); refused", book=book))
    if "xl/workbook.xml" not in seen:
        if any(k.endswith("workbook.xml") for k in seen):
            raise InputError(Problem(
                "keeps its workbook part somewhere other than xl/workbook.xml, which xlvalue "
                "does not read; re-save it in Excel as an Excel Workbook (.xlsx)", book=book))
        raise InputError(Problem(
            "is a zip file but not an Excel workbook (no xl/workbook.xml)", book=book))


def _part_too_large(name: str, size: int, book: str) -> InputError:
    return InputError(Problem(
        f"part {name} inflates to {size / 1024**2:,.0f} MiB, more than the "
        f"{MAX_PART_BYTES / 1024**2:,.0f} MiB a part may hold (XLVALUE_MAX_PART_BYTES); refused",
        book=book))


def iter_part(zf: zipfile.ZipFile, name: str, book: str = "",
              chunk: int = 1024**2) -> Iterator[bytes]:
    """A part as a stream of inflated chunks, stopped at MAX_PART_BYTES (the declared size is
    checked first; the inflated bytes are counted too, as the header may lie)."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise InputError(Problem(f"part {name} is missing", book=book)) from None
    if info.file_size > MAX_PART_BYTES:
        raise _part_too_large(name, info.file_size, book)
    done = 0
    try:
        with zf.open(info) as fh:
            while True:
                data = fh.read(chunk)
                if not data:
                    return
                done += len(data)
                if done > MAX_PART_BYTES:
                    raise _part_too_large(name, done, book)
                yield data
    except _MEMBER_ERRORS as exc:
        raise InputError(Problem(f"part {name} is damaged ({type(exc).__name__}: {exc})",
                                 book=book)) from None


def read_part(zf: zipfile.ZipFile, name: str, book: str = "") -> bytes:
    """Read one part whole, within MAX_PART_BYTES (see iter_part)."""
    return b"".join(iter_part(zf, name, book))


def resolve_target(base_part: str, target: str) -> str:
    """Resolve a relationship target relative to the part that holds the relationship."""
    if target.startswith("/"):
        return target[1:]
    base = PurePosixPath(base_part).parent
    parts: list[str] = []
    for piece in (base / target).parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def rels_path(part: str) -> str:
    p = PurePosixPath(part)
    return str(p.parent / "_rels" / (p.name + ".rels"))


def read_rels(zf: zipfile.ZipFile, part: str, book: str = "") -> dict[str, tuple[str, str]]:
    """Relationships of a part: rId -> (type, resolved target). External targets are skipped."""
    path = rels_path(part)
    if path not in zf.NameToInfo:
        return {}
    root = parse_xml(read_part(zf, path, book), book, path)
    out: dict[str, tuple[str, str]] = {}
    for rel in root.iter(f"{{{NS_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        out[rel.get("Id", "")] = (rel.get("Type", ""), resolve_target(part, rel.get("Target", "")))
    return out


# ---- A1 references -------------------------------------------------------------------------

MAX_ROWS = 1_048_576
MAX_COLS = 16_384
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})?\$?(\d+)?$")


def col_letter(col: int) -> str:
    """0-based column index -> Excel letters."""
    col += 1
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """Excel letters -> 0-based column index."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def cell_ref(row: int, col: int) -> str:
    """0-based (row, col) -> 'C17'."""
    return f"{col_letter(col)}{row + 1}"


@dataclass(frozen=True)
class Area:
    """A rectangular area of one sheet, 0-based inclusive bounds."""

    sheet: str
    r0: int
    c0: int
    r1: int
    c1: int

    @property
    def a1(self) -> str:
        return f"{cell_ref(self.r0, self.c0)}:{cell_ref(self.r1, self.c1)}"


def quote_sheet(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def parse_area(text: str) -> tuple[str | None, int, int, int, int] | None:
    """Parse `Sheet!$A$1:$C$9` (or A:C, 1:9, a single cell). None if it is not a plain area."""
    text = text.strip()
    if text.startswith("="):
        text = text[1:]
    sheet: str | None = None
    if "!" in text:
        sheet_part, text = text.rsplit("!", 1)
        if sheet_part.startswith("'") and sheet_part.endswith("'"):
            sheet_part = sheet_part[1:-1].replace("''", "'")
        if "[" in sheet_part or not sheet_part:
            return None  # external workbook reference: never followed
        sheet = sheet_part
    pieces = text.split(":")
    if len(pieces) > 2 or not text:
        return None
    bounds = []
    for piece in pieces:
        m = _CELL.match(piece)
        if not m or (m.group(1) is None and m.group(2) is None):
            return None
        c = col_index(m.group(1)) if m.group(1) else None
        r = int(m.group(2)) - 1 if m.group(2) else None
        bounds.append((r, c))
    (ra, ca), (rb, cb) = bounds[0], bounds[-1]
    r0 = 0 if ra is None else ra
    r1 = MAX_ROWS - 1 if rb is None else rb
    c0 = 0 if ca is None else ca
    c1 = MAX_COLS - 1 if cb is None else cb
    return sheet, min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)
