"""templates/xlvalue_formulas.xlsx: XV_ formulas over the workbook's own data, the workbook
`xlvalue eval` (and the xlwings doors) are shown on. Built by code (`xlvalue template new
PATH --formulas`, `make templates`); a test compares the committed file with a fresh build.

It lives with the eval door because sizing each formula's range means calling the XV_
functions (xlvalue.excel.udfs), which the workbook layer must not import.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from xlvalue.workbook.ooxml import col_letter
from xlvalue.workbook.palette import NOTE
from xlvalue.workbook.template import DEMO_TABLES, save_reproducibly

__all__ = ["FORMULAS_AS_OF", "build_formulas_workbook", "formula_cells"]

FORMULAS_AS_OF = dt.date(1998, 6, 30)


def formula_cells() -> list[tuple[str, str, str, str]]:
    """(sheet, anchor, formula, what it shows) of templates/xlvalue_formulas.xlsx: each XV_
    function family once, over the Data and Costing sheets of the same workbook. RFM!A1
    spills the per-customer table the other formulas read."""
    n = 6920  # header + 6,919 CDNOW purchases
    return [
        ("RFM", "A1", f"=XV_RFM(Data!A1:C{n},Formulas!B3)",
         "RFM summary, scores and segment per customer"),
        ("Formulas", "A7", "=XV_DECILES(RFM!D2:D2358)", "decile table of the mean spend"),
        ("Formulas", "A20", "=XV_PARETO(RFM!E2:E2358)", "Pareto / ABC classes of total spend"),
        ("Formulas", "A26", "=XV_NBD_P(0,1.84,2.67)", "NBD P(X=0), a=1.84, b=2.67 (seed 000)"),
        ("Formulas", "A29", "=XV_ELASTICITY(10,100,11,80)", "arc price elasticity"),
        ("Formulas", "A33", "=XV_LTV(Formulas!H34:J35,Formulas!H37:J38,0.1)",
         "lifetime value of two customers (seed 003)"),
        ("Formulas", "A41", "=XV_ALLOCATE(Costing!A1:C5,Costing!E1:H19)",
         "activity-based costing: cost per customer group"),
        ("Formulas", "A48", "=XV_WHALE(RFM!E2:E2358)", "whale curve of total spend"),
    ]


def build_formulas_workbook(path: str | Path) -> Path:
    """templates/xlvalue_formulas.xlsx: XV_ formulas over the workbook's own data (the CDNOW
    sample, a costing model, LTV flows), for `xlvalue eval` and the xlwings doors.

    Each formula is stored as an array formula over exactly the range its result fills (sized
    by computing it once here), so Excel, LibreOffice and `xlvalue eval` all show the whole
    result without relying on dynamic-array spilling."""
    import pandas as pd
    from openpyxl.utils import range_boundaries
    from openpyxl.worksheet.formula import ArrayFormula

    from xlvalue.datasets import load_cdnow_sample

    wb = Workbook()
    wb.remove(wb.active)
    ws = wb.create_sheet("Formulas")
    ws["A1"] = "XV_ formulas over this workbook's own data: xlvalue eval computes them without Excel"
    ws["A1"].font = Font(bold=True)
    ws["A3"], ws["B3"] = "as of", FORMULAS_AS_OF
    ws["B3"].number_format = "yyyy-mm-dd"
    data = wb.create_sheet("Data")
    data.append(["CustomerID", "Date", "Amount"])
    log = load_cdnow_sample()
    for cid, d, a in zip(log["CustomerID"], pd.to_datetime(log["Date"]), log["Amount"],
                         strict=True):
        data.append([cid, d.date(), float(a)])
    for (cell,) in data.iter_rows(min_row=2, min_col=2, max_col=2):
        cell.number_format = "yyyy-mm-dd"
    costing = wb.create_sheet("Costing")
    costing.append(["Pool", "Stage", "Amount", None, "Stage", "From", "To", "Quantity"])
    pools = DEMO_TABLES["xv_CostPools"]
    drivers = DEMO_TABLES["xv_Drivers"]
    for i in range(max(len(pools), len(drivers))):
        left = pools[i][:3] if i < len(pools) else [None] * 3
        right = list(drivers[i]) if i < len(drivers) else [None] * 4
        costing.append([*left, None, *right])
    # LTV flows (contribution and cost per year, two customers), beside their formula
    ws["H33"], ws["H36"] = "contribution per year", "cost per year"
    for r, row in enumerate([[100, 120, 130], [80, 80, 90]], start=34):
        for c, v in enumerate(row):
            ws.cell(r, 8 + c, v)
    for r, row in enumerate([[20, 25, 25], [10, 10, 12]], start=37):
        for c, v in enumerate(row):
            ws.cell(r, 8 + c, v)
    rfm = wb.create_sheet("RFM", 1)
    sheets = {"Formulas": ws, "RFM": rfm}
    for sheet, anchor, formula, what in formula_cells():
        target = sheets[sheet]
        rows, cols = _result_shape(formula, wb)
        c0, r0, _, _ = range_boundaries(anchor)
        end = f"{col_letter(c0 + cols - 2)}{r0 + rows - 1}"
        target[anchor] = ArrayFormula(f"{anchor}:{end}", formula)
        if sheet == "Formulas":
            label = target.cell(r0 - 1, c0, what)
            label.font = Font(italic=True, color=NOTE)
    for sheet in (ws, rfm, data, costing):
        for col in "ABCDEFGHIJK":
            sheet.column_dimensions[col].width = 14
    return save_reproducibly(wb, path)


def _result_shape(formula: str, wb: Workbook) -> tuple[int, int]:
    """Rows and columns of an XV_ formula's result, computed with the UDFs on the cells it
    names (plain references and numbers only, as in formula_cells)."""
    import re

    from openpyxl.utils import range_boundaries

    from xlvalue.excel import udfs

    name, args = re.match(r"^=(XV_[A-Z_]+)\((.*)\)$", formula).groups()
    values = []
    for arg in args.split(","):
        if "!" in arg:
            sheet, ref = arg.split("!")
            ws = wb[sheet]
            if ":" not in ref:
                values.append(ws[ref].value)
                continue
            c0, r0, c1, r1 = range_boundaries(ref)
            if sheet == "RFM":  # the spilled RFM table: computed from the data it reads
                table = _rfm_rows(wb)
                values.append([row[c0 - 1:c1] for row in table[r0 - 1:r1]])
                continue
            values.append([[ws.cell(r, c).value for c in range(c0, c1 + 1)]
                           for r in range(r0, r1 + 1)])
        else:
            values.append(float(arg))
    out = getattr(udfs, name)(*values)
    rows = out if isinstance(out, list) else [[out]]
    return len(rows), max(len(r) for r in rows) if rows else 1


def _rfm_rows(wb: Workbook) -> list[list]:
    from xlvalue.excel import udfs

    data = [[c.value for c in row] for row in wb["Data"].iter_rows()]
    return udfs.XV_RFM(data, wb["Formulas"]["B3"].value)
