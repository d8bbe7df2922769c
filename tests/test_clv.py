"""Lifetime value, the CRM gross-margin forecast and the value matrix (METHODS 4 and 6)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.customer_value import (
    crm_margin,
    discount_factors,
    ltv_from_tables,
    margin_history,
    margin_rate_path,
    period_length,
    potential_value,
    purchases_by_period,
    retention_ltv,
    value_matrix,
)
from xlvalue.analytics.models import BetaGeoModel
from xlvalue.analytics.transactions import TransactionLog, day_number


def test_ltv_from_tables_by_hand():
    # V = sum_{t=0..2} (Q_t - C_t) / 1.1^t = 100 + 90/1.1 + 121/1.21 = 100 + 81.818... + 100
    v = ltv_from_tables([[110, 100, 131]], [[10, 10, 10]], 0.10)
    assert v[0] == pytest.approx(100 + 90 / 1.1 + 121 / 1.21)


def test_retention_closed_form_matches_the_sum():
    m, r, i = 50.0, 0.8, 0.1
    explicit = sum(m * r**t / (1 + i) ** t for t in range(11))
    assert retention_ltv(m, r, i, periods=10) == pytest.approx(explicit)
    assert retention_ltv(m, r, i) == pytest.approx(m / (1 - r / (1 + i)))


def test_crm_margin_definition():
    # purchase amount - product cost - marketing; cost = amount x (1 - margin rate)
    assert crm_margin(np.array([200.0]), np.array([0.25]), np.array([10.0]))[0] == pytest.approx(40)


def test_margin_rate_rule_with_r1_and_slope():
    d = dt.date
    # company-wide margin rate: Jan 20 %, Feb 30 %, Mar 40 % (slope 0.1 per month)
    # customer X last bought in January (rate 20 %), Y in March (rate 40 %)
    df = pd.DataFrame({
        "CustomerID": ["X", "Z", "Z", "Y"],
        "Date": pd.to_datetime([d(2024, 1, 10), d(2024, 2, 10), d(2024, 3, 10), d(2024, 3, 20)]),
        "Amount": [100.0, 100.0, 50.0, 50.0],
        "Cost": [80.0, 70.0, 30.0, 30.0],
    })
    log = TransactionLog.from_frame(df)
    h = margin_history(log, day_number("2024-03-31"), "month")
    rates = margin_rate_path(h, 2)
    x, y = (list(log.customer_ids).index(c) for c in ("X", "Y"))
    assert h.last_rate[x] == pytest.approx(0.2) and h.last_rate[y] == pytest.approx(0.4)
    # Y bought in the latest period: r1 = 0 for April, 1 for May (slope over [Mar] alone = 0)
    assert rates[y, 0] == pytest.approx(0.4) and rates[y, 1] == pytest.approx(0.4)
    # X: April is 2 periods after January with nothing between -> r1 = 2, slope over Jan..Mar
    # = 0.1, delta = 0.1 x 2 / 2 = 0.1 -> 0.2 x 1.1; May: r1 = 3 -> 0.2 x 1.15
    assert rates[x, 0] == pytest.approx(0.22) and rates[x, 1] == pytest.approx(0.23)


def test_purchases_by_period_add_up_to_the_horizon():
    m = BetaGeoModel()
    m.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    x, tx, T = np.array([0.0, 2, 5]), np.array([0.0, 30.43, 35]), np.array([38.86, 38.86, 38.86])
    per = purchases_by_period(m, x, tx, T, horizon=12, length=period_length("month", "weeks"))
    total = m.conditional_expected_number_of_purchases_up_to_time(12 * 365.25 / 12 / 7, x, tx, T)
    np.testing.assert_allclose(per.sum(axis=1), total, rtol=1e-12)
    assert (per > 0).all()


def test_discount_factors():
    np.testing.assert_allclose(discount_factors(3, 0.1), [1 / 1.1, 1 / 1.21, 1 / 1.331])


def test_value_matrix_classes_by_hand():
    actual = np.array([100.0, 80.0, 10.0, 5.0, -20.0])
    potential = np.array([0.0, 500.0, 400.0, 1.0, 900.0])
    cls, ta, tp = value_matrix(actual, potential, 0.5, 0.5)
    # thresholds over non-negative actuals: median actual 45, median potential 200.5
    assert ta == pytest.approx(45.0) and tp == pytest.approx(200.5)
    assert list(cls) == ["MVC", "MVC", "MGC", "Migrator", "BZ"]


def test_potential_value_from_share_of_wallet():
    # spends 100 a period with us, 25 % share -> 300 a period elsewhere, at 40 % margin = 120
    pv = potential_value(np.array([100.0]), None, np.array([0.25]), np.array([0.4]), 2, 0.0)
    assert pv[0] == pytest.approx(240.0)
    pv = potential_value(np.array([100.0]), np.array([1000.0]), None, np.array([0.4]), 1, 0.0)
    assert pv[0] == pytest.approx(900 * 0.4)


def test_demo_clv_outputs(demo_book, tmp_path):
    from xlvalue.cli.headless_run import run_workbook

    report = run_workbook(demo_book, tmp_path / "out.xlsx", only="clv")
    f = report.results.frames
    clv = f["xv_out_CLV"]
    assert len(clv) == 2357
    num = clv.select_dtypes("number").drop(columns=["potential_value"])
    assert np.isfinite(num.to_numpy()).all()
    assert ((clv["p_alive"] > 0) & (clv["p_alive"] <= 1)).all()
    full = f["xv_out_Models"]
    full = full[full["fit"].str.startswith("full period")]  # the demo also has a calibration fit
    models = full.set_index(["model", "parameter"])["estimate"]
    assert models["bgnbd", "converged"] == 1
    holdout = f["xv_out_Holdout"]
    assert holdout["customers"].sum() == 2357  # the sample cohort was acquired in Q1 1997
    # the forecast block adds up to the per-customer values
    assert f["xv_out_Forecast"]["discounted_margin"].sum() == pytest.approx(clv["clv"].sum())
    assert "xv_out_RFM" not in f


@pytest.mark.parametrize("model", ["mbgnbd", "paretonbd", "nbd"])
def test_clv_runs_with_every_purchase_model(tmp_path, model):
    """Model= in xv_Settings picks the purchase model; its fit is what xv_out_Models reports."""
    from tests.conftest import write_tables
    from xlvalue.cli.headless_run import run_workbook
    from xlvalue.datasets import load_cdnow_sample

    log = load_cdnow_sample()
    book = write_tables(tmp_path / "b.xlsx", {"xv_Transactions": log},
                        {"AsOfDate": dt.datetime(1997, 9, 30), "Model": model})
    f = run_workbook(book, tmp_path / "out.xlsx", only="clv").results.frames
    models = f["xv_out_Models"].set_index(["model", "parameter"])["estimate"]
    assert models[model, "converged"] == 1
    clv = f["xv_out_CLV"]
    assert len(clv) == 2357 and np.isfinite(clv["clv"]).all()
    assert ((clv["p_alive"] > 0) & (clv["p_alive"] <= 1)).all()
    if model == "mbgnbd":  # customers without repeat purchases may have left at time 0
        assert (clv.loc[clv["frequency"] == 0, "p_alive"] < 1).all()


def test_forecast_in_customer_blocks_equals_one_block(demo_book, tmp_path, monkeypatch):
    """The customers x periods matrices are built in blocks; the results do not depend on it."""
    import xlvalue.analytics.clv_analysis as value
    from xlvalue.cli.headless_run import run_workbook

    whole = run_workbook(demo_book, tmp_path / "a.xlsx", only="clv").results.frames
    monkeypatch.setattr(value, "CUSTOMER_BLOCK", 97)
    blocks = run_workbook(demo_book, tmp_path / "b.xlsx", only="clv").results.frames
    for name in ("xv_out_CLV", "xv_out_Forecast", "xv_out_ValueMatrix"):
        pd.testing.assert_frame_equal(whole[name], blocks[name], rtol=1e-12)


def test_clv_without_holdout_runs_on_released_rows(tmp_path):
    """Without CalibrationEnd, CLV reads only the purchase days: a one-shot run releases the
    rows first and gives the same CLV table as an analysis that keeps them."""
    from tests.conftest import write_tables
    from xlvalue.analyses.registry import input_use
    from xlvalue.cli.headless_run import compute
    from xlvalue.datasets import load_cdnow_sample
    from xlvalue.pipeline import analyse
    from xlvalue.workbook.inputs import read_inputs
    from xlvalue.workbook.reader import WorkbookReader

    book = write_tables(tmp_path / "b.xlsx", {"xv_Transactions": load_cdnow_sample()},
                        {"AsOfDate": dt.datetime(1997, 12, 31)})
    reader = WorkbookReader.open(book)
    try:
        released, results, _ = compute(reader, "rfm,clv")
        kept = analyse(read_inputs(reader, {"rfm", "clv"}, input_use()), {"rfm", "clv"}, release_log=False)
    finally:
        reader.close()
    assert released.log_released and len(released.log) == 0
    pd.testing.assert_frame_equal(results.frames["xv_out_CLV"], kept.frames["xv_out_CLV"])
    pd.testing.assert_frame_equal(results.frames["xv_out_Forecast"], kept.frames["xv_out_Forecast"])


def test_margin_history_last_period_rates_match_pandas():
    """Each customer's last transacting month and its margin rate, against a pandas groupby
    (several rows per day and per month, returns, random costs)."""
    rng = np.random.default_rng(8)
    n = 3000
    df = pd.DataFrame({
        "CustomerID": rng.integers(0, 300, n).astype(str),
        "Date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D"),
        "Amount": np.round(rng.normal(50, 40, n), 2),
    })
    df["Cost"] = np.round(df["Amount"] * rng.uniform(0.4, 0.9, n), 2)
    log = TransactionLog.from_frame(df)
    h = margin_history(log, day_number("2024-07-31"), "month")
    df["month"] = df["Date"].dt.to_period("M")
    last = df.groupby("CustomerID")["month"].transform("max")
    tail = df[df["month"] == last].groupby("CustomerID")[["Amount", "Cost"]].sum()
    want = (tail["Amount"] - tail["Cost"]) / tail["Amount"]
    codes = [list(log.customer_ids).index(c) for c in want.index]
    np.testing.assert_allclose(h.last_rate[codes], want.to_numpy(), rtol=1e-9)
    months = df.groupby("CustomerID")["month"].max()
    assert (h.last_period[codes] == [m.ordinal for m in months.loc[want.index]]).all()


def test_clv_without_potential_data_writes_its_sheet(tmp_path):
    """No PotentialSpend or ShareOfWallet: potential value is empty, so the value matrix's
    per-class chart data has rows without any cell, beside the CLV block's rows; the sheet
    is still written (it raised in the OOXML writer: an empty row among a row's cells)."""
    import openpyxl

    from tests.conftest import write_tables
    from xlvalue.cli.headless_run import run_workbook
    from xlvalue.datasets import load_cdnow_sample

    book = write_tables(tmp_path / "b.xlsx", {"xv_Transactions": load_cdnow_sample()},
                        {"AsOfDate": dt.datetime(1997, 9, 30), "IntervalLevel": 0})
    f = run_workbook(book, tmp_path / "out.xlsx", only="clv").results.frames
    assert f["xv_out_CLV"]["potential_value"].isna().all()
    assert "xv_out_CLV" in openpyxl.load_workbook(tmp_path / "out.xlsx").defined_names
