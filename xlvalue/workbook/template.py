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

from xlvalue.analytics.rfm import DEFAULT_SEGMENTS
from xlvalue.workbook.contract import (
    INPUT_TABLES,
    SCORE_INPUTS,
    SCORE_MODEL,
    SEGMENTS,
    SETTINGS,
    SETTINGS_NAME,
    SETTINGS_SHEET,
    TRANSACTIONS,
    InputTable,
    output_sheets,
)
from xlvalue.workbook.ooxml import col_letter, quote_sheet
from xlvalue.workbook.presets import preset as preset_table
from xlvalue.workbook.writer import atomic_write

__all__ = ["DEMO_SETTINGS", "DEMO_TABLES", "FIXED_TIME", "HEADER_FILL", "HEADER_FONT",
           "build_template", "demo_transactions"]

HEADER_FILL = PatternFill("solid", fgColor="1F6F4A")
HEADER_FONT = Font(bold=True, color="FFFFFF")
DEMO_SETTINGS = {"AsOfDate": dt.date(1998, 6, 30), "CalibrationEnd": dt.date(1997, 9, 30)}
# Fixed document times so that a rebuilt template has the same contents.
FIXED_TIME = dt.datetime(2024, 1, 1)


def _add_table(wb: Workbook, spec: InputTable, rows: list[list], extra: list[str] | None = None
               ) -> None:
    ws = wb.create_sheet(spec.sheet)
    columns = [c.name for c in spec.columns] + list(extra or [])
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
    for j, name in enumerate(columns):
        ws.column_dimensions[col_letter(j)].width = max(12, len(name) + 4)
    for j, col in enumerate(spec.columns):
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


# Demo tables for the other analyses: a score model on RFM and CLV outputs, the small telecom
# costing model of the tests (seed 000's structure) and a price-change table.
DEMO_TABLES: dict[str, list[list]] = {
    "xv_ScoreModel": [
        ["rfm.total_spend", "value", 40, None, "higher", "percentile", None, None],
        ["rfm.frequency", "loyalty", 20, None, "higher", "percentile", None, None],
        ["rfm.recency_days", "loyalty", 10, None, "lower", "percentile", None, None],
        ["clv.clv", "future", 20, None, "higher", "percentile", None, None],
        ["clv.p_alive", "future", 10, None, "higher", "minmax", None, None],
    ],
    "xv_CostPools": [
        ["Wages", 1, 1000.0, "department", "yes", None],
        ["Depreciation", 1, 600.0, "network", "no", None],
        ["Advertising", 1, 300.0, "direct", "yes", None],
        ["Board", 3, 100.0, "support", "no", None],
    ],
    "xv_Drivers": [
        [1, "Wages", "FrontEnd", 60], [1, "Wages", "BackEnd", 40],
        [1, "Depreciation", "Switching", 3], [1, "Depreciation", "Transmission", 1],
        [1, "Advertising", "KeyAccounts", 2], [1, "Advertising", "Public", 1],
        [2, "FrontEnd", "KeyAccounts", 1], [2, "FrontEnd", "Public", 3],
        [2, "BackEnd", "Voice", 1], [2, "BackEnd", "Data", 1],
        [2, "Switching", "Voice", 1], [2, "Transmission", "Data", 1],
        [3, "Voice", "KeyAccounts", 1], [3, "Voice", "Public", 1],
        [3, "Data", "KeyAccounts", 3], [3, "Data", "Public", 1],
        [3, "Board", "KeyAccounts", 1], [3, "Board", "Public", 1],
    ],
    "xv_Revenue": [["KeyAccounts", 1500.0, 40.0], ["Public", 1300.0, 90.0]],
    "xv_Elasticity": [["key accounts", 10.0, 100.0, 11.0, 80.0],
                      ["public", 10.0, 100.0, 11.0, 96.0]],
}


def demo_transactions() -> list[list]:
    """The CDNOW sample as xv_Transactions rows (6,919 purchases)."""
    from xlvalue.datasets import load_cdnow_sample

    df = load_cdnow_sample()
    dates = [d.date() for d in pd.to_datetime(df["Date"])]
    channel = np.where(df["CDs"].to_numpy() > 2, "bulk", "single")
    return [[cid, d, float(a), None, None, ch, "CD"]
            for cid, d, a, ch in zip(df["CustomerID"], dates, df["Amount"], channel, strict=True)]


def build_template(path: str | Path, demo: bool = False, preset: str | None = None) -> Path:
    """Write the template (or the CDNOW demo) workbook to path, atomically.

    preset names a score model of the seeds (convergys, key-account-17, delivered-value); its
    indicators fill xv_ScoreModel and become the columns of xv_ScoreInputs.
    """
    wb = Workbook()
    wb.remove(wb.active)
    _settings_sheet(wb, DEMO_SETTINGS if demo else {})
    model = preset_table(preset) if preset else None
    for spec in INPUT_TABLES:
        rows: list[list] = []
        extra: list[str] = []
        if spec is TRANSACTIONS and demo:
            rows = demo_transactions()
        elif spec is SEGMENTS:
            rows = [[name, a, b, c, d, 1, 5, action] for name, a, b, c, d, action in DEFAULT_SEGMENTS]
        elif spec is SCORE_MODEL and model is not None:
            rows = [[None if pd.isna(v) else v for v in r] for r in model.itertuples(index=False)]
        elif spec is SCORE_INPUTS and model is not None:
            extra = list(model["Indicator"])
        elif demo and spec.name in DEMO_TABLES:
            rows = DEMO_TABLES[spec.name]
        _add_table(wb, spec, rows, extra)
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
