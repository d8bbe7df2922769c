"""`import xlvalue.lite` works where xlwings Lite runs: without python-calamine, openpyxl,
defusedxml, tqdm (none of them required under Pyodide), Dask, distributed, formulas or
multiprocessing, and without starting threads or processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _probe(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "tests.lite_blocked_probe", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_the_blocker_blocks():
    """The same blocker makes the template writer (openpyxl) fail: the probe is not blind."""
    assert "blocked for xlwings Lite: openpyxl" in _probe("control")["control_blocked"]


@pytest.mark.slow
def test_lite_imports_and_runs_every_function_and_script_with_the_libraries_blocked():
    r = _probe()
    assert r["loaded"] == []
    assert len(r["functions"]) >= 19 and all(r["equal"].values()) and set(r["equal"]) == set(
        r["functions"])
    assert r["errors"] == []
    scripts = r["scripts"]
    assert len(scripts) >= 9  # 8 scripts, Run all twice
    assert all(v is True or (isinstance(v, int) and v > 0) for v in scripts.values()), scripts
    assert len(r["blocks"]) >= 20 and r["demo_blocks"] == r["blocks"]
    assert r["threads"] == 1
