"""Weighted scores (presets from the seeds), activity-based costing and elasticity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.costing import allocate, elasticity, profitability, revenue_per_marketing
from xlvalue.analytics.scoring import normalise, score_customers
from xlvalue.errors import InputError
from xlvalue.workbook.presets import preset


def convergys_inputs() -> pd.DataFrame:
    """100 customers for the Convergys preset, built so that seed 003's re-ranking happens.

    Customer k (1..100) has revenue rank k: current revenue = expected next-year spend =
    1000 - 10k, so its min-max value is (100 - k)/99 on 20 % of the weight. All other
    indicators (80 %) carry one normalised quality q: raw 100q for min-max items, 10q for 0..10
    expert items, q for the 0..1 share item. Ordinary customers have q = 0.825 (100 - k)/99, so
    their score is 100 (0.2 + 0.8 x 0.825)(100 - k)/99 = 86 (100 - k)/99: rank = revenue rank.
    F (k = 94) has q = 1: 100 (0.2 x 6/99 + 0.8) = 81.21, between customer 6 (81.66) and
    customer 7 (80.79). I (k = 58) gets score 79.7 and J (k = 3) 79.3, between customer 8
    (79.92) and customer 9 (79.05); J drops below customers 4..8, so the final order starts
    1, 2, 4, 5, 6, F, 7, 8, I, J, 9: F is 6th, I 9th, J 10th.
    """
    k = np.arange(1, 101)
    q = 0.825 * (100 - k) / 99
    q[93] = 1.0  # F
    q[57] = (79.7 - 100 * 0.2 * 42 / 99) / 80  # I: revenue part 0.2 x 42/99
    q[2] = (79.3 - 100 * 0.2 * 97 / 99) / 80  # J: revenue part 0.2 x 97/99
    ids = [f"C{i:03d}" for i in k]
    ids[93], ids[57], ids[2] = "F", "I", "J"
    model = preset("convergys")
    data = {}
    for row in model.itertuples():
        if row.Indicator in ("current_revenue", "expected_next_year_spend"):
            data[row.Indicator] = 1000.0 - 10 * k
        elif row.Normalisation == "minmax":
            data[row.Indicator] = 100 * q
        else:
            data[row.Indicator] = row.Min + q * (row.Max - row.Min)
    return pd.DataFrame(data, index=pd.Index(ids, name="CustomerID"))


def test_convergys_reranking_of_seed_003():
    result = score_customers(preset("convergys"), convergys_inputs(), "current_revenue")
    t = result.table.set_index("customer_id")
    assert t.loc[["F", "I", "J"], "revenue_rank"].tolist() == [94, 58, 3]
    assert t.loc[["F", "I", "J"], "rank"].tolist() == [6, 9, 10]
    assert t.loc["F", "score"] == pytest.approx(100 * (0.2 * 6 / 99 + 0.8))
    assert t.loc["F", "rank_change"] == 88
    assert t.loc["C001", "score"] == pytest.approx(86.0)
    assert result.warnings == []  # preset weights sum to 100


def test_key_account_preset_weights_and_penalties():
    model = preset("key-account-17")
    assert len(model) == 17
    positive = model[model["Weight"] > 0]
    assert positive["Weight"].sum() == pytest.approx(100.0)
    groups = positive.groupby("Group")["Weight"].sum()
    assert groups.to_dict() == pytest.approx({"contribution": 40, "characteristics": 34,
                                              "relationship": 26})
    # a customer at the worst end of both penalty items loses 9 + 8 points
    inputs = pd.DataFrame({name: [0.0, 1.0] for name in model["Indicator"]}, index=["a", "b"])
    t = score_customers(model, inputs).table.set_index("customer_id")
    assert t.loc["b", "penalty"] == pytest.approx(-17.0)
    assert t.loc["a", "penalty"] == pytest.approx(-5.0)  # the start of the ranges: -2 and -3


def test_delivered_value_is_value_minus_cost():
    model = preset("delivered-value")
    vals = {n: [10.0] if "value" in n else [4.0] for n in model["Indicator"]}
    t = score_customers(model, pd.DataFrame(vals, index=["x"])).table
    # total value 4 x 25 = 100 points, total cost 4 x 25 x 0.4 = 40 points
    assert t["score"].iloc[0] == pytest.approx(60.0)


def test_weights_are_rescaled_with_a_warning_and_missing_values_reported():
    model = pd.DataFrame({"Indicator": ["a", "b"], "Weight": [3.0, 1.0]})
    inputs = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, np.nan, 1.0]}, index=["x", "y", "z"])
    with pytest.raises(InputError, match=r"1 indicator value\(s\) are missing \(e.g. y/b\)"):
        score_customers(model, inputs)
    r = score_customers(model, inputs, missing="zero")
    assert any("rescaled to 100" in w for w in r.warnings)
    assert any("filled with the zero" in w for w in r.warnings)
    assert r.table["score"].tolist() == pytest.approx([25.0, 37.5, 75.0])
    with pytest.raises(InputError, match="have no column"):
        score_customers(pd.DataFrame({"Indicator": ["nope"], "Weight": [1.0]}), inputs)


@pytest.mark.parametrize("method, expected", [
    ("minmax", [0.0, 0.5, 1.0]), ("percentile", [1 / 3, 2 / 3, 1.0]),
    ("zscore", [0.1103, 0.5, 0.8897]),
])
def test_normalisations(method, expected):
    np.testing.assert_allclose(normalise(np.array([1.0, 2.0, 3.0]), method), expected, atol=1e-4)
    assert normalise(np.array([5.0]), "expert", "lower", 0, 10)[0] == pytest.approx(0.5)


def telecom():
    pools = pd.DataFrame({
        "Pool": ["Wages", "Depreciation", "Advertising", "Board"],
        "Stage": [1, 1, 1, 3], "Amount": [1000.0, 600.0, 300.0, 100.0],
        "Incremental": ["yes", "no", "yes", "no"]})
    d = [(1, "Wages", "FrontEnd", 60), (1, "Wages", "BackEnd", 40),
         (1, "Depreciation", "Switching", 3), (1, "Depreciation", "Transmission", 1),
         (1, "Advertising", "KeyAccounts", 2), (1, "Advertising", "Public", 1),
         (2, "FrontEnd", "KeyAccounts", 1), (2, "FrontEnd", "Public", 3),
         (2, "BackEnd", "Voice", 1), (2, "BackEnd", "Data", 1),
         (2, "Switching", "Voice", 1), (2, "Transmission", "Data", 1),
         (3, "Voice", "KeyAccounts", 1), (3, "Voice", "Public", 1),
         (3, "Data", "KeyAccounts", 3), (3, "Data", "Public", 1),
         (3, "Board", "KeyAccounts", 1), (3, "Board", "Public", 1)]
    drivers = pd.DataFrame(d, columns=["Stage", "From", "To", "Quantity"])
    return pools, drivers


def test_telecom_allocation_by_hand():
    pools, drivers = telecom()
    full = allocate(pools, drivers)
    # stage 1: FE 600, BE 400, Sw 450, Tr 150, KA 200, Pub 100; stage 2: KA +150, Pub +450,
    # Voice 200 + 450, Data 200 + 150; stage 3: Voice 650 halves, Data 350 3:1, Board 100 halves
    assert full.final.to_dict() == pytest.approx({"KeyAccounts": 987.5, "Public": 1012.5})
    assert full.final.sum() == pytest.approx(full.total_input, rel=1e-12)
    inc = allocate(pools, drivers, include=(pools["Incremental"] == "yes").to_numpy())
    assert inc.final.to_dict() == pytest.approx({"KeyAccounts": 600.0, "Public": 700.0})
    prof = profitability(pd.Series({"KeyAccounts": 1500.0, "Public": 1300.0}), full.final,
                         inc.final).set_index("object")
    assert prof.loc["KeyAccounts", "profit_fac"] == pytest.approx(512.5)
    assert prof.loc["KeyAccounts", "profit_incremental"] == pytest.approx(900.0)
    assert prof.loc["KeyAccounts", "revenue_margin_fac"] == pytest.approx(512.5 / 1500)
    assert prof.loc["KeyAccounts", "cost_margin_fac"] == pytest.approx(512.5 / 987.5)
    assert prof["share_of_revenue"].sum() == pytest.approx(1.0)


def test_seed_000_key_account_case_shares_and_margins():
    # seed 000: 2,010 key accounts of 949,959 users (0.2 %) bring 21.0 % of revenue; revenue
    # margin 35.4 % against 29.6 % for the others under FAC. Revenue 21 / 79 (per 100), FAC
    # cost 21 (1 - 0.354) and 79 (1 - 0.296); incremental costs chosen to give 24.7 %.
    assert 2010 / 949959 == pytest.approx(0.002, abs=0.0005)
    pools = pd.DataFrame({"Pool": ["all", "inc"], "Stage": [1, 1],
                          "Amount": [21 * 0.646 + 79 * 0.704, 8.2072 + 40.0],
                          "Unallocated": ["no", "no"]})
    drivers = pd.DataFrame({"Stage": [1, 1, 1, 1], "From": ["all", "all", "inc", "inc"],
                            "To": ["key", "other", "key", "other"],
                            "Quantity": [21 * 0.646, 79 * 0.704, 8.2072, 40.0]})
    fac = allocate(pools, drivers, include=np.array([True, False])).final
    inc = allocate(pools, drivers, include=np.array([False, True])).final
    p = profitability(pd.Series({"key": 21.0, "other": 79.0}), fac, inc).set_index("object")
    assert p.loc["key", "share_of_revenue"] == pytest.approx(0.21)
    assert p.loc["key", "revenue_margin_fac"] == pytest.approx(0.354)
    assert p.loc["other", "revenue_margin_fac"] == pytest.approx(0.296)
    assert p.loc["key", "share_of_profit_fac"] == pytest.approx(0.241, abs=0.0005)
    assert p.loc["key", "share_of_profit_incremental"] == pytest.approx(0.247, abs=0.0005)
    company = p["profit_fac"].sum() / p["revenue"].sum()
    assert company == pytest.approx(0.308, abs=0.002)  # the seed rounds to 30.7 %


def test_unallocated_pool_reported_and_conservation():
    pools, drivers = telecom()
    pools["Unallocated"] = ["no", "no", "no", "yes"]
    a = allocate(pools, drivers[drivers["From"] != "Board"])
    assert a.unallocated.to_dict() == {"Board": 100.0}
    assert a.final.sum() == pytest.approx(1900.0)
    assert "idle capacity" in a.warnings[0]


@pytest.mark.parametrize("change, message", [
    (lambda p, d: (p, d.assign(Quantity=d["Quantity"].where(d.index != 0, -5))), "is negative"),
    (lambda p, d: (p, d[d["From"] != "Board"]), r"pool 'Board' \(stage 3\) has no drivers"),
    (lambda p, d: (p, d.assign(Quantity=d["Quantity"].where(d["From"] != "Voice", 0))),
     "drivers of 'Voice' at stage 3 sum to zero"),
    (lambda p, d: (p, pd.concat([d, pd.DataFrame([(3, "Public", "FrontEnd", 1)],
                                                  columns=d.columns)])), "cycle"),
])
def test_costing_errors(change, message):
    pools, drivers = change(*telecom())
    with pytest.raises(InputError, match=message):
        allocate(pools, drivers)


def test_revenue_bands_and_elasticity():
    bands = revenue_per_marketing(np.array([150_000, 50_000, 15_000, 5_000, 2_000.0]),
                                  np.array([1_000, 1_000, 500, 100, 100.0])).set_index("band")
    assert bands.loc["> 100k", "revenue_per_100_marketing"] == pytest.approx(15_000)
    assert bands.loc["< 10k", "customers"] == 2
    e = elasticity([10.0, 10.0], [100.0, 100.0], [11.0, 12.0], [80.0, 99.0])
    # point: (-20 %) / (+10 %) = -2; arc: (-20/90) / (1/10.5) = -2.333
    assert e["point_elasticity"].iloc[0] == pytest.approx(-2.0)
    assert e["arc_elasticity"].iloc[0] == pytest.approx((-20 / 90) / (1 / 10.5))
    assert e["class"].tolist() == ["elastic", "inelastic"]


def test_scores_costing_elasticity_through_a_workbook(tmp_path, capsys):
    from xlvalue.cli.headless_run import run_workbook
    from xlvalue.cli.main import main

    from .conftest import write_tables

    inputs = convergys_inputs().reset_index()
    pools, drivers = telecom()
    tables = {
        "xv_ScoreModel": preset("convergys"),
        "xv_ScoreInputs": inputs,
        "xv_CostPools": pools,
        "xv_Drivers": drivers,
        "xv_Revenue": pd.DataFrame({"Object": ["KeyAccounts", "Public"],
                                    "Revenue": [1500.0, 1300.0], "MarketingCost": [10.0, 20.0]}),
        "xv_Elasticity": pd.DataFrame({"Group": ["key", "public"], "P1": [10.0, 10.0],
                                       "Q1": [100.0, 100.0], "P2": [11.0, 12.0],
                                       "Q2": [80.0, 99.0]}),
    }
    book = write_tables(tmp_path / "sc.xlsx", tables, {"ScoreRevenue": "current_revenue"})
    report = run_workbook(book)  # a plain run does what the workbook has inputs for
    f = report.results.frames
    assert "xv_out_RFM" not in f and any("skipped" in w for w in report.results.warnings)
    scores = f["xv_out_Scores"].set_index("customer_id")
    assert scores.loc[["F", "I", "J"], "rank"].tolist() == [6, 9, 10]
    prof = f["xv_out_Profitability"].set_index("object")
    assert prof.loc["KeyAccounts", "fac"] == pytest.approx(987.5)
    assert f["xv_out_Elasticity"]["class"].tolist() == ["elastic", "inelastic"]
    # a text weight is reported at its cell
    bad = dict(tables)
    bad["xv_ScoreModel"] = preset("convergys").astype(object)
    bad["xv_ScoreModel"].loc[2, "Weight"] = "lots"
    bad_book = write_tables(tmp_path / "bad.xlsx", bad)
    assert main(["run", str(bad_book), "--only", "scores", "-q"]) == 2
    assert "ScoreModel!C4 (xv_ScoreModel): Weight 'lots' is not a number" in capsys.readouterr().err


def test_indicators_from_rfm_and_clv_outputs(demo_book, tmp_path):
    """A score model may use rfm.<column> and clv.<column> next to its own inputs."""
    import openpyxl
    from openpyxl.workbook.defined_name import DefinedName

    from xlvalue.cli.headless_run import run_workbook

    wb = openpyxl.load_workbook(demo_book)
    ws = wb.create_sheet("Model")
    ws.append(["Indicator", "Weight"])
    ws.append(["rfm.total_spend", 50])
    ws.append(["clv.clv", 50])
    wb.defined_names["xv_ScoreModel"] = DefinedName("xv_ScoreModel", attr_text="Model!$A$1:$B$3")
    wb.save(tmp_path / "mixed.xlsx")
    f = run_workbook(tmp_path / "mixed.xlsx", only="scores").results.frames
    scores = f["xv_out_Scores"].set_index("customer_id")
    assert len(scores) == 2357 and "xv_out_CLV" not in f  # CLV computed, only scores written
    top = scores["score"].idxmax()
    assert scores.loc[top, "rank"] == 1
    assert scores["revenue_rank"].min() == 1  # revenue = the first indicator, total spend
