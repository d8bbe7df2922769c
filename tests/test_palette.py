"""Colours are said once (xlvalue/workbook/palette.py): no other module of the package spells
a colour, so the headless file, the xlwings door and the templates cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import xlvalue
from xlvalue.workbook.palette import BRAND, COLOUR_SCALE, LINK, SERIES, argb, rgb, series_colour

PACKAGE = Path(xlvalue.__file__).parent
# a quoted 6- or 8-digit hex colour ("1F6F4A", 'FF0563C1') or an RGB triple of 0-255 ints
HEX = re.compile(r"""["'](?:[0-9A-Fa-f]{2})?[0-9A-Fa-f]{6}["']""")
TRIPLE = re.compile(r"\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)")


def test_no_module_but_the_palette_spells_a_colour():
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "palette.py":
            continue
        text = path.read_text(encoding="utf-8")
        for m in (*HEX.finditer(text), *TRIPLE.finditer(text)):
            value = m.group(0).strip("\"'")
            if HEX.fullmatch(m.group(0)) and value.isdigit():
                continue  # a number in quotes ("123456"), not a colour
            numbers = [int(n) for n in re.findall(r"\d+", value)] if value.startswith("(") else []
            if numbers and (max(numbers) < 64 or max(numbers) > 255):
                continue  # small tuples ((3, 4, 2) in a docstring) are not colours
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{path.relative_to(PACKAGE)}:{line}: {m.group(0)}")
    assert found == []


def test_the_forms_of_a_colour():
    assert argb(BRAND) == "FF1F6F4A" and rgb(LINK) == (5, 99, 193)
    assert [rgb(c) for c in COLOUR_SCALE] == [(248, 105, 107), (255, 235, 132), (99, 190, 123)]
    assert len(set(SERIES)) == len(SERIES) and series_colour(len(SERIES)) == SERIES[0]
