"""Build the xlvalue template workbook from the contract (openpyxl creates new files well).

Input sheets get Excel tables named after their contract entry, Settings gets a key/value
range named xv_Settings with drop-downs for choices, output sheets are placeholders that a
run replaces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from xlvalue.workbook.contract import SETTINGS, SETTINGS_NAME, SETTINGS_SHEET
from xlvalue.workbook.ooxml import col_letter, quote_sheet
from xlvalue.workbook.palette import BRAND, NOTE, WHITE
from xlvalue.workbook.template_content import (  # noqa: F401  (names kept importable here)
    DEMO_SETTINGS,
    DEMO_TABLES,
    TableContent,
    demo_settings,
    demo_transactions,
    input_tables,
    settings_rows,
)
from xlvalue.workbook.writer import atomic_write

__all__ = ["DEMO_SETTINGS", "DEMO_TABLES", "FIXED_TIME", "save_reproducibly", "HEADER_FILL", "HEADER_FONT",
           "build_template", "demo_transactions"]

HEADER_FILL = PatternFill("solid", fgColor=BRAND)
HEADER_FONT = Font(bold=True, color=WHITE)
# Fixed document times so that a rebuilt template has the same contents.
FIXED_TIME = dt.datetime(2024, 1, 1)


def _add_table(wb: Workbook, content: TableContent) -> None:
    spec, columns, rows = content.spec, content.columns, content.rows
    ws = wb.create_sheet(spec.sheet)
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
    for row in settings_rows(overrides):
        ws.append(row)
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for i, spec in enumerate(SETTINGS, start=2):
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


def build_template(path: str | Path, demo: bool = False, preset: str | None = None,
                   output_sheets: Sequence[str] = ()) -> Path:
    """Write the template (or the CDNOW demo) workbook to path, atomically.

    preset names a score model of the seeds (convergys, key-account-17, delivered-value); its
    indicators fill xv_ScoreModel and become the columns of xv_ScoreInputs. `output_sheets`
    (xlvalue.analyses.registry.output_sheets()) are added as placeholders, in run order.
    """
    wb = Workbook()
    wb.remove(wb.active)
    _settings_sheet(wb, demo_settings(preset) if demo else {})
    for content in input_tables(demo, preset):
        _add_table(wb, content)
    for sheet in output_sheets:
        ws = wb.create_sheet(sheet)
        ws["A1"] = "Filled by xlvalue (xlvalue run, or the Run button on the xlvalue ribbon)."
        ws["A1"].font = Font(italic=True, color=NOTE)
        ws.sheet_properties.tabColor = BRAND
    return save_reproducibly(wb, path)


def save_reproducibly(wb: Workbook, path: str | Path) -> Path:
    """Save a built workbook with fixed metadata times (so a rebuild of a committed template is
    byte-comparable to it), atomically, creating the folder."""
    wb.properties.creator = "xlvalue"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: wb.save(tmp))
    return path
