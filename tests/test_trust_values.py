"""One definition of CLV (issue 15): XV_CLV with the workbook's settings equals the
pipeline's xv_out_CLV.clv, and the spend fallback is a mean, whatever MonetaryMode says."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from xlvalue.cli.headless_run import run_workbook
from xlvalue.excel.udfs import XV_CLV

from .conftest import make_book


@pytest.fixture(scope="module")
def demo_clv(demo_run):
    """The CLV frames of the session's demo run (read only)."""
    return demo_run[0].results.frames


def _col(frame, name):
    return [[v] for v in frame[name].tolist()]


def _params(models, model):
    """The rows of the fit CLV uses (the demo sets CalibrationEnd: two BG/NBD fits)."""
    from xlvalue.analytics.clv_analysis import FULL_FIT

    rows = models[(models["model"] == model) & (models["fit"] == FULL_FIT)]
    return [[p, e] for p, e in zip(rows["parameter"], rows["estimate"], strict=True)]


def _marketing(book, customer_ids) -> list[list[float]]:
    """xv_Customers' MarketingCost per customer of the CLV table (blank = 0), as the run reads it."""
    from xlvalue.analyses.registry import input_use
    from xlvalue.workbook.inputs import read_inputs
    from xlvalue.workbook.reader import WorkbookReader

    reader = WorkbookReader.open(book)
    try:
        customers = read_inputs(reader, {"rfm"}, input_use()).customers
    finally:
        reader.close()
    cost = customers.set_index("CustomerID")["MarketingCost"].reindex(customer_ids).fillna(0.0)
    assert (cost > 0).any()  # the demo carries cost to serve: the argument matters
    return [[v] for v in cost.tolist()]


def test_xv_clv_with_the_workbooks_settings_equals_the_pipeline_column(demo_clv, demo_book):
    clv, models = demo_clv["xv_out_CLV"], demo_clv["xv_out_Models"]
    cells = XV_CLV(_params(models, "bgnbd"), _params(models, "gammagamma"),
                   _col(clv, "frequency"), _col(clv, "recency"), _col(clv, "T"),
                   _col(clv, "monetary_value"), marketing=_marketing(demo_book, clv["customer_id"]))
    got = np.array([c[0] for c in cells], dtype=float)
    assert len(got) == len(clv) == 2357
    np.testing.assert_allclose(got, clv["clv"].to_numpy(), rtol=1e-10)
    assert clv["clv"].sum() == pytest.approx(got.sum(), rel=1e-12)
    # the whole xv_out_Models range holds two BG/NBD fits: refused, not a silent pick
    whole = [[p, e] for p, e in zip(models["parameter"], models["estimate"], strict=True)]
    both = XV_CLV(whole, _params(models, "gammagamma"), _col(clv, "frequency"),
                  _col(clv, "recency"), _col(clv, "T"), _col(clv, "monetary_value"))
    assert "holds 'r' twice" in both[0][0]
    # revenue is not CLV: without marketing cost, margin 1 gives 1 / 0.3 of the margin
    # (the old default's quantity)
    args = (_params(models, "bgnbd"), _params(models, "gammagamma"), _col(clv, "frequency"),
            _col(clv, "recency"), _col(clv, "T"), _col(clv, "monetary_value"))
    revenue = XV_CLV(*args, margin=1.0)
    margin = XV_CLV(*args)
    assert sum(c[0] for c in revenue) == pytest.approx(sum(c[0] for c in margin) / 0.3, rel=1e-10)
    assert sum(c[0] for c in margin) > got.sum()  # marketing cost lowers CLV


def test_xv_clv_per_customer_margin_and_marketing_are_the_crm_gross_margin(demo_clv):
    clv, models = demo_clv["xv_out_CLV"].head(5), demo_clv["xv_out_Models"]
    args = (_params(models, "bgnbd"), _params(models, "gammagamma"), _col(clv, "frequency"),
            _col(clv, "recency"), _col(clv, "T"), _col(clv, "monetary_value"))
    base = np.array([c[0] for c in XV_CLV(*args, horizon=3, discount=0.1, margin=0.3)])
    plain = np.array([c[0] for c in XV_CLV(*args, horizon=3, discount=0.1, margin=0.3,
                                           marketing=[[1.0]] * 5)])
    # marketing 1 per period, 3 periods discounted at 10 %: 1/1.1 + 1/1.1^2 + 1/1.1^3
    np.testing.assert_allclose(base - plain, 1 / 1.1 + 1 / 1.1**2 + 1 / 1.1**3, rtol=1e-12)
    halves = np.array([c[0] for c in XV_CLV(*args, horizon=3, discount=0.1,
                                            margin=[[0.15]] * 5)])
    np.testing.assert_allclose(halves, base / 2, rtol=1e-12)


def test_discounting_is_applied(demo_clv):
    """A dropped discount factor would leave these equal (a mutant the suite missed)."""
    clv, models = demo_clv["xv_out_CLV"].head(20), demo_clv["xv_out_Models"]
    args = (_params(models, "bgnbd"), _params(models, "gammagamma"), _col(clv, "frequency"),
            _col(clv, "recency"), _col(clv, "T"), _col(clv, "monetary_value"))
    flat = np.array([c[0] for c in XV_CLV(*args, horizon=1, discount=0.0)])
    ten = np.array([c[0] for c in XV_CLV(*args, horizon=1, discount=0.1)])
    np.testing.assert_allclose(ten, flat / 1.1, rtol=1e-12)


@pytest.mark.parametrize("mode", ["mean", "total"])
def test_spend_fallback_is_mean_spend_whatever_monetary_mode(tmp_path, mode):
    """With too few repeat customers for gamma-gamma, expected spend is total spend /
    purchase days, not rfm['monetary'] (total spend under MonetaryMode=total)."""
    d = dt.date
    rows = [[f"c{i:02d}", d(2024, 1, 1 + i % 20), 10.0 + i] for i in range(40)]
    rows += [["c01", d(2024, 3, 1), 30.0], ["c01", d(2024, 5, 1), 50.0],
             ["c02", d(2024, 4, 1), 20.0]]
    book = make_book(tmp_path / "b.xlsx", rows, {"MonetaryMode": mode, "AsOfDate": "2024-06-30"})
    res = run_workbook(book, only="rfm,clv").results
    clv = res.frames["xv_out_CLV"].set_index("customer_id")
    rfm = res.frames["xv_out_RFM"].set_index("customer_id")
    assert any("gamma-gamma" in w and "observed mean spend per purchase day" in w
               for w in res.warnings)
    assert clv.loc["c01", "expected_avg_spend"] == pytest.approx((11.0 + 30 + 50) / 3)
    assert clv.loc["c02", "expected_avg_spend"] == pytest.approx((12.0 + 20) / 2)
    spend = rfm["total_spend"] / (clv["frequency"] + 1)
    np.testing.assert_allclose(clv["expected_avg_spend"], spend.reindex(clv.index))


def test_calibration_fit_is_reported_beside_the_full_fit(tmp_path):
    """With CalibrationEnd, xv_out_Models shows the estimation-period fit the holdout
    validates (FHL 2005's published CDNOW BG/NBD: r 0.243, alpha 4.414, a 0.793, b 2.426,
    LL -9582.4) beside the full-period fit, labelled, and says CLV uses the full one."""
    from xlvalue.analytics.clv_analysis import CALIBRATION_FIT, FULL_FIT
    from xlvalue.datasets import load_cdnow_sample

    from .conftest import write_tables

    df = load_cdnow_sample()[["CustomerID", "Date", "Amount"]]
    df.to_csv(tmp_path / "log.csv", index=False, date_format="%Y-%m-%d")
    book = write_tables(tmp_path / "cal.xlsx", {}, {
        "TransactionsFile": "log.csv", "AsOfDate": "1998-06-30", "CalibrationEnd": "1997-09-30"})
    frames = run_workbook(book, only="clv").results.frames
    models = frames["xv_out_Models"]
    cal = models[models["fit"] == CALIBRATION_FIT].set_index("parameter")["estimate"]
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426,
                            "log_likelihood": -9582.4}.items():
        assert cal[name] == pytest.approx(published, abs=6e-4 if name != "log_likelihood"
                                          else 0.05), name
    full = models[(models["fit"] == FULL_FIT) & (models["model"] == "bgnbd")]
    assert "used for CLV" in FULL_FIT and "used for CLV" not in CALIBRATION_FIT
    assert full.set_index("parameter")["estimate"]["r"] != pytest.approx(cal["r"], rel=1e-3)
    clv = frames["xv_out_CLV"]
    cells = XV_CLV(_params(full, "bgnbd"), _params(models, "gammagamma"),
                   _col(clv, "frequency"), _col(clv, "recency"), _col(clv, "T"),
                   _col(clv, "monetary_value"))
    np.testing.assert_allclose([c[0] for c in cells], clv["clv"], rtol=1e-10)
