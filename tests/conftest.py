"""Shared fixtures: small hand-made logs and workbooks built by code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table

from xlvalue.cli.headless_run import RunReport, run_workbook
from xlvalue.pipeline import new_template


def add_settings(wb: Workbook, settings: dict) -> None:
    """A Settings sheet with a Key/Value range named xv_Settings."""
    st = wb.create_sheet("Settings")
    st.append(["Key", "Value"])
    for k, v in settings.items():
        st.append([k, v])
    wb.defined_names["xv_Settings"] = DefinedName(
        "xv_Settings", attr_text=f"Settings!$A$1:$B${len(settings) + 1}")


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory) -> Path:
    """The CDNOW demo workbook, built once per session."""
    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    return new_template(path, demo=True)


@pytest.fixture(scope="session")
def demo_run(demo_book, tmp_path_factory) -> tuple[RunReport, Path]:
    """The demo workbook run headlessly (every analysis) once per session: the report and
    the output workbook. Shared by many tests: read them, never change them (copy first)."""
    out = tmp_path_factory.mktemp("demo_run") / "demo_out.xlsx"
    return run_workbook(demo_book, out), out


@pytest.fixture(scope="session")
def demo_output(demo_run) -> openpyxl.Workbook:
    """The shared demo run's output opened once with openpyxl (an independent reader)."""
    return openpyxl.load_workbook(demo_run[1])


def make_book(path: Path, transactions: list[list] | None, settings: dict | None = None,
              header: tuple[str, ...] = ("CustomerID", "Date", "Amount"),
              customers: list[list] | None = None, as_table: bool = False) -> Path:
    """A minimal workbook: xv_Transactions (defined name or table) and optional settings."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Transactions"
    if transactions is not None:
        ws.append(list(header))
        for row in transactions:
            ws.append(row)
        ref = f"Transactions!$A$1:${chr(64 + len(header))}${len(transactions) + 1}"
        if as_table:
            ws.add_table(Table(displayName="xv_Transactions",
                               ref=f"A1:{chr(64 + len(header))}{len(transactions) + 1}"))
        else:
            wb.defined_names["xv_Transactions"] = DefinedName("xv_Transactions", attr_text=ref)
    if settings:
        add_settings(wb, settings)
    if customers is not None:
        cs = wb.create_sheet("Customers")
        cs.append(["CustomerID", "Name", "Group"])
        for row in customers:
            cs.append(row)
        wb.defined_names["xv_Customers"] = DefinedName(
            "xv_Customers", attr_text=f"Customers!$A$1:$C${len(customers) + 1}")
    wb.save(path)
    return path


@pytest.fixture
def small_log() -> pd.DataFrame:
    """Five customers with hand-checkable histories (as-of 2024-12-31)."""
    d = dt.date
    rows = [
        ("A", d(2024, 12, 30), 100.0), ("A", d(2024, 12, 1), 80.0), ("A", d(2024, 11, 1), 120.0),
        ("A", d(2024, 10, 1), 100.0),
        ("B", d(2024, 12, 20), 50.0), ("B", d(2024, 6, 1), 50.0), ("B", d(2024, 3, 1), 50.0),
        ("C", d(2024, 11, 1), 500.0), ("C", d(2024, 11, 1), 300.0),
        ("D", d(2024, 6, 15), 20.0), ("D", d(2024, 2, 1), 10.0),
        ("E", d(2024, 1, 5), 5.0),
    ]
    return pd.DataFrame(rows, columns=["CustomerID", "Date", "Amount"])


def write_tables(path: Path, tables: dict[str, pd.DataFrame], settings: dict | None = None
                 ) -> Path:
    """A workbook with one sheet and defined name per frame (header + rows)."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in tables.items():
        ws = wb.create_sheet(name.removeprefix("xv_"))
        ws.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            ws.append([None if (isinstance(v, float) and v != v) else v for v in row])
        last = chr(64 + len(frame.columns))
        wb.defined_names[name] = DefinedName(
            name, attr_text=f"{ws.title}!$A$1:${last}${len(frame) + 1}")
    if settings:
        add_settings(wb, settings)
    wb.save(path)
    return path
