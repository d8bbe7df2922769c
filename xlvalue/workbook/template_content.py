"""What the template and demo workbooks hold: settings rows and input tables with their rows.

Pure data (no openpyxl), so that every door that builds a workbook lays out the same content:
template.py writes it to a new .xlsx file with openpyxl, the xlwings Lite demo script writes
it into the open workbook through the xlwings Book API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xlvalue.analytics.rfm import DEFAULT_SEGMENTS
from xlvalue.workbook.contract import (
    INPUT_TABLES,
    SCORE_INPUTS,
    SCORE_MODEL,
    SEGMENTS,
    SETTINGS,
    TRANSACTIONS,
    InputTable,
)
from xlvalue.workbook.presets import preset as preset_table

__all__ = ["DEMO_SETTINGS", "DEMO_TABLES", "TableContent", "demo_opportunities", "demo_transactions",
           "input_tables", "settings_rows"]

DEMO_SETTINGS = {"AsOfDate": dt.date(1998, 6, 30), "CalibrationEnd": dt.date(1997, 9, 30)}

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
    # Fader & Hardie (2007), "How to project customer retention": two cohorts of 1,000
    "xv_Survivors": [[t, n, "regular"] for t, n in enumerate(
        [1000, 631, 468, 382, 326, 289, 262, 241])] + [[t, n, "high end"] for t, n in enumerate(
            [1000, 869, 743, 653, 593, 551, 517, 491])],
}


@dataclass
class TableContent:
    """One input table of the template: its contract entry, header and data rows."""

    spec: InputTable
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def demo_transactions() -> list[list]:
    """The CDNOW sample as xv_Transactions rows (6,919 purchases)."""
    from xlvalue.datasets import load_cdnow_sample

    df = load_cdnow_sample()
    dates = [d.date() for d in pd.to_datetime(df["Date"])]
    channel = np.where(df["CDs"].to_numpy() > 2, "bulk", "single")
    return [[cid, d, float(a), None, None, ch, "CD"]
            for cid, d, a, ch in zip(df["CustomerID"], dates, df["Amount"], channel, strict=True)]


def demo_opportunities() -> list[list]:
    """The donations data (Fader, Hardie & Shang 2010) as xv_Opportunities rows (22 histories
    of 11,104 donors, 6 yearly opportunities)."""
    from xlvalue.datasets import load_donations

    d = load_donations()
    return [[int(x), int(r), int(n), float(w)] for x, r, n, w in d[
        ["frequency", "recency", "periods", "weights"]].itertuples(index=False)]


def settings_rows(overrides: dict) -> list[list]:
    """Key | Value | Description rows of the Settings sheet (header first)."""
    rows: list[list] = [["Key", "Value", "Description"]]
    for spec in SETTINGS:
        rows.append([spec.key, overrides.get(spec.key, spec.default),
                     spec.doc + (f" Choices: {', '.join(spec.choices)}." if spec.choices else "")])
    return rows


def input_tables(demo: bool = False, preset: str | None = None) -> list[TableContent]:
    """Every input table of the contract with the rows the template (or the demo) holds.

    preset names a score model of the seeds (convergys, key-account-17, delivered-value); its
    indicators fill xv_ScoreModel and become the columns of xv_ScoreInputs.
    """
    model = preset_table(preset) if preset else None
    out = []
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
        elif demo and spec.name == "xv_Opportunities":
            rows = demo_opportunities()
        elif demo and spec.name in DEMO_TABLES:
            rows = DEMO_TABLES[spec.name]
        out.append(TableContent(spec, [c.name for c in spec.columns] + extra, rows))
    return out
