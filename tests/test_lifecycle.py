"""Customer lifecycle stages (issue 26 item 1, seed 003): the rule of docs/methods.md on
hand-built customers, one per stage and per boundary, with hand-derived windows, trends and
stages; the demo's stages; a plain run whose CLV is skipped."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from xlvalue.analyses import lifecycle, rfm
from xlvalue.analyses.registry import input_use
from xlvalue.analyses.spec import Context
from xlvalue.analytics.lifecycle import (
    STAGES,
    StageRule,
    lifecycle_stages,
    spend_trend,
    stage_summary,
    window_days,
)
from xlvalue.cli.main import main
from xlvalue.workbook.inputs import read_inputs
from xlvalue.workbook.reader import WorkbookReader

from .conftest import make_book

D = dt.date
AS_OF = D(2024, 12, 31)
# 6 months = round(6 x 30.4375) = 183 days: recent = 2024-07-02 .. 2024-12-31 (183 days),
# 2024-07-01 is the last day before the window
LOG = [
    # first purchase 60 days back (2 months < 6): exploration
    ("new", D(2024, 11, 1), 40.0),
    # tenure 365 days (from 2024-01-01): 183 days before the window = one window, earlier =
    # the spend before it as it is
    ("grow", D(2024, 1, 1), 100.0), ("grow", D(2024, 9, 1), 150.0),
    ("grow", D(2024, 12, 1), 150.0),  # recent 300, earlier 100: (300-100)/400 = 0.5
    ("steady", D(2024, 1, 1), 100.0), ("steady", D(2024, 4, 1), 100.0),
    ("steady", D(2024, 8, 1), 100.0), ("steady", D(2024, 11, 1), 100.0),  # 200 vs 200: 0
    ("fade", D(2024, 1, 1), 100.0), ("fade", D(2024, 3, 1), 100.0),
    ("fade", D(2024, 5, 1), 100.0), ("fade", D(2024, 10, 1), 50.0),  # 50 vs 300: -5/7
    ("gone", D(2024, 1, 1), 100.0), ("gone", D(2024, 2, 1), 100.0),  # 0 vs 200: -1, P 0.05
    # the window's edge: 2024-07-01 is before it, 2024-07-02 in it: 100 vs 200: -1/3
    ("edge", D(2024, 1, 1), 100.0), ("edge", D(2024, 7, 1), 100.0),
    ("edge", D(2024, 7, 2), 100.0),
    # tenure 730 days (from 2023-01-01): 731 - 183 = 548 days before the window, earlier =
    # 822 x 183 / 548 = 274.5 per window; recent 274: (274 - 274.5) / 548.5
    ("old", D(2023, 1, 1), 274.0), ("old", D(2023, 6, 1), 274.0),
    ("old", D(2024, 2, 1), 274.0), ("old", D(2024, 9, 1), 274.0),
    # exactly at the threshold: 150 vs 100 -> (150-100)/250 = 0.2 = LifecycleTrend: formation
    ("up20", D(2024, 1, 1), 100.0), ("up20", D(2024, 10, 1), 150.0),
    # young and P(alive) below LifecycleLost: lost comes first
    ("newgone", D(2024, 10, 1), 30.0),
]
# P(alive) and CLV as CLV would hand them on (set by hand: the rule, not the model, is tested)
P_ALIVE = {"new": 0.9, "grow": 0.9, "steady": 0.8, "fade": 0.5, "gone": 0.05, "edge": 0.7,
           "old": 0.95, "up20": 0.9, "newgone": 0.1}
CLV = {"new": 10.0, "grow": 50.0, "steady": 40.0, "fade": 5.0, "gone": -1.0, "edge": 8.0,
       "old": 60.0, "up20": 20.0, "newgone": 0.5}
WANT = {  # customer: (stage, tenure days, recent, earlier, trend)
    "new": ("exploration", 60, 40.0, 0.0, 1.0),
    "grow": ("formation", 365, 300.0, 100.0, 0.5),
    "steady": ("stability", 365, 200.0, 200.0, 0.0),
    "fade": ("decline", 365, 50.0, 300.0, -250 / 350),
    "gone": ("lost", 365, 0.0, 200.0, -1.0),
    "edge": ("decline", 365, 100.0, 200.0, -1 / 3),
    "old": ("stability", 730, 274.0, 274.5, -0.5 / 548.5),
    "up20": ("formation", 365, 150.0, 100.0, 0.2),
    "newgone": ("lost", 91, 30.0, 0.0, 1.0),
}
SETTINGS = {"AsOfDate": AS_OF, "PeriodUnit": "month", "LifecycleWindow": 6,
            "LifecycleExplore": 6, "LifecycleTrend": 0.2, "LifecycleLost": 0.2}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _staged(tmp_path, settings=SETTINGS) -> dict[str, pd.DataFrame]:
    """RFM run on the hand-built log, CLV's table set by hand, then the lifecycle analysis."""
    book = make_book(tmp_path / "lc.xlsx", [list(r) for r in LOG], settings=settings)
    reader = WorkbookReader.open(book)
    try:
        inputs = read_inputs(reader, {"lifecycle"}, input_use())
    finally:
        reader.close()
    ctx = Context(inputs, frozenset({"lifecycle"}), frozenset({"rfm", "clv", "lifecycle"}))
    rfm.run(ctx)
    ids = ctx.shared["rfm"].table["customer_id"]
    ctx.shared["clv"] = pd.DataFrame({"customer_id": ids, "p_alive": ids.map(P_ALIVE),
                                      "clv": ids.map(CLV)})
    return lifecycle.run(ctx)


def test_each_stage_from_hand_built_customers(tmp_path):
    frames = _staged(tmp_path)
    got = frames["xv_out_Lifecycle"].set_index("customer_id")
    assert sorted(got.index) == sorted(WANT)
    for cid, (stage, tenure, recent, earlier, trend) in WANT.items():
        row = got.loc[cid]
        assert row["stage"] == stage, cid
        assert row["tenure"] == pytest.approx(tenure / (365.25 / 12), rel=1e-12), cid
        assert row["recent_spend"] == pytest.approx(recent, abs=1e-9), cid
        assert row["earlier_spend"] == pytest.approx(earlier, abs=1e-9), cid
        assert row["trend"] == pytest.approx(trend, abs=1e-12), cid
        assert row["p_alive"] == P_ALIVE[cid] and row["clv"] == CLV[cid]
    assert set(got["stage"]) == set(STAGES)  # every stage is reached


def test_stage_summary_of_hand_built_customers(tmp_path):
    stages = _staged(tmp_path)["xv_out_LifecycleStages"].set_index("stage")
    assert list(stages.index) == list(STAGES)
    spend = {c: sum(a for cid, _, a in LOG if cid == c) for c in WANT}
    for stage in STAGES:
        members = [c for c, w in WANT.items() if w[0] == stage]
        row = stages.loc[stage]
        assert row["customers"] == len(members)
        assert row["share_of_customers"] == pytest.approx(len(members) / len(WANT))
        assert row["spend"] == pytest.approx(sum(spend[c] for c in members))
        assert row["share_of_spend"] == pytest.approx(sum(spend[c] for c in members)
                                                      / sum(spend.values()))
        assert row["clv"] == pytest.approx(sum(CLV[c] for c in members))
        assert row["share_of_clv"] == pytest.approx(sum(CLV[c] for c in members)
                                                    / sum(CLV.values()))
        assert row["mean_p_alive"] == pytest.approx(np.mean([P_ALIVE[c] for c in members]))
    # lost: gone (spend 200, CLV -1) and newgone (30, 0.5)
    assert stages.loc["lost", "spend"] == 230.0 and stages.loc["lost", "clv"] == -0.5


def test_thresholds_are_the_settings(tmp_path):
    """The same customers under other thresholds: a wider trend band makes grow's 0.5 and
    fade's -0.71 stable, no exploration stage, lost only below 0.01, a 12-month window."""
    frames = _staged(tmp_path, {**SETTINGS, "LifecycleTrend": 0.75, "LifecycleExplore": 0,
                                "LifecycleLost": 0.01})
    got = frames["xv_out_Lifecycle"].set_index("customer_id")["stage"]
    assert got["grow"] == "stability" and got["fade"] == "stability"
    assert got["new"] == "formation" and got["newgone"] == "formation"  # trend +1
    assert got["gone"] == "decline"  # trend -1, P(alive) 0.05 is not below 0.01
    wide = _staged(tmp_path, {**SETTINGS, "LifecycleWindow": 12})
    # 12 months = 365 days: grow's whole history but its first day is in the window
    # (2024-01-01 is day as_of - 365, before it): 300 vs 100 per window -> 0.5 again
    row = wide["xv_out_Lifecycle"].set_index("customer_id").loc["grow"]
    assert row["recent_spend"] == 300.0 and row["earlier_spend"] == pytest.approx(100.0)


def test_rule_functions_on_arrays():
    """The core alone: the trend's edge cases and the order of the tests."""
    earlier, trend = spend_trend(np.array([0.0, -5.0, 10.0, 10.0]),
                                 np.array([0.0, 10.0, -3.0, 10.0]), np.array([400, 400, 400, 10]),
                                 100)
    # no spend either side -> 0; a net return counts as 0 -> -1; before < 0 -> +1;
    # tenure 10 < window: the before-spend is spread over one window
    assert trend.tolist() == [0.0, -1.0, 1.0, 0.0]
    assert earlier == pytest.approx([0.0, 1000 / 301, 0.0, 10.0], rel=1e-15)
    rule = StageRule(window_days=100, explore_days=50.0, trend=0.2, lost=0.3)
    stage = lifecycle_stages(np.array([10, 10, 400, 400, 400, 400]),
                             np.array([0.5, 0.5, -0.2, 0.2, 0.19, np.nan]),
                             np.array([0.2, np.nan, 0.9, 0.9, 0.9, 0.9]), rule)
    assert stage.tolist() == ["lost", "exploration", "decline", "formation", "stability",
                              "stability"]
    assert window_days(6, "month") == 183 and window_days(1, "week") == 7
    summary = stage_summary(np.array(["decline"]), np.array([5.0]), np.array([-2.0]),
                            np.array([0.5]))
    assert summary["customers"].tolist() == [0, 0, 0, 1, 0]
    assert summary["share_of_clv"].tolist() == [0.0] * 5  # a total that is not positive
    assert np.isnan(summary["mean_p_alive"][0]) and summary["mean_p_alive"][3] == 0.5
    with pytest.raises(ValueError, match="trend threshold"):
        StageRule(window_days=10, explore_days=0.0, trend=0.0, lost=0.2)


def test_the_demo_shows_at_least_three_stages(demo_run):
    """The CDNOW demo (default thresholds): every customer staged, at least three stages held.
    All its customers joined in the first quarter of 1997, 15 months and more before AsOfDate,
    so none is in exploration."""
    frames = demo_run[0].results.frames
    stages = frames["xv_out_LifecycleStages"].set_index("stage")["customers"]
    assert stages.sum() == len(frames["xv_out_CLV"]) == 2357
    assert (stages > 0).sum() >= 3 and stages["exploration"] == 0
    table = frames["xv_out_Lifecycle"]
    assert (table["p_alive"] < 0.2).sum() == stages["lost"]
    assert lifecycle.SKIPPED not in demo_run[0].results.warnings


def test_a_plain_run_without_clv_skips_the_stages_saying_why(tmp_path, capsys):
    """No repeat buyer: BG/NBD cannot be fitted, CLV is skipped; lifecycle is skipped with a
    warning naming CLV, the run succeeds (exit 0) and writes RFM. Asked for by name, the run
    fails on CLV's problem (exit 2)."""
    from xlvalue.cli.headless_run import run_workbook

    rows = [[f"c{i}", dt.date(2024, 1, 1 + i), 10.0] for i in range(20)]
    book = make_book(tmp_path / "b.xlsx", rows)
    res = run_workbook(book).results
    assert "xv_out_RFM" in res.frames and "xv_out_Lifecycle" not in res.frames
    assert lifecycle.SKIPPED in res.warnings and "lifecycle" not in res.not_run
    code, _, err = run_cli(capsys, "run", str(book), "-o", str(tmp_path / "o.xlsx"))
    assert code == 0 and f"warning: {lifecycle.SKIPPED}" in err
    code, _, err = run_cli(capsys, "run", str(book), "--only", "lifecycle",
                           "-o", str(tmp_path / "o2.xlsx"))
    assert code == 2 and "CLV: bgnbd cannot be fitted" in err
