"""xlvalue.lite registered and called by xlwings' own Lite/Server code (not a stand-in).

xlwings Lite imports xlwings with XLWINGS_ON_SERVER set, so `from xlwings import func, arg,
script` are xlwings.server's decorators; xlwings.server's custom_functions_meta and
custom_scripts_meta turn a module's members into the custom-function and script metadata Excel
receives. The probe runs in a child interpreter with that environment
(tests/lite_xlwings_probe.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import xlvalue.excel.udfs  # noqa: F401  (fills REGISTRY)
from xlvalue.excel.convert import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def probe() -> dict:
    # xlwings.server asks for a licence key; "noncommercial" is xlwings' own key for
    # noncommercial use (here: this test). xlwings Lite itself is free and needs none.
    env = dict(os.environ, XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial")
    out = subprocess.run([sys.executable, "-m", "tests.lite_xlwings_probe"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_the_decorators_are_xlwings_lite_ones(probe):
    assert probe["func_type"] == "xlwings.pro.udfs_officejs.xlfunc"


def test_every_xv_function_is_registered_with_its_help_and_arguments(probe):
    functions = {f["name"]: f for f in probe["functions"]}
    assert set(functions) == set(REGISTRY) and len(functions) >= 19
    for name, spec in REGISTRY.items():
        meta = functions[name]
        assert meta["description"] == spec.doc
        assert meta["result"] == {"dimensionality": "matrix", "type": "any"}  # spills
        docs = dict(spec.args)
        for p in meta["parameters"]:
            assert p["description"] == docs[p["name"]], (name, p["name"])
    clv = [p for p in functions["XV_CLV"]["parameters"]]
    assert [p["name"] for p in clv][:6] == ["params", "gg_params", "frequency", "recency", "T",
                                            "monetary"]
    assert [bool(p.get("optional")) for p in clv] == [False] * 6 + [True] * 5


def test_every_ribbon_action_is_a_registered_script(probe):
    names = {m["function_name"]: m["name"] for m in probe["scripts_meta"]}
    assert set(names) == {"xv_run_all", "xv_check_inputs", "xv_rfm", "xv_clv", "xv_scores",
                          "xv_costing", "xv_clear_outputs", "xv_demo"}
    assert names["xv_run_all"] == "xlvalue: Run all"


def test_functions_called_the_lite_way_give_the_classic_results(probe):
    for name, r in probe["called"].items():
        assert r["equal"], name
        assert not str(r["header"][0]).startswith("#XV!"), (name, r["header"])
    assert probe["called"]["XV_RFM"]["rows"] == 2358  # 2,357 CDNOW customers and a header


def test_scripts_run_through_xlwings_script_machinery(probe):
    assert probe["scripts_ran"] == {"xv_run_all": True, "xv_check_inputs": True}
    assert len(probe["blocks"]) >= 20
