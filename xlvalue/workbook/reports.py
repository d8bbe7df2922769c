"""Machine-readable reports (CSV or JSON) written atomically, safe to open in a spreadsheet.

A CSV report carries text from workbooks (cell values, formulas, file names). A spreadsheet
that opens the CSV would run a field beginning with `=`, `+`, `-` or `@` as a formula (and
a leading tab or carriage return can hide one): CSV injection. As OWASP advises, such text
fields are written with a leading `'`, which spreadsheets show as text; numbers are left as
they are. JSON reports keep the text unchanged (no spreadsheet runs JSON).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CSV_TRIGGERS", "csv_safe", "write_table"]

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
