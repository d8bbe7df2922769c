"""Build the xlvalue template workbook from the contract (openpyxl creates new files well).

Input sheets get Excel tables named after their contract entry, Settings gets a key/value
range named xv_Settings with drop-downs for choices, output sheets are placeholders that a
run replaces.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..contract import (
    CUSTOMERS,
    DEFAULT_SEGMENTS,
    INPUT_TABLES,
    SETTINGS,
    SETTINGS_NAME,
    SETTINGS_SHEET,
    TRANSACTIONS,
    InputTable,
    output_sheets,
)
from .ooxml import col_letter, quote_sheet
from .writer import atomic_write

HEADER_FILL = PatternFill("solid", fgColor="1F6F4A")
HEADER_FONT = Font(bold=True, color="FFFFFF")
DEMO_SETTINGS = {"AsOfDate": dt.date(1998, 6, 30), "CalibrationEnd": dt.date(1997, 9, 30)}
# Fixed document times so that a rebuilt template has the same contents.
FIXED_TIME = dt.datetime(2024, 1, 1)


def _add_table(wb: Workbook, spec: InputTable, rows: list[list]) -> None:
    ws = wb.create_sheet(spec.sheet)
    columns = [c.name for c in spec.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for row in rows or [[None] * len(columns)]:
        ws.append(row)
    n = max(len(rows), 1)
    ref = f"A1:{col_letter(len(columns) - 1)}{n + 1}"
    table = Table(displayName=spec.name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium7", showRowStripes=True)
    ws.add_table(table)
    for j, col in enumerate(spec.columns):
        letter = col_letter(j)
        ws.column_dimensions[letter].width = max(12, len(col.name) + 4)
        if col.kind == "date":
            for (cell,) in ws.iter_rows(min_row=2, max_row=n + 1, min_col=j + 1, max_col=j + 1):
                cell.number_format = "yyyy-mm-dd"
        if col.kind == "id":
            for (cell,) in ws.iter_rows(min_row=2, max_row=n + 1, min_col=j + 1, max_col=j + 1):
                cell.number_format = "@"
    ws.freeze_panes = "A2"


def _settings_sheet(wb: Workbook, overrides: dict) -> None:
    ws = wb.create_sheet(SETTINGS_SHEET, 0)
    ws.append(["Key", "Value", "Description"])
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for i, spec in enumerate(SETTINGS, start=2):
        value = overrides.get(spec.key, spec.default)
        ws.append([spec.key, value, spec.doc + (f" Choices: {', '.join(spec.choices)}."
                                                 if spec.choices else "")])
        if spec.kind == "date":
            ws.cell(i, 2).number_format = "yyyy-mm-dd"
        if spec.choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(spec.choices) + '"',
                                allow_blank=True, showErrorMessage=True,
                                error=f"Choose one of {', '.join(spec.choices)}")
            dv.add(f"B{i}")
            ws.add_data_validation(dv)
        elif spec.kind in ("number", "integer") and spec.minimum is not None:
            dv = DataValidation(type="whole" if spec.kind == "integer" else "decimal",
                                operator="between", formula1=str(spec.minimum),
                                formula2=str(spec.maximum), allow_blank=True,
                                showErrorMessage=True)
            dv.add(f"B{i}")
            ws.add_data_validation(dv)
    last = len(SETTINGS) + 1
    wb.defined_names[SETTINGS_NAME] = DefinedName(
        SETTINGS_NAME, attr_text=f"{quote_sheet(SETTINGS_SHEET)}!$A$1:$B${last}")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 90


def demo_transactions() -> list[list]:
    """The CDNOW sample as xv_Transactions rows (6,919 purchases)."""
    from ..datasets import load_cdnow_sample

    df = load_cdnow_sample()
    dates = [d.date() for d in pd.to_datetime(df["Date"])]
    channel = np.where(df["CDs"].to_numpy() > 2, "bulk", "single")
    return [[cid, d, float(a), None, None, ch, "CD"]
            for cid, d, a, ch in zip(df["CustomerID"], dates, df["Amount"], channel, strict=True)]


def build_template(path: str | Path, demo: bool = False) -> Path:
    """Write the template (or the CDNOW demo) workbook to path, atomically."""
    wb = Workbook()
    wb.remove(wb.active)
    _settings_sheet(wb, DEMO_SETTINGS if demo else {})
    for spec in INPUT_TABLES:
        if spec is TRANSACTIONS:
            rows = demo_transactions() if demo else []
        elif spec is CUSTOMERS:
            rows = []
        else:
            rows = [[name, a, b, c, d, 1, 5, action] for name, a, b, c, d, action in DEFAULT_SEGMENTS]
        _add_table(wb, spec, rows)
    for sheet in output_sheets():
        ws = wb.create_sheet(sheet)
        ws["A1"] = "Filled by xlvalue (xlvalue run, or the Run button on the xlvalue ribbon)."
        ws["A1"].font = Font(italic=True, color="808080")
        ws.sheet_properties.tabColor = "1F6F4A"
    wb.properties.creator = "xlvalue"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: wb.save(tmp))
    return path
