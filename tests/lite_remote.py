"""xlwings' own Office.js engine (the Book API of xlwings Lite) driven without Excel.

`payload` turns a workbook file into the JSON that the Lite/Office.js client sends (sheets
with their values, dates as ISO text, tables, names); `xw.Book(json=payload)` is then a real
xlwings Book on the "remote" engine, whose writes become Office.js actions. `replay` (and its
short form `apply_actions`) replays the actions our scripts produce onto the sheets, as the
client would, so the written blocks can be compared with the headless run: addSheet,
sheetClear, setValues, setFormula (a HYPERLINK formula's cell shows its second argument, as
Excel evaluates it; formulas are kept), namesAdd, nameDelete, activateSheet,
freezePaneAtRange / freezePaneUnfreeze, the cell formats setColumnWidth, setRowHeight,
setWrapText, rangeAdjustIndent, setHorizontalAlignment, setFontProperty and
addConditionalFormat, and the chart actions addChart, deleteChart,
setChartName, setChartTitle, setChartAxis, setChartSeries (recorded per chart); number
formats are counted. Office.js keeps a leading apostrophe as a text marker.

The client side of each action (what Excel then does) is xlwings' JavaScript, which is not
part of the Python package: xlwings Server's Office.js client, which also runs the Pyodide
(Lite) mode (repository xlwings/xlwings-server, xlwings_server/static/js/custom-scripts/).
Its index.js registers activateSheet, addHyperlink, freezePaneAtRange, freezePaneUnfreeze and
setFontProperty in its `funcs` map (commit 26fda44 and later); later stored versions of the
repository also register setFormula, setColumnWidth, setRowHeight, setWrapText,
rangeAdjustIndent and addChart / setChartName there and define, in chart-action-callbacks.js,
setChartAxis (axis.title, axis.minimum / axis.maximum), setChartSeries (markerStyle,
markerSize; not sent by our Lite runs, which cannot list series), setChartTitle and
setChartXAxisValues. xlwings'
older Office Scripts client (xlwings/js/xlwings.ts in the 0.37.8 package) has only
activateSheet and addHyperlink of these. The JavaScript is read, not run, here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _a1(r: int, c: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(c)}{r}"


def payload(path: Path, version: str) -> dict:
    """The book data an Office.js client sends for this workbook (values from A1)."""
    import openpyxl
    from openpyxl.utils import range_boundaries

    wb = openpyxl.load_workbook(path)
    sheets = []
    for ws in wb.worksheets:
        values = [["" if c.value is None else
                   (dt.datetime(c.value.year, c.value.month, c.value.day).isoformat() + ".000Z"
                    if isinstance(c.value, dt.date) else c.value) for c in row]
                  for row in ws.iter_rows()]
        tables = []
        for t in ws.tables.values():
            c0, r0, c1, r1 = range_boundaries(t.ref)
            tables.append({
                "name": t.displayName, "range_address": t.ref,
                "header_row_range_address": f"{_a1(r0, c0)}:{_a1(r0, c1)}",
                "data_body_range_address": f"{_a1(r0 + 1, c0)}:{_a1(r1, c1)}",
                "total_row_range_address": None, "show_headers": True, "show_totals": False,
                "table_style": "TableStyleMedium7", "show_autofilter": True,
                "show_table_style_column_stripes": False, "show_table_style_first_column": False,
                "show_table_style_last_column": False, "show_table_style_row_stripes": True,
                "row_count": r1 - r0})
        sheets.append({"name": ws.title, "values": values or [[]], "pictures": [],
                       "tables": tables, "charts": []})
    names = []
    for name, dn in wb.defined_names.items():
        sheet, ref = dn.attr_text.rsplit("!", 1)
        names.append({"name": name, "sheet_index": wb.sheetnames.index(sheet.strip("'")),
                      "address": ref.replace("$", ""), "book_scope": True,
                      "scope_sheet_name": None, "scope_sheet_index": None})
    return {"client": "Office.js", "version": version,
            "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": names, "sheets": sheets}


def _cell(v: Any) -> Any:
    """A value as the client stores it: apostrophe text as text, ISO dates as dates."""
    if isinstance(v, str):
        if v.startswith("'"):
            return v[1:]
        if ISO_DATE.match(v):
            return dt.date.fromisoformat(v).isoformat()
        if v == "":
            return None
    return v


@dataclass
class Replayed:
    """A workbook after a script's actions, as far as the tests look at it."""

    grids: dict  # sheet name -> {(row, col): value}, 1-based
    names: dict  # defined name -> "=Sheet!$A$1:$B$2" (or the payload's entry)
    counts: Counter  # actions by func
    formulas: dict = field(default_factory=dict)  # sheet -> {(row, col): formula}
    active: str | None = None  # the sheet last activated
    frozen: dict = field(default_factory=dict)  # sheet -> the range frozen (freeze_at)
    charts: dict = field(default_factory=dict)  # sheet -> [chart state dicts, in sheet order]
    # cell formatting per sheet: column -> width (points), row -> height (points), and
    # (row, col) -> wrap flag / indent level / horizontal alignment (Office.js name)
    widths: dict = field(default_factory=dict)
    heights: dict = field(default_factory=dict)
    wrapped: dict = field(default_factory=dict)
    indents: dict = field(default_factory=dict)
    alignments: dict = field(default_factory=dict)
    fonts: dict = field(default_factory=dict)  # sheet -> (row, col) -> {property: value}
    colour_scales: dict = field(default_factory=dict)  # sheet -> [(A1 range, rule entry)]


_HYPERLINK = re.compile(r'^=HYPERLINK\("((?:[^"]|"")*)","((?:[^"]|"")*)"\)$', re.I)


def replay(api: dict, actions: list[dict]) -> Replayed:
    """Replay the actions on the payload's sheets (see the module docstring)."""
    grids = {}
    for s in api["sheets"]:
        grids[s["name"]] = {(i + 1, j + 1): _cell(v) for i, row in enumerate(s["values"])
                            for j, v in enumerate(row) if _cell(v) is not None}
    order = [s["name"] for s in api["sheets"]]
    names = {n["name"]: n for n in api["names"]}
    out = Replayed(grids, names, Counter(a["func"] for a in actions))
    for a in actions:
        f = a["func"]
        if f == "addSheet":  # args: position, name
            order.insert(a["args"][0], a["args"][1])
            grids[a["args"][1]] = {}
            continue
        sheet = order[a["sheet_position"]] if a.get("sheet_position") is not None else None
        if f == "sheetClear":  # Office.js clear(all): contents and formats
            grids[sheet] = {}
            for kept in (out.formulas, out.wrapped, out.indents, out.alignments, out.fonts):
                kept[sheet] = {}
            out.colour_scales[sheet] = []
        elif f in ("setValues", "setFormula"):
            for i, row in enumerate(a["values"]):
                for j, v in enumerate(row):
                    key = (a["start_row"] + i + 1, a["start_column"] + j + 1)
                    formulas = out.formulas.setdefault(sheet, {})
                    formulas.pop(key, None)
                    value = _cell(v) if f == "setValues" else None
                    if f == "setFormula":
                        formulas[key] = v
                        link = _HYPERLINK.match(v)
                        value = link.group(2).replace('""', '"') if link else None
                    if value is None:
                        grids[sheet].pop(key, None)
                    else:
                        grids[sheet][key] = value
        elif f in _CELL_FORMATS:
            _format(out, sheet, f, a)
        elif f == "namesAdd":
            names[a["args"][0]] = a["args"][1]
        elif f == "nameDelete":
            names.pop(a["args"][2], None)
        elif f == "activateSheet":  # args: sheet index
            out.active = order[int(a["args"][0])]
        elif f == "freezePaneAtRange":
            out.frozen[sheet] = a["args"][0]
        elif f == "freezePaneUnfreeze":
            out.frozen.pop(sheet, None)
        elif f == "addChart":  # args: name, type, source sheet, source address, ...
            out.charts.setdefault(sheet, []).append(
                {"name": a["args"][0], "type": a["args"][1], "source": a["args"][3],
                 "title": None, "axes": {}, "series": {}})
        elif f.startswith("setChart") or f == "deleteChart":
            chart = out.charts[sheet][int(a["args"][0])]
            if f == "deleteChart":
                out.charts[sheet].remove(chart)
            elif f == "setChartName":
                chart["name"] = a["args"][1]
            elif f == "setChartTitle":
                chart["title"] = a["args"][1]
            elif f == "setChartAxis":  # args: chart, axis type, {attribute: value}
                chart["axes"].setdefault(a["args"][1], {}).update(a["args"][2])
            elif f == "setChartSeries":  # args: chart, series, {attribute: value}
                chart["series"].setdefault(int(a["args"][1]), {}).update(a["args"][2])
    return out


_CELL_FORMATS = ("setColumnWidth", "setRowHeight", "setWrapText", "rangeAdjustIndent",
                 "setHorizontalAlignment", "setFontProperty", "addConditionalFormat")


def _format(out: Replayed, sheet: str, f: str, a: dict) -> None:
    rows = range(a["start_row"] + 1, a["start_row"] + a["row_count"] + 1)
    cols = range(a["start_column"] + 1, a["start_column"] + a["column_count"] + 1)
    value = a["args"][0] if isinstance(a["args"], list) else a["args"]
    if f == "setColumnWidth":
        out.widths.setdefault(sheet, {}).update({c: value for c in cols})
    elif f == "addConditionalFormat":  # args: the rule entry
        top_left, bottom_right = _a1(rows[0], cols[0]), _a1(rows[-1], cols[-1])
        out.colour_scales.setdefault(sheet, []).append((f"{top_left}:{bottom_right}", a["args"][0]))
    elif f == "setFontProperty":  # args: property, value
        fonts = out.fonts.setdefault(sheet, {})
        for r in rows:
            for c in cols:
                fonts.setdefault((r, c), {})[a["args"][0]] = a["args"][1]
    elif f == "setRowHeight":
        out.heights.setdefault(sheet, {}).update({r: value for r in rows})
    else:
        target = {"setWrapText": out.wrapped, "rangeAdjustIndent": out.indents,
                  "setHorizontalAlignment": out.alignments}[f].setdefault(sheet, {})
        for r in rows:
            for c in cols:
                target[(r, c)] = (target.get((r, c), 0) + value if f == "rangeAdjustIndent"
                                  else value)


def apply_actions(api: dict, actions: list[dict]) -> tuple[dict, dict, Counter]:
    """Cells per sheet name after the actions, the names defined, and a count of actions."""
    r = replay(api, actions)
    return r.grids, r.names, r.counts


def empty_book(name: str, version: str) -> dict:
    """The payload of a new workbook with one empty sheet."""
    return {"client": "Office.js", "version": version,
            "book": {"name": name, "active_sheet_index": 0, "selection": "A1"}, "names": [],
            "sheets": [{"name": "Sheet1", "values": [[""]], "pictures": [], "tables": [],
                        "charts": []}]}


def block(grids: dict, refers_to: str) -> list[list]:
    """The cells a name like =xv_RFM!$A$2:$U$2359 covers."""
    from openpyxl.utils import range_boundaries

    sheet, ref = refers_to.lstrip("=").rsplit("!", 1)
    c0, r0, c1, r1 = range_boundaries(ref.replace("$", ""))
    cells = grids[sheet.strip("'")]
    return [[cells.get((r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
