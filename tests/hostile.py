"""Hostile and unusual packages for the malformed corpus (issue 16), built by code, small.

Each class of the issue has cases here: parts shared between an `xv_*` sheet and the user's
(image, pivot cache, theme, input sheet), broken zips, positions of cells written every way
(quotes, prefixes, rows and cells without r, far stray cells), markup that made scans
backtrack, deflate bombs, DTDs anywhere, package attributes that are not numbers, Strict Open
XML, and values at the edges (shared-string indices, dates, ids, escapes).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet.table import Table

from . import malformed as m

SHEET = "xl/worksheets/sheet1.xml"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path: Path, parts: dict[str, bytes] | list[tuple[str, bytes]],
           compress: int = zipfile.ZIP_DEFLATED) -> Path:
    items = parts.items() if isinstance(parts, dict) else parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        with zipfile.ZipFile(path, "w", compress) as zf:
            for n, data in items:
                zf.writestr(n, data)
    return path


def _sub(part: str, pattern: str, repl: str, count: int = 1):
    def edit(parts: dict[str, bytes]) -> None:
        text = parts[part].decode()
        new, n = re.subn(pattern, repl, text, count=count)
        assert n, (part, pattern)
        parts[part] = new.encode()
    return edit


def _edit(path: Path, *edits) -> Path:
    parts = _parts(path)
    for e in edits:
        e(parts)
    return _write(path, parts)


def _ct_add(parts: dict[str, bytes], xml: str) -> None:
    ct = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = ct.replace("</Types>", xml + "</Types>").encode()


def _rels_add(parts: dict[str, bytes], rels: str, xml: str) -> None:
    text = parts.get(rels, f'<Relationships xmlns="{NS_PR}"></Relationships>'.encode()).decode()
    parts[rels] = text.replace("</Relationships>", xml + "</Relationships>").encode()


# ---- nothing of the user's workbook lost --------------------------------------------------

def _with_old_xv_sheet(path: Path, relate: list[tuple[str, str]], extra_parts=None,
                       workbook_xml=None) -> Path:
    """A workbook that already holds an `xv_out_RFM` sheet (sheet3.xml) whose relationships
    point at `relate` [(type, target from xl/worksheets/)]: the writer replaces that sheet."""
    path = m.book(path)
    parts = _parts(path)
    parts["xl/worksheets/sheet3.xml"] = (f'<worksheet xmlns="{NS}" xmlns:r="{NS_R}"><sheetData/>'
                                         "</worksheet>").encode()
    _rels_add(parts, "xl/worksheets/_rels/sheet3.xml.rels", "".join(
        f'<Relationship Id="rId{i}" Type="{NS_R}/{t}" Target="{target}"/>'
        for i, (t, target) in enumerate(relate, 1)))
    _rels_add(parts, "xl/_rels/workbook.xml.rels",
              f'<Relationship Id="rIdOld" Type="{NS_R}/worksheet" Target="worksheets/sheet3.xml"/>')
    wb = parts["xl/workbook.xml"].decode()
    wb = re.sub(r"(<sheet [^>]*/>)(?!.*<sheet )", r'\1<sheet name="xv_out_RFM" sheetId="9" '
                f'r:id="rIdOld" xmlns:r="{NS_R}"/>', wb, count=1, flags=re.S)
    if workbook_xml:
        wb = workbook_xml(wb)
    parts["xl/workbook.xml"] = wb.encode()
    _ct_add(parts, '<Override PartName="/xl/worksheets/sheet3.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
    for name, data in (extra_parts or {}).items():
        parts[name] = data
    return _write(path, parts)


def shared_image(path: Path) -> Path:
    """One PNG used by a drawing of the user's sheet and by the old xv_ sheet's drawing."""
    drawing = (f'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
               f'spreadsheetDrawing" xmlns:r="{NS_R}"/>').encode()
    pic_rel = (f'<Relationships xmlns="{NS_PR}"><Relationship Id="rId1" Type="{NS_R}/image" '
               'Target="../media/image1.png"/></Relationships>').encode()
    path = _with_old_xv_sheet(path, [("drawing", "../drawings/drawing2.xml")], {
        "xl/media/image1.png": PNG,
        "xl/drawings/drawing1.xml": drawing, "xl/drawings/_rels/drawing1.xml.rels": pic_rel,
        "xl/drawings/drawing2.xml": drawing, "xl/drawings/_rels/drawing2.xml.rels": pic_rel})
    parts = _parts(path)
    _rels_add(parts, "xl/worksheets/_rels/sheet1.xml.rels",
              f'<Relationship Id="rIdD" Type="{NS_R}/drawing" Target="../drawings/drawing1.xml"/>')
    parts[SHEET] = parts[SHEET].replace(b"</worksheet>", b'<drawing xmlns:r="' + NS_R.encode()
                                        + b'" r:id="rIdD"/></worksheet>')
    _ct_add(parts, '<Default Extension="png" ContentType="image/png"/>'
            '<Override PartName="/xl/drawings/drawing1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.drawing+xml"/><Override PartName="/xl/drawings/'
            'drawing2.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'drawing+xml"/>')
    return _write(path, parts)


def shared_pivot_cache(path: Path) -> Path:
    """The old xv_ sheet holds a pivot table whose cache workbook.xml lists in <pivotCaches>."""
    cache = (f'<pivotCacheDefinition xmlns="{NS}" xmlns:r="{NS_R}" r:id="rId1"/>').encode()
    records = f'<pivotCacheRecords xmlns="{NS}" count="0"/>'.encode()
    table = (f'<pivotTableDefinition xmlns="{NS}" name="P" cacheId="1"/>').encode()

    def wb_edit(wb: str) -> str:
        return wb.replace("</workbook>", f'<pivotCaches><pivotCache cacheId="1" '
                          f'xmlns:r="{NS_R}" r:id="rIdPC"/></pivotCaches></workbook>')
    path = _with_old_xv_sheet(path, [("pivotTable", "../pivotTables/pivotTable1.xml")], {
        "xl/pivotCache/pivotCacheDefinition1.xml": cache,
        "xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels": (
            f'<Relationships xmlns="{NS_PR}"><Relationship Id="rId1" Type="{NS_R}/'
            'pivotCacheRecords" Target="pivotCacheRecords1.xml"/></Relationships>').encode(),
        "xl/pivotCache/pivotCacheRecords1.xml": records,
        "xl/pivotTables/pivotTable1.xml": table,
        "xl/pivotTables/_rels/pivotTable1.xml.rels": (
            f'<Relationships xmlns="{NS_PR}"><Relationship Id="rId1" Type="{NS_R}/'
            'pivotCacheDefinition" Target="../pivotCache/pivotCacheDefinition1.xml"/>'
            '</Relationships>').encode()}, wb_edit)
    parts = _parts(path)
    _rels_add(parts, "xl/_rels/workbook.xml.rels", f'<Relationship Id="rIdPC" Type="{NS_R}/'
              'pivotCacheDefinition" Target="pivotCache/pivotCacheDefinition1.xml"/>')
    return _write(path, parts)


def relates_to_theme_and_inputs(path: Path) -> Path:
    """The old xv_ sheet relates to the theme, the Transactions sheet and its table."""
    path = m.book(path)
    wb = _add_table(path)
    del wb
    return _with_old_xv_sheet(path, [("theme", "../theme/theme1.xml"),
                                     ("worksheet", "sheet1.xml"),
                                     ("table", "../tables/table1.xml")])


def _add_table(path: Path):
    """Put an Excel table (not named xv_*) over the Transactions data."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb["Transactions"].add_table(Table(displayName="UserTable", ref="A1:C13"))
    wb.save(path)
    return wb


# ---- broken zips --------------------------------------------------------------------------

def duplicate_entry(path: Path, second: str = SHEET) -> Path:
    parts = _parts(m.book(path))
    items = list(parts.items()) + [(second, parts[SHEET])]
    return _write(path, items)


def _member_offsets(data: bytes, name: str) -> tuple[int, int]:
    """Offsets of the local and the central header of a member."""
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
        local = zf.getinfo(name).header_offset
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(name.encode()) + 1)
    return local, central


def corrupt_deflate(path: Path) -> Path:
    data = bytearray(m.book(path).read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(SHEET)
    start = info.header_offset + 30 + len(SHEET) + len(info.extra)
    for i in range(start + 5, start + min(info.compress_size - 2, 60)):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def encrypted_flag(path: Path) -> Path:
    data = bytearray(m.book(path).read_bytes())
    local, central = _member_offsets(bytes(data), SHEET)
    for off in (local + 6, central + 8):
        flags = struct.unpack_from("<H", data, off)[0]
        struct.pack_into("<H", data, off, flags | 0x1)
    path.write_bytes(bytes(data))
    return path


def bzip2_member(path: Path) -> Path:
    parts = _parts(m.book(path))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in parts.items():
            zf.writestr(n, d, compress_type=zipfile.ZIP_BZIP2 if n == SHEET else None)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# ---- cell positions ------------------------------------------------------------------------

def far_cell(ref: str, quote: str = '"') -> callable:
    def build(path: Path) -> Path:
        row = re.sub(r"\D", "", ref)
        return _edit(m.book(path), _sub(SHEET, "</sheetData>", (
            f"<row r={quote}{row}{quote}><c r={quote}{ref}{quote} t=\"inlineStr\"><is><t>x</t>"
            "</is></c></row></sheetData>")))
    return build


def prefixed(path: Path, stray: bool = False) -> Path:
    """The whole sheet written with an `x:` prefix for SpreadsheetML (valid XML)."""
    def edit(parts: dict[str, bytes]) -> None:
        text = parts[SHEET].decode()
        text = re.sub(r"<(/?)(?![?!])([A-Za-z]+)", r"<\1x:\2", text)
        text = text.replace(f'xmlns="{NS}"', f'xmlns:x="{NS}"')
        if stray:
            text = text.replace("</x:sheetData>", '<x:row r="1048576"><x:c r="XFD1048576"><x:v>1'
                                "</x:v></x:c></x:row></x:sheetData>")
        parts[SHEET] = text.encode()
    return _edit(m.book(path), edit)


def without_r(path: Path, rows: bool = True, cells: bool = False, tail: str = "") -> Path:
    def edit(parts: dict[str, bytes]) -> None:
        text = parts[SHEET].decode()
        if rows:
            text = re.sub(r'(<row\b[^>]*?) r="\d+"', r"\1", text)
        if cells:
            text = re.sub(r'(<c\b[^>]*?) r="[A-Z]+\d+"', r"\1", text)
        text = text.replace("</sheetData>", tail + "</sheetData>")
        parts[SHEET] = text.encode()
    return _edit(m.book(path), edit)


def markup_before_rows(markup: str) -> callable:
    def build(path: Path) -> Path:
        return _edit(m.book(path), _sub(SHEET, "<sheetData>", "<sheetData>" + markup))
    return build


def bomb_part(path: Path, size: int, after_rows: bool = False) -> Path:
    """The sheet followed by `size` bytes of spaces (deflated about 1000-fold)."""
    parts = _parts(m.book(path))
    text = parts.pop(SHEET)
    head, tail = text.split(b"</sheetData>") if after_rows else text.split(b"<sheetData>")
    sep = b"</sheetData>" if after_rows else b"<sheetData>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
        with zf.open(SHEET, "w", force_zip64=True) as fh:
            fh.write(head + sep)
            block = b" " * 2**20
            for _ in range(size // 2**20):
                fh.write(block)
            fh.write(tail)
    return path


def many_parts(path: Path, count: int, size: int) -> Path:
    """`count` unowned parts of `size` bytes each (zeros): the writer must not inflate them."""
    path = m.book(path)
    block = bytes(size)
    packed = zlib.compress(block, 9)
    del packed
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(count):
            zf.writestr(f"customXml/blob{i}.bin", block)
    return path


def strict(path: Path) -> Path:
    strict_ns = "http://purl.oclc.org/ooxml/spreadsheetml/main"

    def edit(parts: dict[str, bytes]) -> None:
        for name in list(parts):
            if name.startswith("xl/") and name.endswith(".xml"):
                parts[name] = parts[name].replace(NS.encode(), strict_ns.encode())
    return _edit(m.book(path), edit)


def shared_strings(path: Path, index: str) -> Path:
    """Customer ids as shared strings; one cell's index is `index`."""
    def edit(parts: dict[str, bytes]) -> None:
        text = parts[SHEET].decode()
        ids = sorted(set(re.findall(r'<c r="A(\d+)" t="inlineStr"><is><t>([^<]*)</t>', text)),
                     key=lambda x: int(x[0]))
        table = sorted({v for _, v in ids})
        for r, v in ids:
            text = text.replace(f'<c r="A{r}" t="inlineStr"><is><t>{v}</t></is></c>',
                                f'<c r="A{r}" t="s"><v>{table.index(v)}</v></c>')
        text = text.replace('<c r="A5" t="s"><v>', f'<c r="A5" t="s"><v>{index}<!--', 1)
        text = re.sub(r"<!--\d+</v>", "</v>", text)
        parts[SHEET] = text.encode()
        parts["xl/sharedStrings.xml"] = (f'<sst xmlns="{NS}" count="{len(table)}" uniqueCount='
                                         f'"{len(table)}">' + "".join(
                                             f"<si><t>{v}</t></si>" for v in table)
                                         + "</sst>").encode()
        _ct_add(parts, '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
        _rels_add(parts, "xl/_rels/workbook.xml.rels", f'<Relationship Id="rIdSS" Type="{NS_R}'
                  '/sharedStrings" Target="sharedStrings.xml"/>')
    return _edit(m.book(path), edit)


def eval_book(path: Path, cells: dict[str, str] | None = None, far: bool = False,
              text: str | None = None) -> Path:
    """A workbook with an XV_ formula (for `xlvalue eval`); `text` goes into C1 as a text
    cell (what Excel saves for '=...)."""
    wb = Workbook()
    ws = wb.active
    ws["A1"] = 1
    ws["B1"] = "=XV_NBD_P(A1,0.84,2.67)"
    for ref, value in (cells or {}).items():
        ws[ref] = value
    wb.save(path)
    if far:
        _edit(path, _sub(SHEET, "</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v>'
                         "</c></row></sheetData>"))
    if text:
        _edit(path, _sub(SHEET, "</row>", f'<c r="C1" t="inlineStr"><is><t>{text}</t></is></c>'
                         "</row>"))
    return path


# ---- TransactionsFile (issue 23, item 10) ----------------------------------------------------

LOG = "CustomerID,Date,Amount\nA,2024-01-02,5\nB,2024-01-09,7\nA,2024-02-01,3\n"


def log_file_book(path: Path, setting: str, files: dict[str, str | None]) -> Path:
    """A workbook whose TransactionsFile is `setting`, beside `files` (name -> CSV text, or
    None for a link: 'name' -> the file it links to, given as 'name=target')."""
    for name, text in files.items():
        if "=" in name:
            link, target = name.split("=", 1)
            if target.startswith("hard:"):
                os.link(path.parent / target[5:], path.parent / link)
            else:
                (path.parent / link).symlink_to(target)
        else:
            (path.parent / name).write_text(text or LOG)
    book = m.book(path, settings={"TransactionsFile": setting.replace("\0", "NUL")})
    if "\0" in setting:  # openpyxl refuses a NUL: written the way Excel escapes it
        _edit(book, _sub("xl/worksheets/sheet2.xml", "NUL", "_x0000_"))
    return book


WINDOW = "more than the 100 years an analysis covers"  # issue 23.9b


def hostile_cases() -> list[m.Case]:
    C = m.Case
    out: list[m.Case] = []
    add = out.append
    old = frozenset({"xl/worksheets/sheet3.xml", "xl/worksheets/_rels/sheet3.xml.rels"})
    # -- nothing lost: parts of a replaced xv_ sheet that others still use stay
    add(C("image shared by a user sheet and an xv_ sheet", shared_image, None,
          may_drop=old | {"xl/drawings/drawing2.xml", "xl/drawings/_rels/drawing2.xml.rels"}))
    add(C("pivot cache listed in workbook.xml", shared_pivot_cache, None,
          may_drop=old | {"xl/pivotTables/pivotTable1.xml",
                          "xl/pivotTables/_rels/pivotTable1.xml.rels"}))
    add(C("xv_ sheet relating to the theme, an input sheet and its table",
          relates_to_theme_and_inputs, None, may_drop=old))
    # -- broken zips and package attributes
    add(C("duplicate zip entry", duplicate_entry, "the zip holds two entries for the part"))
    add(C("duplicate zip entry differing in case",
          lambda p: duplicate_entry(p, SHEET.upper()), "the zip holds two entries"))
    add(C("corrupt deflate stream", corrupt_deflate, "is damaged"))
    add(C("member flagged encrypted", encrypted_flag, "is encrypted inside the zip"))
    add(C("unknown compression method", bzip2_member, "uses compression method 12"))
    add(C("workbook path is a FIFO", fifo, "is not a regular file"))
    add(C("styles without fonts and cellXfs", lambda p: _edit(m.book(p), _sub(
        "xl/styles.xml", r"<fonts.*?</fonts>", ""), _sub("xl/styles.xml", r"<cellXfs.*?</cellXfs>",
                                                          "")), None))
    add(C("empty styles.xml", lambda p: _edit(m.book(p), lambda parts: parts.update(
        {"xl/styles.xml": f'<styleSheet xmlns="{NS}"/>'.encode()})), None))
    add(C("sheetId that is not a number", lambda p: _edit(m.book(p), _sub(
        "xl/workbook.xml", r'sheetId="1"', 'sheetId="first"')), None))
    add(C("localSheetId that is not a number", lambda p: _edit(m.book(p), _sub(
        "xl/workbook.xml", r'<definedName name="xv_Transactions"',
        '<definedName localSheetId="x" name="xv_Transactions"')), "localSheetId"))

    def table_header_count(p: Path) -> Path:
        path = m.book(p)
        _add_table(path)
        return _edit(path, _sub("xl/tables/table1.xml", r"<table ", '<table headerRowCount="one" '))
    add(C("table headerRowCount that is not a number", table_header_count, "headerRowCount"))
    add(C("no [Content_Types].xml", lambda p: _edit(m.book(p), lambda parts: parts.pop(
        "[Content_Types].xml")), "has no [Content_Types].xml"))
    add(C("[Content_Types].xml lists a part twice", lambda p: _edit(m.book(p), lambda parts: _ct_add(
        parts, '<Override PartName="/xl/workbook.xml" ContentType="application/xml"/>')),
        "lists /xl/workbook.xml twice"))
    add(C("[Content_Types].xml entry without PartName", lambda p: _edit(m.book(p), lambda parts:
          _ct_add(parts, '<Override ContentType="application/xml"/>')), "malformed entry"))
    add(C("entity in [Content_Types].xml", lambda p: _edit(m.book(p), _sub(
        "[Content_Types].xml", "<Types", '<!DOCTYPE t [<!ENTITY x "y">]><Types')),
        "declares a DTD or entities"))
    add(C("external entity in [Content_Types].xml", lambda p: _edit(m.book(p), _sub(
        "[Content_Types].xml", "<Types", '<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<Types")), "declares a DTD or entities"))
    add(C("DOCTYPE after a long comment in workbook.xml", lambda p: _edit(m.book(p), _sub(
        "xl/workbook.xml", "<workbook", "<!--" + "x" * 8000 + '--><!DOCTYPE w [<!ENTITY e "e">]>'
        "<workbook")), "declares a DTD or entities"))
    add(C("DOCTYPE after a long comment in the sheet", lambda p: _edit(m.book(p), _sub(
        SHEET, "<worksheet", "<!--" + "x" * 8000 + '--><!DOCTYPE w [<!ENTITY e "e">]><worksheet')),
        "declares a DTD or entities"))
    add(C("Strict Open XML workbook", strict, "Strict Open XML, which xlvalue does not read"))
    # -- the used area, however a cell position is written
    add(C("stray cell at ZZ1048576", far_cell("ZZ1048576"), "more than the"))
    add(C("stray cell reference in single quotes", far_cell("XFD1048576", "'"), "more than the"))
    add(C("prefixed SpreadsheetML namespace", prefixed, None))
    add(C("prefixed namespace with a far cell", lambda p: prefixed(p, stray=True),
          "more than the"))
    add(C("rows without r", without_r, None))
    add(C("rows and cells without r", lambda p: without_r(p, cells=True), None))
    add(C("row without r after the last row", lambda p: without_r(
        p, rows=False, tail='<row r="1048576"/><row><c t="inlineStr"><is><t>x</t></is></c></row>'),
        "beyond Excel's last cell"))
    add(C("cells without r beyond column XFD", lambda p: without_r(
        p, rows=False, tail='<row r="20">' + "<c><v>1</v></c>" * 16385 + "</row>"),
        "beyond Excel's last cell"))
    add(C("cell position that is not a reference", lambda p: _edit(m.book(p), _sub(
        SHEET, r'<c r="B3"', '<c r="B3C"')), "is not a cell reference"))
    # -- scans linear in the part's size
    add(C("60,000-character comment of cell tags", markup_before_rows(
        "<!--" + "<c r" * 15000 + "-->"), None))
    add(C("60,000-character processing instruction", markup_before_rows(
        "<?pi " + "<row " * 12000 + "?>"), None))
    add(C("60,000 characters of unclosed cell tags in CDATA", markup_before_rows(
        "<!--x--><![CDATA[" + "<c t='e'" * 7500 + "]]>"), None))
    # -- deflate bombs and sizes
    add(C("1 GB of whitespace in a sheet, deflated to 1 MB", lambda p: bomb_part(p, 2**30),
          "more than the 512 MiB a part may hold", slow=True,
          env={"XLVALUE_MAX_COMPRESSION_RATIO": "100000"}))
    add(C("styles.xml over the part-size limit (calamine reads it whole)", lambda p: _edit(
        m.book(p), _sub("xl/styles.xml", "</styleSheet>", " " * 300_000 + "</styleSheet>")),
        "part xl/styles.xml inflates to", env={"XLVALUE_MAX_PART_BYTES": "200000"}))
    add(C("80 MiB of padding after the rows", lambda p: bomb_part(p, 80 * 2**20, after_rows=True),
          "between two row starts", env={"XLVALUE_MAX_COMPRESSION_RATIO": "100000"}))
    add(C("110 parts of 9.99 MiB (1.1 GB) copied without inflating", lambda p: many_parts(
        p, 110, 10 * 2**20 - 10 * 1024), None, slow=True))
    # -- shared-string indices
    for index in ("-1", "x", "99", "1.5"):
        add(C(f"shared-string index {index}", lambda p, i=index: shared_strings(p, i),
              "shared-string index is not a whole number inside the table"))
    add(C("shared strings, valid", lambda p: shared_strings(p, "0"), None))
    # -- dates, numbers and texts at the edges (internal errors before)
    rows = m.tx_rows
    for text in ("2024-01-03T10:00:00+02:00", "2024-01-03T10:00:00Z", "2262-05-01",
                 "9999-12-31"):  # read, then a window of 238 or 7,976 years refused (23.9b)
        add(C(f"date text {text}", lambda p, t=text: m.book(p, rows=rows() + [["C9", t, 5.0]]),
              WINDOW if text[:4] in ("2262", "9999") else None))
    add(C("dates in mixed time zones", lambda p: m.book(p, rows=rows() + [
        ["C9", "2024-01-03T10:00:00Z", 5.0], ["C8", "2024-01-04T10:00:00+05:00", 5.0]]), None))
    add(C("date text in year 1", lambda p: m.book(p, rows=rows() + [["C9", "0001-01-01", 5.0]]),
          "Date '0001-01-01' is not a date"))
    add(C("date cell 9999-12-31", lambda p: m.book(p, rows=rows() + [
        ["C9", dt.date(9999, 12, 31), 5.0]]), WINDOW))
    add(C("date cell 2262-05-01", lambda p: m.book(p, rows=rows() + [
        ["C9", dt.date(2262, 5, 1), 5.0]]), WINDOW))
    add(C("serial number 1 as a date", lambda p: m.book(p, rows=rows() + [["C9", 1, 5.0]]),
          "the earliest date 1900-01-01 looks like a typo"))
    add(C("serial number 60 (the phantom 1900-02-29)", lambda p: m.book(
        p, rows=rows() + [["C9", 60, 5.0]]), "Date 60.0 is not a date"))
    add(C("date-styled NaN", lambda p: _edit(m.book(p), _sub(
        SHEET, r'<c r="B5"([^>]*)><v>[^<]*</v>', r'<c r="B5"\1><v>NaN</v>')), "Transactions!B5"))
    for value in (dt.date(9999, 12, 31), "9999-12-31"):
        add(C(f"AsOfDate {value!r}", lambda p, v=value: m.book(p, settings={"AsOfDate": v}),
              "(xv_Settings): the observation window from the first purchase (2024-01-03) to "
              "AsOfDate (9999-12-31) spans 7,976 years"))
    add(C("1e308 twice", lambda p: m.book(p, rows=rows() + [["C9", m.D0, 1e308],
                                                            ["C9", m.D0, 1e308]]),
          "total value is inf"))
    for weights in ("nan,1,1", "1e400,1,1"):
        add(C(f"RFMWeights {weights}", lambda p, w=weights: m.book(p, settings={"RFMWeights": w}),
              "holds a value that is not a finite number"))
    add(C("TierCuts with nan", lambda p: m.book(p, settings={"TierCuts": "0.1,nan,0.5"}),
          "holds a value that is not a finite number"))
    add(C("duplicated column header", lambda p: m.book(
        p, header=[*m.TX_HEADER, "Amount"], rows=[[*r, 99.0] for r in rows()]),
        "column header 'Amount' appears twice (also in C1)"))
    add(C("3 customers, score model on clv.clv: plain run skips both", lambda p: m.book(
        p, rows=[[f"C{i % 3}", m.D0 + dt.timedelta(days=7 * i), 10.0 + i] for i in range(9)],
        extra={"xv_ScoreModel": pd.DataFrame({"Indicator": ["clv.clv", "rfm.monetary"],
                                              "Weight": [50.0, 50.0]})}), None))
    add(C("customer id of 40,000 characters", lambda p: _edit(m.book(p), _sub(
        SHEET, r'(<c r="A5" t="inlineStr"><is><t>)[^<]*', r"\g<1>" + "x" * 40_000)),
        "(40,000 characters; a cell holds at most 32,767) is not a valid id"))
    add(C("European number text 1.308,52", lambda p: m.book(
        p, rows=rows() + [["C9", m.D0, "1.308,52"]]), "Amount '1.308,52' is not a number"))
    # -- a TransactionsFile opened once, by no link, with one name
    add(C("TransactionsFile setting with a NUL (_x0000_)", lambda p: log_file_book(
        p, "log\0.csv", {"log.csv": None}), "TransactionsFile holds a NUL character"))
    add(C("TransactionsFile with a second name (a hard link)", lambda p: log_file_book(
        p, "log.csv", {"data.csv": None, "log.csv=hard:data.csv": None}),
        "has 2 names (hard links)"))
    add(C("TransactionsFile a link to a file in the workbook's folder", lambda p: log_file_book(
        p, "link.csv", {"data.csv": None, "link.csv=data.csv": None}), None))
    # -- xlvalue eval, bounded like run
    add(C("eval: stray cell at XFD1048576", lambda p: eval_book(p, far=True), "more than the",
          command="eval"))
    add(C("eval: used area past the eval cell limit", lambda p: eval_book(p, {"C3000": 1}),
          "cells `eval` visits", command="eval", env={"XLVALUE_MAX_EVAL_CELLS": "5000"}))
    add(C("eval: more formulas than the limit", lambda p: eval_book(
        p, {f"A{i}": f"=A1+{i}" for i in range(2, 40)}), "formulas, more than the",
        command="eval", env={"XLVALUE_MAX_EVAL_FORMULAS": "20"}))
    add(C("eval: text that looks like an XV_ formula", lambda p: eval_book(
        p, text="=XV_ELASTICITY(1,2,3,4)"), None, command="eval"))
    return out


# ---- issue 23: trust at the edges (counts, settings names, returns, ids, dates) -----------

def _settings_name(ref: str) -> callable:
    """A book whose xv_Settings name is `ref` (a union, an unterminated quote, ...)."""
    def build(path: Path) -> Path:
        from openpyxl import load_workbook
        from openpyxl.workbook.defined_name import DefinedName

        path = m.book(path, settings={"CalibrationEnd": dt.date(2024, 2, 1)})
        wb = load_workbook(path)
        wb.defined_names["xv_Settings"] = DefinedName("xv_Settings", attr_text=ref)
        wb.save(path)
        return path
    return build


def edge_cases() -> list[m.Case]:
    """Issue 23 items 2, 6, 7, 8 and 9b (each also asserted in detail in test_edges.py)."""
    C, rows, D0 = m.Case, m.tx_rows, m.D0
    return [
        C("500 bad amounts and 30 blank ids: counted per column", lambda p: m.book(
            p, rows=rows() + [["C9", D0, "x"]] * 500 + [[None, D0, 1.0]] * 30),
          "(xv_Transactions CustomerID: 10, xv_Transactions Amount: 480)"),
        C("xv_Settings name is a union", _settings_name(
            "Settings!$A$1:$B$2,Settings!$D$1:$E$2"), "(xv_Settings): name refers to"),
        C("xv_Settings name with an unterminated quote", _settings_name("'Settings!$A$1:$B$2"),
          "(xv_Settings): name refers to"),
        C("xv_Settings name on a missing sheet", _settings_name("Gone!$A$1:$B$2"),
          "(xv_Settings): name refers to sheet 'Gone', which does not exist"),
        C("returns of a customer with no purchase", lambda p: m.book(
            p, rows=rows() + [["C9", D0, -25.0], ["C1", D0, -5.0]]), None),
        C("text id 12347.0 beside the number 12347", lambda p: m.book(
            p, rows=rows() + [[12347, D0, 5.0], ["12347.0", D0, 6.0]]), None),
        C("a year typo (2091) becomes the last date", lambda p: m.book(
            p, rows=rows() + [["C1", dt.date(2091, 1, 10), 7.0]]), None),
    ]
