"""Honest model status (issue 15): unidentifiable fits refused in plain words, converged
meaning at the optimum, predictions and XV_ functions refusing impossible inputs, standard
errors equal to lifetimes' published ones."""

from __future__ import annotations

import numpy as np
import pytest

from xlvalue.analytics.models import BetaGeoModel, GammaGammaModel, NBDModel, ParetoNBDModel
from xlvalue.errors import ModelError
from xlvalue.excel import udfs as xu
from xlvalue.excel.convert import ERROR_PREFIX

# lifetimes' CDNOW fits as printed by its documentation and README (BetaGeoFitter().fit and
# GammaGammaFitter().fit on load_cdnow_summary[_data_with_monetary_value]; "Quickstart",
# lifetimes 0.11): coef and se(coef)
LIFETIMES_BGNBD = {"r": (0.242593, 0.012557), "alpha": (4.413532, 0.378221),
                   "a": (0.792886, 0.185719), "b": (2.425752, 0.705345)}
LIFETIMES_GG = {"p": (6.248802, 1.189687), "q": (3.744588, 0.290166),
                "gamma": (15.447748, 4.159994)}  # lifetimes calls gamma "v"


@pytest.fixture(scope="module")
def cdnow():
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    return load_cdnow_summary_data_with_monetary_value()


def test_bgnbd_standard_errors_are_lifetimes_published_ones(cdnow):
    m = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name, (coef, se) in LIFETIMES_BGNBD.items():
        assert m.params_[name] == pytest.approx(coef, rel=1e-5)
        assert m.standard_errors_[name] == pytest.approx(se, rel=2e-3), name
    assert m.converged_ and m.message_.startswith("converged")


def test_gamma_gamma_on_cdnow_converged_with_lifetimes_standard_errors(cdnow):
    repeat = cdnow[cdnow["frequency"] > 0]
    gg = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    for name, (coef, se) in LIFETIMES_GG.items():
        assert gg.params_[name] == pytest.approx(coef, rel=1e-5)
        assert gg.standard_errors_[name] == pytest.approx(se, rel=2e-3), name
    assert gg.converged_ and gg.gradient_ < 1e-5
    assert "ABNORMAL" not in gg.message_ and gg.message_


@pytest.mark.parametrize("x, tx, T, words", [
    ([0] * 30, [0.0] * 30, list(np.linspace(10, 40, 30)), "no customer made a repeat purchase"),
    ([2] * 30, [5.0] * 30, [10.0] * 30, "all 30 customers have the same history"),
    ([0] * 30, [0.0] * 30, [0.0] * 30, "T = 0"),
])
@pytest.mark.parametrize("model", [BetaGeoModel, ParetoNBDModel])
def test_unidentifiable_fits_are_refused_in_plain_words(x, tx, T, words, model):
    with pytest.raises(ModelError, match=words):
        model().fit(x, tx, T)


def test_unidentifiable_spend_and_nbd_fits_are_refused():
    with pytest.raises(ModelError, match="same history"):
        GammaGammaModel().fit([2] * 10, [5.0] * 10)
    with pytest.raises(ModelError, match="no customer made a purchase"):
        NBDModel().fit([0] * 10, [0.0] * 10, [3.0] * 10)


def test_a_fit_stopped_early_is_not_converged_and_says_what_to_do(cdnow, monkeypatch):
    import xlvalue.analytics.models.base as base

    real = base.minimize
    monkeypatch.setattr(base, "minimize", lambda *a, **k: real(*a, **{
        **k, "options": {"maxiter": 2}}))
    # Newton's method, which would finish the job, cannot go on either (e.g. a Hessian that
    # is not negative definite): the L-BFGS-B result is reported as it is
    monkeypatch.setattr(BetaGeoModel, "_newton", lambda *a, **k: None)
    m = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert not m.converged_
    assert "stopped before reaching an optimum" in m.message_ and "longer window" in m.message_


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.mark.parametrize("x, tx, T, words", [
    (np.nan, 0.0, 10.0, "frequency is not a finite number"),
    (-1, 0.0, 10.0, "frequency must be a whole number >= 0"),
    (2, 12.0, 10.0, "recency exceeds T"),
    (0, 3.0, 10.0, "0 when frequency is 0"),
])
def test_predictions_refuse_impossible_customers(bgnbd, x, tx, T, words):
    with pytest.raises(ModelError, match=words):
        bgnbd.conditional_probability_alive(x, tx, T)
    with pytest.raises(ModelError, match=words):
        bgnbd.conditional_expected_number_of_purchases_up_to_time(5.0, x, tx, T)


def test_a_negative_time_ahead_is_refused(bgnbd):
    with pytest.raises(ModelError, match="t \\(the time ahead\\) must be a finite number >= 0"):
        bgnbd.conditional_expected_number_of_purchases_up_to_time(-5.0, 2, 5.0, 10.0)
    with pytest.raises(ModelError, match="t \\(the time ahead\\)"):
        bgnbd.expected_number_of_purchases_up_to_time(-1.0)


PARAMS = [["r", 0.243], ["alpha", 4.41], ["a", 0.793], ["b", 2.43]]


@pytest.mark.parametrize("frequency, words", [
    ([[1], ["nan"]], "frequency item 2: 'nan' is not a number"),
    ([[1], [-1]], "frequency must be a whole number >= 0"),
    ([["12,5"], [1]], "frequency item 1: '12,5' is not a number"),  # not taken as a header
    ([[1], [float("nan")]], "frequency item 2: nan is not a finite number"),
])
def test_xv_palive_refuses_bad_inputs_readably(frequency, words):
    out = xu.XV_PALIVE(PARAMS, frequency, [[1.0], [1.0]], [[5.0], [5.0]])
    assert out[0][0].startswith(ERROR_PREFIX) and words in out[0][0], out
    assert "internal error" not in out[0][0]


def test_a_header_label_is_skipped_but_data_text_is_not():
    out = xu.XV_PALIVE(PARAMS, [["frequency"], [1]], [["recency"], [1.0]], [["T"], [5.0]])
    assert len(out) == 1 and 0 < out[0][0] < 1
    out = xu.XV_PALIVE(PARAMS, [["Fréquence"], [1]], [["Récence (sem.)"], [1.0]], [["T"], [5.0]])
    assert len(out) == 1 and 0 < out[0][0] < 1


def test_xv_functions_refuse_negative_horizons_readably():
    out = xu.XV_EXPECTED_PURCHASES(PARAMS, -5, [[1]], [[1.0]], [[5.0]])
    assert out[0][0].startswith(ERROR_PREFIX) and "t (the time ahead)" in out[0][0]
    gg = [["p", 6.25], ["q", 3.74], ["gamma", 15.4]]
    out = xu.XV_CLV(PARAMS, gg, [[1]], [[1.0]], [[5.0]], [[20.0]], horizon=-3)
    assert out[0][0].startswith(ERROR_PREFIX) and "internal error" not in out[0][0]
    assert "horizon" in out[0][0]


def test_nan_results_are_readable_errors_not_blank_cells():
    from xlvalue.excel.convert import NO_RESULT, column_cells

    cells = column_cells(np.array([1.0, np.nan, np.inf]))
    assert cells == [[1.0], [NO_RESULT], [NO_RESULT]]


def test_a_plain_run_without_repeat_buyers_says_why_clv_is_skipped(tmp_path):
    import datetime as dt

    from xlvalue.cli.headless_run import run_workbook

    from .conftest import make_book

    rows = [[f"c{i}", dt.date(2024, 1, 1 + i), 10.0] for i in range(20)]
    res = run_workbook(make_book(tmp_path / "b.xlsx", rows)).results
    assert "xv_out_CLV" not in res.frames and "xv_out_RFM" in res.frames
    assert any(w.startswith("CLV skipped: bgnbd cannot be fitted: no customer made a repeat "
                            "purchase") and "longer window" in w for w in res.warnings)


def test_a_udf_table_error_counts_every_problem():
    rows = [["CustomerID", "Date", "Amount"]] + [[str(i), "2024-01-01", "x"] for i in range(30)]
    out = xu.XV_RFM(rows)
    assert out[0][0].startswith(ERROR_PREFIX) and "(+29 more)" in out[0][0]
