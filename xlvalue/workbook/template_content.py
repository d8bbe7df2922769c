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

__all__ = ["DEMO_SETTINGS", "DEMO_TABLES", "TableContent", "demo_opportunities", "demo_settings",
           "demo_transactions",
           "input_tables", "settings_rows"]

DEMO_SETTINGS = {"AsOfDate": dt.date(1998, 6, 30), "CalibrationEnd": dt.date(1997, 9, 30)}

# Demo tables for the other analyses: a score model on RFM and CLV outputs and a price-change
# table; customer attributes, cost to serve and the presets' worked examples come from
# demo_data (made from the CDNOW sample and the seeds).
DEMO_TABLES: dict[str, list[list]] = {
    "xv_ScoreModel": [
        ["rfm.total_spend", "value", 40, None, "higher", "percentile", None, None],
        ["rfm.frequency", "loyalty", 20, None, "higher", "percentile", None, None],
        ["rfm.recency_days", "loyalty", 10, None, "lower", "percentile", None, None],
        ["clv.clv", "future", 20, None, "higher", "percentile", None, None],
        ["clv.p_alive", "future", 10, None, "higher", "minmax", None, None],
    ],
    # seed 000's small telecom costing model (UDF examples and tests); the demo workbook's
    # costing tables come from demo_data.demo_costing (cost to serve per customer)
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


def demo_transactions(df: pd.DataFrame | None = None) -> list[list]:
    """The CDNOW sample as xv_Transactions rows (6,919 purchases)."""
    from xlvalue.datasets import load_cdnow_sample

    df = load_cdnow_sample() if df is None else df
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


def demo_settings(preset: str | None = None) -> dict:
    """Settings of the demo workbook: the CDNOW dates, and what a preset's example needs."""
    from xlvalue.workbook.demo_data import PRESET_SETTINGS

    return {**DEMO_SETTINGS, **(PRESET_SETTINGS[preset] if preset else {})}


def input_tables(demo: bool = False, preset: str | None = None) -> list[TableContent]:
    """Every input table of the contract with the rows the template (or the demo) holds.

    preset names a score model of the seeds (convergys, key-account-17, delivered-value); its
    indicators fill xv_ScoreModel and become the columns of xv_ScoreInputs. The demo fills
    every input table so that every analysis shows something: the CDNOW sample, customer
    attributes (all four value classes), a cost-to-serve model per customer (the profit
    whale hump) and, with a preset, the preset's worked example in xv_ScoreInputs.
    """
    model = preset_table(preset) if preset else None
    tables: dict[str, list[list]] = {}
    if demo:
        from xlvalue.datasets import load_cdnow_sample
        from xlvalue.workbook import demo_data

        log = load_cdnow_sample()
        tables = {**DEMO_TABLES, **demo_data.demo_costing(log),
                  "xv_Customers": demo_data.demo_customers(log),
                  TRANSACTIONS.name: demo_transactions(log)}
        if preset:
            example = demo_data.preset_example(preset)
            tables[SCORE_INPUTS.name] = example.to_numpy(object).tolist()
    out = []
    for spec in INPUT_TABLES:
        rows: list[list] = []
        extra: list[str] = []
        if spec is SEGMENTS:
            rows = [[name, a, b, c, d, 1, 5, action] for name, a, b, c, d, action in DEFAULT_SEGMENTS]
        elif spec is SCORE_MODEL and model is not None:
            rows = [[None if pd.isna(v) else v for v in r] for r in model.itertuples(index=False)]
        elif spec is SCORE_INPUTS and model is not None:
            extra = list(model["Indicator"])
            rows = tables.get(spec.name, [])
        elif demo and spec.name == "xv_Opportunities":
            rows = demo_opportunities()
        elif spec.name in tables:
            rows = tables[spec.name]
        out.append(TableContent(spec, [c.name for c in spec.columns] + extra, rows))
    return out
