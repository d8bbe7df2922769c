"""xlwings' own Office.js engine (the Book API of xlwings Lite) driven without Excel.

`payload` turns a workbook file into the JSON that the Lite/Office.js client sends (sheets
with their values, dates as ISO text, tables, names); `xw.Book(json=payload)` is then a real
xlwings Book on the "remote" engine, whose writes become Office.js actions. `apply_actions`
replays the actions our scripts produce (addSheet, sheetClear, setValues, namesAdd, nameDelete;
charts and formats are counted) onto the sheets' cells, as the client would, so the written blocks
can be compared with the headless run. Office.js keeps a leading apostrophe as a text marker.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
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


def apply_actions(api: dict, actions: list[dict]) -> tuple[dict, dict, Counter]:
    """Cells per sheet name after the actions, the names defined, and a count of actions."""
    grids = {}
    for s in api["sheets"]:
        grids[s["name"]] = {(i + 1, j + 1): _cell(v) for i, row in enumerate(s["values"])
                            for j, v in enumerate(row) if _cell(v) is not None}
    order = [s["name"] for s in api["sheets"]]
    names = {n["name"]: n for n in api["names"]}
    for a in actions:
        f = a["func"]
        if f == "addSheet":  # args: position, name
            order.insert(a["args"][0], a["args"][1])
            grids[a["args"][1]] = {}
            continue
        sheet = order[a["sheet_position"]] if a.get("sheet_position") is not None else None
        if f == "sheetClear":
            grids[sheet] = {}
        elif f == "setValues":
            for i, row in enumerate(a["values"]):
                for j, v in enumerate(row):
                    key = (a["start_row"] + i + 1, a["start_column"] + j + 1)
                    value = _cell(v)
                    if value is None:
                        grids[sheet].pop(key, None)
                    else:
                        grids[sheet][key] = value
        elif f == "namesAdd":
            names[a["args"][0]] = a["args"][1]
        elif f == "nameDelete":
            names.pop(a["args"][2], None)
    return grids, names, Counter(a["func"] for a in actions)


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
