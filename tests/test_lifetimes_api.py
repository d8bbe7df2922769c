"""The lifetimes-compatible API reproduces lifetimes on CDNOW: the summary functions on the
transaction frame, and the models' methods of lifetimes' names. lifetimes (MIT) is a dev
dependency; its own functions are run here, not frozen copies of their output."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import xlvalue
from xlvalue.analytics.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from xlvalue.datasets import load_cdnow_sample, load_cdnow_summary
from xlvalue.errors import InputError

warnings.filterwarnings("ignore", module="lifetimes")
# lifetimes is in the dev extra (pyproject.toml), so a checkout installed as the README says
# runs these tests; a venv made before it was added skips them with this reason until
# `pip install -e '.[dev]'` is run again, rather than stopping a whole -x run at collection
lifetimes = pytest.importorskip(
    "lifetimes", reason="lifetimes (the dev extra's reference) is not installed: "
    "pip install -e '.[dev]'")
lt_utils = lifetimes.utils

END = "1998-06-30"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_cdnow_sample()[["CustomerID", "Date", "Amount"]]


@pytest.mark.parametrize("freq", ["D", "W"])
def test_summary_reproduces_lifetimes_on_cdnow(sample, freq):
    want = lt_utils.summary_data_from_transaction_data(
        sample, "CustomerID", "Date", monetary_value_col="Amount", observation_period_end=END,
        freq=freq)
    got = xlvalue.summary_data_from_transaction_data(
        sample, "CustomerID", "Date", monetary_value_col="Amount", observation_period_end=END,
        freq=freq)
    assert len(got) == 2357
    # same ids in the same order, same columns; counts and durations exactly, means to rounding
    pd.testing.assert_index_equal(got.index, want.index)
    pd.testing.assert_frame_equal(got[["frequency", "recency", "T"]],
                                  want[["frequency", "recency", "T"]], check_exact=True)
    np.testing.assert_allclose(got["monetary_value"], want["monetary_value"], rtol=1e-12)
    assert list(got.columns) == ["frequency", "recency", "T", "monetary_value"]


def test_summary_reproduces_lifetimes_on_the_full_cdnow_log():
    """The 69,659 purchases of all 23,570 customers, weeks."""
    from xlvalue.datasets import load_cdnow_master

    full = load_cdnow_master()
    want = lt_utils.summary_data_from_transaction_data(full, "CustomerID", "Date", "Amount",
                                                       freq="W")
    got = xlvalue.summary_data_from_transaction_data(full, "CustomerID", "Date", "Amount",
                                                     freq="W")
    assert len(got) == 23570
    pd.testing.assert_frame_equal(got[["frequency", "recency", "T"]],
                                  want[["frequency", "recency", "T"]], check_exact=True)
    np.testing.assert_allclose(got["monetary_value"], want["monetary_value"], rtol=1e-12)


def test_summary_of_text_dates_without_amounts_matches_lifetimes(sample):
    text = sample.assign(Date=sample["Date"].dt.strftime("%Y%m%d"))
    want = lt_utils.summary_data_from_transaction_data(
        text, "CustomerID", "Date", datetime_format="%Y%m%d", freq="W")
    got = xlvalue.summary_data_from_transaction_data(
        text, "CustomerID", "Date", datetime_format="%Y%m%d", freq="W")
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_summary_in_fractional_weeks_is_the_published_cdnow_summary(sample):
    """freq="D", freq_multiplier=7 up to 1997-09-30: FHL 2005's summary (2 decimals)."""
    got = xlvalue.summary_data_from_transaction_data(
        load_cdnow_sample(), "SampleID", "Date", observation_period_end="1997-09-30",
        freq="D", freq_multiplier=7)
    ref = load_cdnow_summary().set_index("ID")
    got = got.reindex(ref.index)
    np.testing.assert_array_equal(got["frequency"], ref["frequency"])
    np.testing.assert_allclose(got["recency"], ref["recency"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(got["T"], ref["T"], atol=0.005 + 1e-9)


@pytest.mark.parametrize("freq", ["D", "W"])
def test_calibration_and_holdout_reproduce_lifetimes(sample, freq):
    # 1997-09-28 is a Sunday: the calibration ends with a whole week in both cases
    args = dict(calibration_period_end="1997-09-28", observation_period_end=END, freq=freq,
                monetary_value_col="Amount")
    want = lt_utils.calibration_and_holdout_data(sample, "CustomerID", "Date", **args)
    got = xlvalue.calibration_and_holdout_data(sample, "CustomerID", "Date", **args)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_index_equal(got.index, want.index)
    same = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]
    pd.testing.assert_frame_equal(got[same], want[same], check_exact=True)
    np.testing.assert_allclose(got["monetary_value_cal"], want["monetary_value_cal"], rtol=1e-12)
    # documented difference: the holdout mean is per purchase period (lifetimes: per row);
    # they agree for every customer with one row per holdout purchase period
    per_period = sample.assign(P=pd.PeriodIndex(sample["Date"], freq=freq))
    hold = per_period[(per_period["Date"] > "1997-09-28") & (per_period["Date"] <= END)]
    one_row = hold.groupby("CustomerID").size() == hold.groupby("CustomerID")["P"].nunique()
    single = one_row[one_row].index
    assert len(single) > 300
    np.testing.assert_allclose(got.loc[single, "monetary_value_holdout"],
                               want.loc[single, "monetary_value_holdout"], rtol=1e-12)
    # and where they differ, ours is the mean of the per-period sums
    sums = hold.groupby(["CustomerID", "P"])["Amount"].sum().groupby("CustomerID").mean()
    np.testing.assert_allclose(got["monetary_value_holdout"],
                               sums.reindex(got.index).fillna(0.0), rtol=1e-12)


def test_include_first_transaction_matches_lifetimes(sample):
    args = dict(monetary_value_col="Amount", observation_period_end=END, freq="D",
                include_first_transaction=True)
    want = lt_utils.summary_data_from_transaction_data(sample, "CustomerID", "Date", **args)
    got = xlvalue.summary_data_from_transaction_data(sample, "CustomerID", "Date", **args)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


def test_summary_functions_refuse_bad_input_by_name(sample):
    bad = sample.copy()
    bad["Date"] = bad["Date"].astype(str)
    bad.loc[5, "Date"] = "not a day"
    with pytest.raises(InputError, match=r"transactions\['Date'\] at index 5: not a date"):
        xlvalue.summary_data_from_transaction_data(bad, "CustomerID", "Date")
    with pytest.raises(InputError, match=r"at index 0, 1, 2, 3, 4 and 6914 more: not a date "
                                         r"\(ISO 8601"):
        xlvalue.summary_data_from_transaction_data(
            sample.assign(Date=sample["Date"].dt.strftime("%d/%m/%Y")), "CustomerID", "Date")
    with pytest.raises(InputError, match="transactions has no rows"):
        xlvalue.summary_data_from_transaction_data(sample.iloc[:0], "CustomerID", "Date")
    with pytest.raises(InputError, match="no column 'Customer'"):
        xlvalue.summary_data_from_transaction_data(sample, "Customer", "Date")
    with pytest.raises(InputError, match="freq must be 'D'"):
        xlvalue.summary_data_from_transaction_data(sample, "CustomerID", "Date", freq="M")
    money = sample.astype({"Amount": object})
    money.loc[7, "Amount"] = "12,5"
    with pytest.raises(InputError, match=r"transactions\['Amount'\] at index 7: not a number"):
        xlvalue.summary_data_from_transaction_data(money, "CustomerID", "Date", "Amount")
    with pytest.raises(InputError, match="observation end must be after the calibration end"):
        xlvalue.calibration_and_holdout_data(sample, "CustomerID", "Date", "1998-07-01", END)


# ---- models: lifetimes' method names give lifetimes' values ---------------------------------

@pytest.fixture(scope="module")
def cdnow():
    s = load_cdnow_summary()
    return tuple(s[c].to_numpy(float) for c in ("frequency", "recency", "T"))


def test_bgnbd_answers_lifetimes_method_names_with_lifetimes_values(cdnow):
    f, r, T = cdnow
    ours = BetaGeoModel().fit(f, r, T)
    ref = lifetimes.BetaGeoFitter().fit(f, r, T)
    # both at the maximum likelihood: parameters to 1e-5, standard errors to 1e-4
    np.testing.assert_allclose(ours.params_[ref.params_.index], ref.params_, rtol=1e-5)
    np.testing.assert_allclose(ours.summary.loc[ref.summary.index].to_numpy(),
                               ref.summary.to_numpy(), rtol=1e-4)
    assert list(ours.summary.columns) == list(ref.summary.columns)
    # variances agree; lifetimes scales covariance (i, j) by p_j^2 where the delta method of
    # its log-parameter Hessian gives p_i p_j, so its off-diagonal is rescaled to compare
    names = list(ref.params_.index)
    v, p = ref.variance_matrix_.loc[names, names].to_numpy(), ref.params_.to_numpy()
    np.testing.assert_allclose(ours.variance_matrix_.loc[names, names].to_numpy(),
                               v * p[:, None] / p[None, :], rtol=2e-4)
    # the predictions at the same parameters: equal to rounding
    ref.params_ = ours.params_[names]
    t = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(ours.conditional_probability_alive(f, r, T),
                               ref.conditional_probability_alive(f, r, T), rtol=1e-10)
    np.testing.assert_allclose(
        ours.conditional_expected_number_of_purchases_up_to_time(39, f, r, T),
        ref.conditional_expected_number_of_purchases_up_to_time(39, f, r, T), rtol=1e-10)
    np.testing.assert_allclose(ours.expected_number_of_purchases_up_to_time(t),
                               ref.expected_number_of_purchases_up_to_time(t), rtol=1e-10)
    assert repr(ours) == repr(ref).replace("lifetimes.BetaGeoFitter", "xlvalue.BetaGeoModel")


@pytest.mark.parametrize("ours_cls, ref_name, params", [
    (ModifiedBetaGeoModel, "ModifiedBetaGeoFitter", {"r": 0.525, "alpha": 6.183, "a": 0.891,
                                                      "b": 1.614}),
    (ParetoNBDModel, "ParetoNBDFitter", {"r": 0.553, "alpha": 10.578, "s": 0.606,
                                         "beta": 11.669}),
])
def test_other_purchase_models_share_lifetimes_predictions(cdnow, ours_cls, ref_name, params):
    """Both evaluated at the same (rounded CDNOW-like) parameters on all 2,357 customers."""
    f, r, T = cdnow
    ours = ours_cls()
    ours.params_ = pd.Series(params)
    ref = getattr(lifetimes, ref_name)()
    ref.params_ = pd.Series(params)
    np.testing.assert_allclose(ours.conditional_probability_alive(f, r, T),
                               ref.conditional_probability_alive(f, r, T), rtol=1e-8)
    np.testing.assert_allclose(
        ours.conditional_expected_number_of_purchases_up_to_time(39, f, r, T),
        ref.conditional_expected_number_of_purchases_up_to_time(39, f, r, T), rtol=1e-8)
    t = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(ours.expected_number_of_purchases_up_to_time(t),
                               ref.expected_number_of_purchases_up_to_time(t), rtol=1e-8)


def test_gamma_gamma_profit_and_clv_equal_lifetimes(sample):
    s = xlvalue.summary_data_from_transaction_data(
        sample, "CustomerID", "Date", "Amount", observation_period_end="1997-09-30", freq="D",
        freq_multiplier=7)
    rep = s[s["frequency"] > 0]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    ggf = lifetimes.GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    np.testing.assert_allclose(gg.params_.to_numpy(), ggf.params_.to_numpy(), rtol=1e-4)
    ggf.params_ = pd.Series(gg.params_.to_numpy(), index=ggf.params_.index)
    np.testing.assert_allclose(gg.conditional_expected_average_profit(s["frequency"],
                                                                      s["monetary_value"]),
                               ggf.conditional_expected_average_profit(s["frequency"],
                                                                       s["monetary_value"]),
                               rtol=1e-12)
    bg = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    bgf = lifetimes.BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])  # sets .predict
    bgf.params_ = bg.params_[["r", "alpha", "a", "b"]]
    got = gg.customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"],
                                     s["monetary_value"], time=12, discount_rate=0.01, freq="W")
    want = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"],
                                       s["monetary_value"], time=12, discount_rate=0.01, freq="W")
    assert isinstance(got, pd.Series) and got.name == "clv"
    pd.testing.assert_index_equal(got.index, want.index)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert got.sum() > 0


def test_summary_rules_on_a_hand_made_log():
    """Hand-derived: ISO text with and without a time of day, two rows on one day, a day of
    returns only (not a purchase: the documented difference from lifetimes), weeks."""
    log = pd.DataFrame({
        "id": [1, 1, 2, 2, 3, 4, 4],
        "when": ["2020-01-01 10:00", "2020-01-05", "2020-01-02", "2020-01-02T23:00",
                 "2020-02-01", "2020-01-03", "2020-01-10"],
        "amount": [10.0, 20.0, 5.0, -5.0, 7.0, 10.0, -10.0]})
    days = xlvalue.summary_data_from_transaction_data(log, "id", "when", "amount")
    want = pd.DataFrame({"frequency": [1.0, 0, 0, 0], "recency": [4.0, 0, 0, 0],
                         "T": [31.0, 30, 0, 29], "monetary_value": [20.0, 0, 0, 0]},
                        index=pd.Index([1, 2, 3, 4], name="id"))
    pd.testing.assert_frame_equal(days, want)
    # weeks run Monday to Sunday: 2020-01-01 (Wed) and 01-05 (Sun) are one week; the end,
    # Friday 01-31, is in the week of 01-27, which holds customer 3's Saturday purchase
    weeks = xlvalue.summary_data_from_transaction_data(
        log, "id", "when", "amount", observation_period_end="2020-01-31", freq="W")
    assert weeks.loc[1].tolist() == [0.0, 0.0, 4.0, 0.0]
    assert weeks.loc[3].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert weeks.loc[4].tolist() == [0.0, 0.0, 4.0, 0.0]
    # without amounts there are no returns: customer 4's second week is a purchase
    counts = xlvalue.summary_data_from_transaction_data(
        log, "id", "when", observation_period_end="2020-01-31", freq="W")
    assert counts.loc[4].tolist() == [1.0, 1.0, 4.0]


@pytest.mark.parametrize("ours_cls, ref_name", [(BetaGeoModel, "BetaGeoFitter"),
                                                (ModifiedBetaGeoModel, "ModifiedBetaGeoFitter")])
def test_probability_of_n_purchases_equals_lifetimes_and_is_a_distribution(ours_cls, ref_name):
    params = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})  # CDNOW, weeks
    ours, ref = ours_cls(), getattr(lifetimes, ref_name)()
    ours.params_ = ref.params_ = params
    n = np.arange(12)
    want = [ref.probability_of_n_purchases_up_to_time(39, int(k)) for k in n]
    np.testing.assert_allclose(ours.probability_of_n_purchases_up_to_time(39, n), want, rtol=1e-12)
    # over all n it sums to 1 and its mean is E[X(t)]
    p = ours.probability_of_n_purchases_up_to_time(39, np.arange(400))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert (np.arange(400) * p).sum() == pytest.approx(
        float(ours.expected_number_of_purchases_up_to_time(39)), rel=1e-10)


def test_summary_is_sorted_by_id_whatever_the_id_dtype():
    """Customers are numbered in id order before counting (no sort of the result): text of
    pandas' string dtype, object text, integers and floats give the hand-derived summary, in
    the order pandas sorts the ids; object ids 7 and "7" are one customer, as in the core."""
    when = ["2020-01-03", "2020-01-01", "2020-01-05", "2020-01-02", "2020-01-09", "2020-01-04"]
    amount = [4.0, 2.0, 6.0, 1.0, 8.0, 3.0]
    raw = [30, 4, 30, 200, 4, 30]  # first appearance order 30, 4, 200; sorted 4, 30, 200
    want = pd.DataFrame({"frequency": [1.0, 2.0, 0.0], "recency": [8.0, 2.0, 0.0],
                         "T": [8.0, 6.0, 7.0], "monetary_value": [8.0, 4.5, 0.0]})
    for ids, index in [
        (pd.Series([f"c{v:03d}" for v in raw], dtype="str"), ["c004", "c030", "c200"]),
        (pd.Series([f"c{v:03d}" for v in raw], dtype=object), ["c004", "c030", "c200"]),
        (pd.Series(raw, dtype=np.int64), [4, 30, 200]),
        (pd.Series(raw, dtype=float), [4.0, 30.0, 200.0]),
    ]:
        frame = pd.DataFrame({"id": ids, "when": when, "amount": amount})
        got = xlvalue.summary_data_from_transaction_data(frame, "id", "when", "amount")
        assert got.index.tolist() == index, ids.dtype
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    mixed = pd.DataFrame({"id": pd.Series([7, "7", "a"], dtype=object),
                          "when": ["2020-01-01", "2020-01-02", "2020-01-02"],
                          "amount": [1.0, 2.0, 3.0]})
    got = xlvalue.summary_data_from_transaction_data(mixed, "id", "when", "amount")
    assert got.index.tolist() == ["7", "a"] and got["frequency"].tolist() == [1.0, 0.0]
