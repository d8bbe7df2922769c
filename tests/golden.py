"""A fingerprint of a run's output workbook: every xv_out_* block's values, the defined names and
the charts, so that a refactor can prove it changed no number (tests/test_registry.py).

Per block: its row count, an exact hash of its values (numbers to 9 significant digits, a text
that reads as a number as that number: formats do not count) and, per numeric column, sums
that `compare` checks with a tolerance (a refit to the same optimum by another optimiser moves
the 7th digit; interval bounds, drawn from the fitted covariance, more). The run log's time
and version rows and the contents' cell addresses are left out (when and where, not what).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import openpyxl

__all__ = ["compare", "snapshot", "snapshot_json"]

_NUMBER_TEXT = re.compile(r"^-?[\d,]+(\.\d+)?%?$")
VOLATILE_LOG_ITEMS = {"xlvalue version", "started (UTC)", "workbook"}


def _norm(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(f"{float(v):.9g}")
    if isinstance(v, str) and _NUMBER_TEXT.match(v.strip()):
        text = v.strip().replace(",", "")
        x = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
        return float(f"{x:.9g}")
    return v if v is None else str(v)


def _block(ws, ref: str, name: str) -> list[list]:
    cells = ws[ref.replace("$", "")]
    grid = cells if isinstance(cells, tuple) else ((cells,),)
    rows = [[_norm(c.value) for c in row] for row in grid]
    if name == "xv_out_RunLog":
        rows = [r for r in rows if not (len(r) > 1 and r[1] in VOLATILE_LOG_ITEMS)]
    if name == "xv_out_Contents":  # go_to: cell addresses move with the layout
        rows = [r[:3] for r in rows]
    return rows


def _column_sums(rows: list[list]) -> dict[str, list]:
    """Numeric column -> [count, sum, sum of |x|, sum of x weighted 1..7 by row]; a text
    column -> the hash of its values."""
    out: dict[str, list] = {}
    if not rows:
        return out
    for j, head in enumerate(rows[0]):
        values = [r[j] for r in rows[1:]]
        if all(v is None or isinstance(v, float) for v in values):
            x = [v for v in values if v is not None]
            w = [(i % 7) + 1 for i, v in enumerate(values) if v is not None]
            out[str(head)] = [len(x), sum(x), sum(abs(v) for v in x),
                              sum(a * b for a, b in zip(x, w, strict=True))]
        else:
            out[str(head)] = [hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()]
    return out


def compare(want: dict, got: dict, rtol: float = 1e-4, interval_rtol: float = 5e-2
            ) -> list[str]:
    """What differs between two snapshots: names, charts, row counts, text columns exactly,
    numeric columns' sums within rtol (interval bounds *_low/*_high within interval_rtol)."""
    diffs = []
    if got["names"] != want["names"]:
        diffs.append(f"names: {sorted(set(want['names']) ^ set(got['names']))}")
    if got["charts"] != want["charts"]:
        diffs.append(f"charts: {sorted(set(want['charts']) ^ set(got['charts']))}")
    for name, (rows, _, columns) in want["blocks"].items():
        if name not in got["blocks"]:
            diffs.append(f"{name}: missing")
            continue
        got_rows, _, got_columns = got["blocks"][name]
        if got_rows != rows or set(got_columns) != set(columns):
            diffs.append(f"{name}: {got_rows} rows, columns {sorted(got_columns)}")
            continue
        for col, stats in columns.items():
            other = got_columns[col]
            if len(stats) == 1 or len(other) == 1:
                if other != stats:
                    diffs.append(f"{name}.{col}: values differ")
                continue
            tol = interval_rtol if col.endswith(("_low", "_high")) else rtol
            scale = max(abs(stats[2]), 1e-9)
            if other[0] != stats[0] or any(abs(a - b) > tol * scale
                                           for a, b in zip(stats[1:], other[1:], strict=True)):
                diffs.append(f"{name}.{col}: {other} vs {stats}")
    return diffs


def snapshot(path: Path) -> dict:
    """{"names": {name: sheet}, "blocks": {name: [rows, sha256]}, "charts": [titles...]}."""
    wb = openpyxl.load_workbook(path, data_only=True)
    names, blocks = {}, {}
    for name, dn in wb.defined_names.items():
        if not name.startswith("xv_out_"):
            continue
        sheet, ref = next(iter(dn.destinations))
        names[name] = sheet
        rows = _block(wb[sheet], ref, name)
        digest = hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()
        blocks[name] = [len(rows), digest, _column_sums(rows)]
    with zipfile.ZipFile(path) as z:
        charts = sorted(
            n.rsplit("/", 1)[1].rsplit("_", 1)[0] + ": "
            + " ".join(re.findall(r"<a:t>([^<]*)</a:t>", z.read(n).decode("utf-8"))[:1])
            for n in z.namelist() if n.startswith("xl/charts/") and n.endswith(".xml"))
    return {"names": dict(sorted(names.items())), "blocks": dict(sorted(blocks.items())),
            "charts": charts}


def snapshot_json(path: Path) -> str:
    return json.dumps(snapshot(path), indent=1, sort_keys=True)


if __name__ == "__main__":  # python tests/golden.py OUTPUT.xlsx > tests/data/golden_demo.json
    import sys

    print(snapshot_json(Path(sys.argv[1])))
