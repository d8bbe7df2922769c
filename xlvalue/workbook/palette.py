"""The colours of xlvalue's sheets and charts, said once.

Each colour is hex RRGGBB; the OOXML writer and sheet XML take it as ARGB (`argb`), openpyxl's
chart and template styles as it is, the xlwings adapter as an RGB tuple (`rgb`). So the
headless file, the live workbook written through xlwings and the templates look the same.
"""

from __future__ import annotations

__all__ = ["BRAND", "COLOUR_SCALE", "LINK", "NOTE", "SERIES", "THRESHOLD", "WHITE", "argb",
           "rgb", "series_colour"]

BRAND = "1F6F4A"  # xlvalue's green: tabs, template headers, one-series scatter markers
WHITE = "FFFFFF"  # text on BRAND
LINK = "0563C1"  # a hyperlink cell (Excel's own link blue)
NOTE = "808080"  # a one-line note (grey italic)
THRESHOLD = "C0504D"  # dashed threshold lines of a chart (where a scatter's axes cross)
# the colour scale of a block's values: red at the minimum, yellow at the median, green at
# the maximum (Excel's built-in red-yellow-green scale)
COLOUR_SCALE = ("F8696B", "FFEB84", "63BE7B")
# one colour per series of a chart split by a column (ChartSpec.series_by), in series order;
# distinct in hue and lightness so the classes stay apart in print and for colour-blind readers
SERIES = ("1F6F4A", "2E75B6", "ED7D31", "A5002A", "7030A0", "BF9000", "7F7F7F", "00A3A3")


def argb(colour: str) -> str:
    """ARGB hex of an RRGGBB colour, opaque (styles.xml and sheet XML: FF1F6F4A)."""
    return "FF" + colour


def rgb(colour: str) -> tuple[int, int, int]:
    """(red, green, blue) of an RRGGBB colour (xlwings: (31, 111, 74))."""
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def series_colour(i: int) -> str:
    """The colour of the i-th series (0-based), cycling through SERIES."""
    return SERIES[i % len(SERIES)]
