"""Machine-readable reports (CSV or JSON) written atomically, safe to open in a spreadsheet.

A CSV report carries text from workbooks (cell values, formulas, file names). A spreadsheet
that opens the CSV would run a field beginning with `=`, `+`, `-` or `@` as a formula (and
a leading tab or carriage return can hide one): CSV injection. As OWASP advises, such text
fields are written with a leading `'`, which spreadsheets show as text; numbers are left as
they are. JSON reports keep the text unchanged (no spreadsheet runs JSON).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["CSV_TRIGGERS", "csv_safe", "write_rows", "write_table"]

# https://owasp.org/www-community/attacks/CSV_Injection
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A field as it may go into a CSV: text beginning with a formula trigger gets a leading
    `'`; anything else (numbers, dates, blanks, other text) is returned unchanged."""
    if isinstance(value, str) and value.startswith(CSV_TRIGGERS):
        return "'" + value
    return value


def write_table(frame, path: Path) -> None:
    """A report, CSV or JSON by the file's extension, written atomically (CSV text fields
    neutralised against formula injection, see the module doc)."""
    from xlvalue.workbook.writer import atomic_write

    path = Path(path)
    if path.suffix.lower() == ".json":
        atomic_write(path, lambda tmp: tmp.write_text(
            json.dumps(frame.to_dict(orient="records"), indent=1, default=str)))
        return
    from pandas.api.types import is_numeric_dtype

    safe = frame.copy()
    for col in safe.columns:
        if not is_numeric_dtype(safe[col].dtype):  # object or string columns
            safe[col] = safe[col].map(csv_safe)
    atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False))


def write_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]], path: Path) -> None:
    """A report of plain rows (no pandas: `xlvalue eval` writes hundreds of thousands of
    cells), CSV or JSON by the file's extension, written atomically; CSV text fields are
    neutralised as write_table's, blanks are empty fields."""
    from xlvalue.workbook.writer import atomic_write

    path = Path(path)
    rows = list(rows)
    if path.suffix.lower() == ".json":
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps(
            [dict(zip(columns, row, strict=True)) for row in rows], indent=1, default=str)))
        return

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow([csv_safe(c) for c in columns])
            out.writerows([csv_safe(v) for v in row] for row in rows)

    atomic_write(path, write)
