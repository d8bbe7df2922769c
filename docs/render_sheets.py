"""Render sheets of a workbook to PNG with LibreOffice, as a person would see them printed.

Usage: python docs/render_sheets.py BOOK OUTDIR [SHEET ...] [--prefix P] [--rows N]
       (needs soffice and pdftoppm; every sheet when none is named)

Each sheet is rendered from a temporary copy in which the other sheets are hidden and the
print area is limited to the first N rows (default 60, so a 100k-row block renders its top
page only); all copies go through one LibreOffice start, then the first PDF page of each is
rasterised to OUTDIR/<prefix><sheet>.png. `make docs-img` runs this on the demo output.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lxml import etree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def sheet_names(book: Path) -> list[str]:
    with zipfile.ZipFile(book) as zf:
        root = etree.fromstring(zf.read("xl/workbook.xml"))
    return [el.get("name") for el in root.findall(f"{MAIN}sheets/{MAIN}sheet")]


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> worksheet part name."""
    wb = etree.fromstring(zf.read("xl/workbook.xml"))
    rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    for el in wb.findall(f"{MAIN}sheets/{MAIN}sheet"):
        t = target[el.get(f"{REL}id")]
        out[el.get("name")] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return out


def _used_columns(sheet_xml: bytes) -> int:
    """Rightmost column (1-based) that holds a cell or a chart anchor's end (rough)."""
    refs = re.findall(rb'<c r="([A-Z]+)\d+"', sheet_xml)
    best = 1
    for ref in set(refs):
        n = 0
        for ch in ref.decode():
            n = n * 26 + ord(ch) - 64
        best = max(best, n)
    return best


def single_sheet_copy(book: Path, sheet: str, dst: Path, rows: int, area: str | None = None,
                      max_cols: int | None = None) -> None:
    """A copy of book showing only sheet, printed on one page wide, first `rows` rows."""
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        parts = _sheet_parts(src)
        names = list(parts)
        index = names.index(sheet)
        cols = 1
        drawing_cols = 0
        part = parts[sheet]
        data = src.read(part)
        cols = _used_columns(data)
        rels_name = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rels_name in src.namelist():
            for r in etree.fromstring(src.read(rels_name)):
                if r.get("Type", "").endswith("/drawing"):
                    dpart = "xl/" + r.get("Target").replace("../", "")
                    if dpart in src.namelist():
                        xml = src.read(dpart)
                        ends = re.findall(rb"<xdr:to><xdr:col>(\d+)</xdr:col>.*?<xdr:row>(\d+)<",
                                          xml)
                        for c, r_ in ends:
                            if int(r_) < rows:
                                drawing_cols = max(drawing_cols, int(c) + 1)
                        ones = re.findall(rb"<xdr:oneCellAnchor><xdr:from><xdr:col>(\d+)</xdr:col>"
                                          rb".*?<xdr:row>(\d+)</xdr:row>.*?<xdr:ext cx=\"(\d+)\"",
                                          xml)
                        for c, r_, cx in ones:  # fixed-size charts: count default columns
                            if int(r_) < rows:
                                drawing_cols = max(drawing_cols,
                                                   int(c) + int(cx) // (64 * 9525) + 1)
        cols = max(cols + 6, drawing_cols)  # room for the last column's text to spill
        if max_cols:
            cols = min(cols, max_cols)
        letters = ""
        n = cols
        while n:
            n, rem = divmod(n - 1, 26)
            letters = chr(65 + rem) + letters
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/workbook.xml":
                root = etree.fromstring(data)
                for el in root.findall(f"{MAIN}sheets/{MAIN}sheet"):
                    el.set("state", "visible" if el.get("name") == sheet else "hidden")
                for view in root.iter(f"{MAIN}workbookView"):
                    view.set("activeTab", str(index))
                    view.set("firstSheet", str(index))
                names_el = root.find(f"{MAIN}definedNames")
                if names_el is None:
                    names_el = etree.SubElement(root, f"{MAIN}definedNames")
                    root.find(f"{MAIN}sheets").addnext(names_el)
                for el in list(names_el):
                    if el.get("name") == "_xlnm.Print_Area":
                        names_el.remove(el)
                pa = etree.SubElement(names_el, f"{MAIN}definedName")
                pa.set("name", "_xlnm.Print_Area")
                pa.set("localSheetId", str(index))
                quoted = "'" + sheet.replace("'", "''") + "'"
                if area:
                    area = re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", area.upper().replace("$", ""))
                pa.text = f"{quoted}!{area}" if area else f"{quoted}!$A$1:${letters}${rows}"
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            elif info.filename == part:
                data = _fit_one_page_wide(data)
            out.writestr(info, data)


def _fit_one_page_wide(data: bytes) -> bytes:
    root = etree.fromstring(data)
    pr = root.find(f"{MAIN}sheetPr")
    if pr is None:
        pr = etree.Element(f"{MAIN}sheetPr")
        root.insert(0, pr)
    fit = pr.find(f"{MAIN}pageSetUpPr")
    if fit is None:
        fit = etree.SubElement(pr, f"{MAIN}pageSetUpPr")
    fit.set("fitToPage", "1")
    setup = root.find(f"{MAIN}pageSetup")
    if setup is None:
        setup = etree.Element(f"{MAIN}pageSetup")
        anchor = root.find(f"{MAIN}pageMargins")
        if anchor is not None:
            anchor.addnext(setup)
        else:
            root.append(setup)
    setup.set("orientation", "landscape")
    setup.set("fitToWidth", "1")
    setup.set("fitToHeight", "1")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def render(book: Path, outdir: Path, sheets: list[str] | None = None, prefix: str = "",
           rows: int = 60, dpi: int = 110, area: str | None = None,
           max_cols: int | None = None) -> list[Path]:
    """Render each sheet to OUTDIR/<prefix><sheet>.png; returns the PNG paths."""
    sheets = sheets or sheet_names(book)
    outdir.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for i, sheet in enumerate(sheets):
            copy = Path(tmp) / f"s{i}.xlsx"
            single_sheet_copy(book, sheet, copy, rows, area, max_cols)
            copies.append(copy)
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "pdf", "--outdir", tmp, *map(str, copies)],
                       check=True, capture_output=True, timeout=600)
        for i, sheet in enumerate(sheets):
            stem = outdir / f"{prefix}{sheet}"
            subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1",
                            "-singlefile", str(Path(tmp) / f"s{i}.pdf"), str(stem)], check=True)
            _trim(stem.with_suffix(".png"))
            made.append(stem.with_suffix(".png"))
    return made


def _trim(png: Path, margin: int = 12) -> None:
    """Cut the page's white margins off (Pillow, when installed)."""
    try:
        from PIL import Image, ImageChops
    except ImportError:
        return
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
        if box:
            x0, t, r, b = box
            rgb.crop((max(x0 - margin, 0), max(t - margin, 0), min(r + margin, rgb.width),
                      min(b + margin, rgb.height))).save(png)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("book", type=Path)
    p.add_argument("outdir", type=Path)
    p.add_argument("sheets", nargs="*", help="sheets to render (default: all)")
    p.add_argument("--prefix", default="", help="file name prefix of the PNGs")
    p.add_argument("--rows", type=int, default=60, help="rows printed per sheet (default 60)")
    p.add_argument("--dpi", type=int, default=110)
    p.add_argument("--area", help="print only this range, e.g. A1:M30 (a close-up)")
    p.add_argument("--cols", type=int, help="print at most this many columns")
    a = p.parse_args()
    for path in render(a.book, a.outdir, a.sheets or None, a.prefix, a.rows, a.dpi, a.area,
                       a.cols):
        print(path)


if __name__ == "__main__":
    main()
