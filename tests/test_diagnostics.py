"""The BTYD diagnostics behind xv_CLV's charts, one figure per chart checked against the
quantities lifetimes' plotting module draws (literals from lifetimes 0.11.3, with the call that
produced them), and the workbook: blocks, charts and the colour scale."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from xlvalue.analytics.clv_analysis import holdout_fit, holdout_tracking
from xlvalue.analytics.diagnostics import alive_matrix, period_transactions
from xlvalue.analytics.models import BetaGeoModel, ParetoNBDModel
from xlvalue.analytics.transactions import TransactionLog, day_number, purchase_days
from xlvalue.datasets import load_cdnow_sample, load_cdnow_summary


@pytest.fixture(scope="module")
def cdnow():
    s = load_cdnow_summary()
    f, r, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    return f, r, T, BetaGeoModel().fit(f, r, T)


@pytest.fixture(scope="module")
def calibration():
    log = TransactionLog.from_frame(load_cdnow_sample())
    cal, end = day_number("1997-09-30"), day_number("1998-06-30")
    table, model = holdout_fit("bgnbd", log, cal, end, "weeks")
    return table, holdout_tracking(model, purchase_days(log), cal, end, "weeks")


def test_tracking_equals_lifetimes_expected_cumulative_transactions(calibration):
    # lifetimes: BetaGeoFitter().fit(frequency_cal, recency_cal, T_cal) on the same calibration
    # summary, then expected_cumulative_transactions(bgf, transactions, "date", "id", t=546,
    # freq="D", freq_multiplier=7) -> rows 0, 1, 37, 38, 77 (actual, predicted)
    track = calibration[1]
    assert len(track) == 78 and track["week"].iloc[-1] == 78
    rows = track.iloc[[0, 1, 37, 38, 77]]
    np.testing.assert_array_equal(rows["actual"], [0, 19, 2395, 2457, 4339])
    np.testing.assert_allclose(rows["model"], [4.405480, 17.241483, 2448.211023, 2501.526054,
                                               4165.663592], rtol=2e-5)
    # weeks ending on or before 1997-09-30 are calibration, the rest holdout
    assert (track["period"] == "calibration").sum() == 39
    assert track["period"].iloc[-1] == "holdout"


def test_conditional_expectations_equal_lifetimes_holdout_means(calibration):
    # lifetimes: the calibration fit's conditional_expected_number_of_purchases_up_to_time(
    # duration_holdout, ...) averaged by frequency_cal (plot_calibration_purchases_vs_holdout_
    # purchases), frequencies 0..6
    holdout = calibration[0]
    np.testing.assert_allclose(holdout["actual_holdout"].iloc[:7],
                               [0.236712, 0.697039, 1.392523, 1.56, 2.532258, 2.947368, 3.862069],
                               atol=1e-6)
    np.testing.assert_allclose(holdout["expected_holdout"].iloc[:7],
                               [0.225087, 0.523131, 1.044134, 1.520280, 2.163866, 2.653846,
                                3.504042], rtol=2e-5)


def test_period_transactions_equal_lifetimes_probabilities(cdnow):
    # lifetimes: sum over customers of BetaGeoFitter.probability_of_n_purchases_up_to_time(T_i, x)
    # (plot_period_transactions simulates the same expectation); actual = value_counts
    f, r, T, m = cdnow
    table = period_transactions(m, f, T)
    assert list(table["repeat_purchases"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    np.testing.assert_array_equal(table["actual"], [1411, 439, 214, 100, 62, 38, 29, 64])
    np.testing.assert_allclose(table["model"].iloc[:7], [1407.68461333, 460.32455308, 192.46028,
                                                         101.1634355, 59.846698, 38.11955673,
                                                         25.54908765], rtol=2e-5)
    assert table["model"].sum() == pytest.approx(len(f))


def test_period_transactions_simulate_where_there_is_no_closed_form(cdnow):
    f, r, T, _ = cdnow
    pn = ParetoNBDModel().fit(f, r, T)
    table = period_transactions(pn, f, T)
    assert table["model"].sum() == len(f)
    # the simulated model counts follow the actual ones within sampling noise (bins of > 100)
    big = table["actual"] > 100
    assert (np.abs(table["model"][big] - table["actual"][big]) < 4 * np.sqrt(table["actual"][big]) + 40).all()


def test_alive_matrix_equals_lifetimes(cdnow):
    # lifetimes: BetaGeoFitter.conditional_probability_alive_matrix()[[0, 10, 38]][:, [1, 2, 5, 10]]
    f, r, T, m = cdnow
    z = alive_matrix(m, int(f.max()), float(T.max()))
    assert z.shape == (39, 31) and list(z.columns[:3]) == ["recency", "x=0", "x=1"]
    np.testing.assert_allclose(z.iloc[[0, 10, 38]][["x=1", "x=2", "x=5", "x=10"]].to_numpy(),
                               [[1.55314550e-01, 2.63104928e-02, 5.71080456e-05, 1.23905972e-09],
                                [4.44501397e-01, 2.77472536e-01, 2.74931361e-02, 2.27784098e-04],
                                [7.53657951e-01, 8.12051686e-01, 8.90161284e-01, 9.35108484e-01]],
                               rtol=1e-5)


def test_xv_clv_draws_at_least_five_charts_and_colours_the_matrix(demo_book, tmp_path):
    from xlvalue.cli.headless_run import run_workbook

    out = tmp_path / "out.xlsx"
    frames = run_workbook(demo_book, out, only="clv").results.frames
    for name in ("xv_out_Tracking", "xv_out_PeriodTransactions", "xv_out_AliveMatrix",
                 "xv_out_Holdout"):
        assert name in frames and len(frames[name]) > 0
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/xlvalue_xv_clv_")]
        sheet = z.read("xl/worksheets/xlvalue_xv_clv.xml").decode()
        drawing = z.read("xl/drawings/xlvalue_xv_clv.xml").decode()
        titles = " ".join(z.read(c).decode() for c in charts)
    assert len(charts) >= 5 and drawing.count("<xdr:graphicFrame") == len(charts)
    for title in ("Tracking", "Customers by number of repeat purchases", "Conditional expectations",
                  "P(alive) by recency"):
        assert title in titles
    # the colour scale sits between sheetData and pageMargins, over the matrix's numbers
    assert sheet.index("</sheetData><conditionalFormatting") < sheet.index("<pageMargins")
    assert '<cfRule type="colorScale"' in sheet


def test_tracking_by_hand_and_with_the_nbd():
    """Two customers first seen on days 0 and 3, repeat purchases on days 5 and 9; the NBD
    (no dropout) expects b t / a purchases of a new customer by age t (weeks here)."""
    import pandas as pd

    from xlvalue.analytics.diagnostics import tracking
    from xlvalue.analytics.models import NBDModel

    nbd = NBDModel()
    nbd.params_ = pd.Series({"a": 2.0, "b": 1.0})
    t = tracking(nbd, np.array([0, 3]), np.array([5, 9]), 0, 13, 7.0, calibration_end=6)
    assert list(t["week"]) == [1, 2] and list(t["period"]) == ["calibration", "holdout"]
    np.testing.assert_array_equal(t["actual"], [1, 2])  # day 5 in week 1, day 9 in week 2
    np.testing.assert_allclose(t["model"], [(7 + 4) / 7 / 2, (14 + 11) / 7 / 2])
