"""Draw the xlvalue ribbon tab from the add-in's customUI.xml, as xlvalue.excel.ribbon generates it
from the registry of analyses (a schematic, not an Excel screenshot).

Usage: python docs/render_ribbon.py OUT.png
"""

from __future__ import annotations

import sys

from lxml import etree
from PIL import Image, ImageDraw, ImageFont

NS = "{http://schemas.microsoft.com/office/2006/01/customui}"


def main(out: str) -> None:
    from xlvalue.excel.ribbon import custom_ui_xml

    root = etree.fromstring(custom_ui_xml())
    tab = root.find(f"{NS}ribbon/{NS}tabs/{NS}tab")
    groups = [(g.get("label"), [b.get("label") for b in g]) for g in tab]
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    button_w, gap = 92, 10
    width = sum(len(b) * button_w + 2 * gap for _, b in groups) + 20
    img = Image.new("RGB", (width, 150), "#f3f3f3")
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, width, 28], fill="#1f6f4a")
    d.text((12, 7), "File   Home   Insert   Formulas   Data   ", font=font, fill="#dfeee6")
    d.rectangle([262, 2, 330, 28], fill="#f3f3f3")
    d.text((276, 7), tab.get("label"), font=font, fill="#1f6f4a")
    x = 10
    for label, buttons in groups:
        gx = x
        for b in buttons:
            d.rounded_rectangle([x + gap, 40, x + gap + button_w - 8, 104], 6, fill="#ffffff",
                                outline="#c8c8c8")
            d.ellipse([x + gap + 32, 46, x + gap + 52, 66], fill="#1f6f4a")
            d.text((x + gap + 4, 74), b, font=small, fill="#202020")
            x += button_w
        x += 2 * gap
        d.line([x - gap, 38, x - gap, 132], fill="#c8c8c8")
        d.text((gx + (x - gx) / 2 - 4 * len(label), 114), label, font=small, fill="#606060")
    img.save(out)


if __name__ == "__main__":
    main(sys.argv[1])
