"""Transactions from a CSV or Parquet file named in xv_Settings (logs beyond Excel's rows).

The file is read column-wise with pandas/pyarrow and validated with vectorised conversions;
problems name the file and the line (CSV) or row (Parquet), like cell references do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .contract import TRANSACTIONS
from .errors import MAX_REPORTED, InputError, Problem
from .validate import CleanTable, convert_dates
from .workbook.ooxml import Area
from .workbook.reader import RawRange

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _columns(found: list[str], where: str) -> dict[str, str]:
    lookup = {c.strip().lower(): c for c in found}
    mapping: dict[str, str] = {}
    missing = []
    for col in TRANSACTIONS.columns:
        for candidate in (col.name, *col.aliases):
            if candidate.lower() in lookup:
                mapping[lookup[candidate.lower()]] = col.name
                break
        else:
            if col.required:
                missing.append(col.name)
    if missing:
        raise InputError(Problem(f"missing column(s) {', '.join(missing)} (found: "
                                 f"{', '.join(found) or 'nothing'})", book=where,
                                 name="TransactionsFile"))
    return mapping


def read_transactions_file(path: Path) -> tuple[CleanTable, str]:
    """Validated transactions from a file, and the file's SHA-256."""
    where = path.name
    if not path.exists():
        raise InputError(Problem("TransactionsFile not found", book=str(path),
                                 name="xv_Settings"))
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            names = pq.ParquetFile(path).schema_arrow.names
            mapping = _columns(names, where)
            frame = pd.read_parquet(path, columns=list(mapping))
            first_line = 1
        elif suffix in CSV_SUFFIXES:
            sep = "\t" if suffix == ".tsv" else ","
            names = list(pd.read_csv(path, sep=sep, nrows=0).columns)
            mapping = _columns(names, where)
            id_col = next(k for k, v in mapping.items() if v == "CustomerID")
            frame = pd.read_csv(path, sep=sep, usecols=list(mapping), dtype={id_col: "string"},
                                keep_default_na=False, na_values=[""])
            first_line = 2
        else:
            raise InputError(Problem(f"TransactionsFile must be .csv, .tsv or .parquet, not "
                                     f"'{suffix}'", book=where, name="xv_Settings"))
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow parse errors: one line, no traceback
        raise InputError(Problem(f"cannot read the file ({type(exc).__name__}: {exc})",
                                 book=where, name="TransactionsFile")) from None
    frame = frame.rename(columns=mapping)
    problems: list[Problem] = []
    unit = "line" if suffix in CSV_SUFFIXES else "row"

    def report(mask: np.ndarray, column: str, message) -> None:
        for i in np.flatnonzero(mask)[:MAX_REPORTED]:
            problems.append(Problem(message(frame[column].iloc[i]), book=where,
                                    cell=f"{unit} {i + first_line}", name="TransactionsFile"))

    ids = frame["CustomerID"].astype("string").str.strip()
    report(ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy(), "CustomerID",
           lambda v: "CustomerID is blank")
    frame["CustomerID"] = ids
    if not pd.api.types.is_datetime64_any_dtype(frame["Date"]):
        dates, bad = convert_dates(frame["Date"].to_numpy(dtype=object))
        report(bad, "Date", lambda v: f"Date {v!r} is not a date (expected ISO text like "
                                      "2024-03-31 or 20240331)")
        frame["Date"] = dates
    for col in ("Amount", "Cost", "Margin"):
        if col in frame:
            values = pd.to_numeric(frame[col], errors="coerce")
            bad = values.isna().to_numpy() & (col == "Amount" or frame[col].notna().to_numpy())
            report(bad, col, lambda v, col=col: f"{col} {v!r} is not a number")
            frame[col] = values.astype(float)
    if problems:
        raise InputError(problems)
    source = RawRange("xv_Transactions", where, Area(where, 0, 0, len(frame), 0), [])
    return CleanTable(frame, np.arange(len(frame)) + first_line, source), file_sha256(path)
