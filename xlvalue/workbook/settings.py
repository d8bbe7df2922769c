"""Typed settings read from the xv_Settings key/value range (or given in code)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xlvalue.errors import Problem
from xlvalue.workbook.contract import SETTINGS, SETTINGS_NAME, Setting
from xlvalue.workbook.ooxml import cell_ref
from xlvalue.workbook.reader import ExcelError, RawRange
from xlvalue.workbook.validation import convert_dates, convert_numbers

__all__ = ["Settings", "parse_setting", "read_settings"]


@dataclass(frozen=True)
class Settings(Mapping[str, Any]):
    """All settings with their defaults; `AsOfDate` None means the last transaction date."""

    values: dict[str, Any] = field(default_factory=lambda: {s.key: s.default for s in SETTINGS})
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (sheet, value
    # cell) of the settings read from a range, to name the cell of a setting at fault

    def problem(self, key: str, message: str, book: str) -> Problem:
        """A problem about one setting, located at its value cell when it was read from one."""
        sheet, cell = self.cells.get(key, ("", ""))
        return Problem(message, book=book, sheet=sheet, cell=cell, name=SETTINGS_NAME)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def floats(self, key: str) -> list[float]:
        """A list setting ('1,1,1') as floats."""
        value = self.values[key]
        if isinstance(value, list | tuple):
            return [float(v) for v in value]
        return [float(v) for v in str(value).replace(";", ",").split(",") if v.strip()]


def parse_setting(spec: Setting, value: Any) -> tuple[Any, str | None]:
    """Convert one raw cell value to the setting's type; returns (value, error message)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return spec.default, None
    if isinstance(value, ExcelError):
        return None, f"{spec.key} holds the error value {value.text}"
    if spec.kind == "date":
        out, bad = convert_dates(np.array([value], dtype=object))
        if bad[0]:
            return None, f"{spec.key} {value!r} is not a date (expected an Excel date or ISO text)"
        return out[0], None
    if spec.kind in ("number", "integer"):
        out, bad = convert_numbers(np.array([value], dtype=object))
        number = float(out[0])
        if bad[0] or (spec.kind == "integer" and not number.is_integer()):
            kind = "a whole number" if spec.kind == "integer" else "a number"
            return None, f"{spec.key} {value!r} is not {kind}"
        if (spec.minimum is not None and number < spec.minimum) or (
                spec.maximum is not None and number > spec.maximum):
            shown = repr(value) if isinstance(value, str) else f"{number:g}"
            return None, (f"{spec.key} {shown} is outside {spec.minimum:g}..{spec.maximum:g}")
        return (int(number) if spec.kind == "integer" else number), None
    text = str(value).strip()
    if spec.kind == "choice":
        lowered = text.lower()
        if lowered not in spec.choices:
            return None, f"{spec.key} {text!r} is not one of {', '.join(spec.choices)}"
        return lowered, None
    if spec.kind == "list":
        try:
            numbers = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
        except ValueError:
            return None, f"{spec.key} {text!r} is not a comma-separated list of numbers"
        if not all(np.isfinite(numbers)):  # nan, inf, 1e400: every score would be blank
            return None, f"{spec.key} {text!r} holds a value that is not a finite number"
    return text, None


def read_settings(raw: RawRange | None) -> tuple[Settings, list[Problem], list[str]]:
    """Settings from a key/value range; returns settings, problems and warnings."""
    settings = Settings()
    if raw is None:
        return settings, [], []
    by_key = {s.key.lower(): s for s in SETTINGS}
    values = dict(settings.values)
    cells: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    warnings: list[str] = []
    for i, row in enumerate(raw.rows):
        if not row or not isinstance(row[0], str) or not row[0].strip():
            continue
        key = row[0].strip()
        if key.lower() in ("key", "setting"):
            continue  # header row
        spec = by_key.get(key.lower())
        where = cell_ref(raw.area.r0 + i, raw.area.c0 + 1)
        if spec is None:
            warnings.append(f"{raw.area.sheet}!{cell_ref(raw.area.r0 + i, raw.area.c0)}: "
                            f"unknown setting '{key}' ignored")
            continue
        value, error = parse_setting(spec, row[1] if len(row) > 1 else None)
        if error:
            problems.append(Problem(error, book=raw.book, sheet=raw.area.sheet, cell=where,
                                    name=SETTINGS_NAME))
        else:
            values[spec.key] = value
            cells[spec.key] = (raw.area.sheet, where)
    if not problems and values["ParetoA"] > values["ParetoB"]:
        problems.append(Problem("ParetoA must not exceed ParetoB", book=raw.book,
                                sheet=raw.area.sheet, name=SETTINGS_NAME))
    return Settings(values, cells), problems, warnings
