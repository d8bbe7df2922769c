"""Render one sheet of a workbook to PNG with LibreOffice (for the README pictures).

Usage: python docs/render_sheet.py BOOK SHEET OUT.png   (needs soffice and pdftoppm)
Other sheets are hidden in a temporary copy, converted to PDF, and the first page rasterised.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from lxml import etree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def main(book: str, sheet: str, out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "render.xlsx"
        with zipfile.ZipFile(book) as src, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == "xl/workbook.xml":
                    root = etree.fromstring(data)
                    sheets = root.findall(f"{MAIN}sheets/{MAIN}sheet")
                    for el in sheets:
                        el.set("state", "visible" if el.get("name") == sheet else "hidden")
                    index = [el.get("name") for el in sheets].index(sheet)
                    for view in root.iter(f"{MAIN}workbookView"):
                        view.set("activeTab", str(index))
                        view.set("firstSheet", str(index))
                    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
                dst.writestr(info, data)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(copy)],
                       check=True, capture_output=True, timeout=300)
        stem = str(Path(out).with_suffix(""))
        subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                        str(Path(tmp) / "render.pdf"), stem], check=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
