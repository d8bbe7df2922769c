"""A fingerprint of a run's output workbook: every xv_out_* block's values, the defined names and
the charts, so that a refactor can prove it changed no number (tests/test_registry.py).

Values are normalised so that formats do not count: numbers to 9 significant digits, and a
text that reads as a number ("2,357", "12.5%") as that number. The run log's time and
version rows and the contents' cell addresses are left out (they say when and where, not what).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import openpyxl

__all__ = ["snapshot", "snapshot_json"]

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
        blocks[name] = [len(rows), digest]
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
