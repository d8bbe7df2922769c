"""BG/BB (discrete opportunities) and shifted-beta-geometric (contractual) models against
their published fits, lifetimes' numbers and hand-derived sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.models import BetaGeoBetaBinomModel, ShiftedBetaGeoModel
from xlvalue.datasets import load_donations
from xlvalue.errors import ModelError

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


@pytest.fixture(scope="module")
def bgbb() -> BetaGeoBetaBinomModel:
    d = load_donations()
    return BetaGeoBetaBinomModel().fit(d["frequency"], d["recency"], d["periods"], d["weights"])


def test_donations_data_is_the_published_cohort():
    d = load_donations()
    assert int(d["weights"].sum()) == 11_104 and len(d) == 22
    assert set(d["periods"]) == {6}


def test_bgbb_reproduces_the_published_donations_fit(bgbb):
    # Fader, Hardie & Shang (2010), table 2: 1.204, 0.750, 0.657, 2.783; LL -33,225.6
    np.testing.assert_allclose(bgbb.params_.to_numpy(), [1.204, 0.750, 0.657, 2.783], atol=6e-4)
    assert bgbb.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert bgbb.converged_ and (bgbb.standard_errors_ > 0).all()
    assert list(bgbb.variance_matrix_.columns) == ["alpha", "beta", "gamma", "delta"]


def test_bgbb_conditional_quantities_match_lifetimes(bgbb):
    # lifetimes 0.11.3 BetaGeoBetaBinomFitter on the same data (its own fit, params equal to
    # ours within 1e-5): conditional_probability_alive(m, x, t_x, n) and
    # conditional_expected_number_of_purchases_up_to_time(5, ...)
    x, tx, n = np.array([0, 1, 3, 6, 2]), np.array([0, 1, 5, 6, 6]), np.full(5, 6)
    np.testing.assert_allclose(bgbb.conditional_probability_alive(x, tx, n),
                               [0.11621816, 0.07465531, 0.82415985, 1.0, 1.0], rtol=2e-5)
    np.testing.assert_allclose(bgbb.conditional_probability_alive(x, tx, n, 1),
                               [0.10813328, 0.06946181, 0.766826, 0.93043358, 0.93043358],
                               rtol=2e-5)
    np.testing.assert_allclose(
        bgbb.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n),
        [0.07286334, 0.08569571, 1.80470296, 3.75254425, 1.66881685], rtol=2e-5)
    # expected_number_of_transactions_in_first_n_periods(6)["model"]
    counts = 11_104 * bgbb.probability_of_n_purchases_up_to_time(6, np.arange(7))
    np.testing.assert_allclose(counts, [3454.881979, 1888.654343, 1348.882330, 1113.378533,
                                        1017.922413, 1027.166049, 1253.114353], rtol=2e-5)


def test_bgbb_closed_forms_equal_their_defining_sums(bgbb):
    x, tx, n = np.array([0.0, 2, 4]), np.array([0.0, 3, 6]), np.full(3, 6.0)
    # E[X(n)] = sum over x of x P(X(n) = x)
    probs = bgbb.probability_of_n_purchases_up_to_time(6, np.arange(7))
    assert bgbb.expected_number_of_transactions_in_first_n_periods(6) == pytest.approx(
        probs @ np.arange(7), rel=1e-10)
    # DERT = sum_k (E[X(n, n+k)] - E[X(n, n+k-1)]) / (1+d)^k
    d = 0.1
    k = np.arange(0, 2000)[:, None]
    cum = bgbb.conditional_expected_number_of_purchases_up_to_time(k, x, tx, n)
    brute = (np.diff(cum, axis=0) * (1 + d) ** -k[1:]).sum(axis=0)
    np.testing.assert_allclose(bgbb.discounted_expected_residual_transactions(x, tx, n, d),
                               brute, rtol=1e-8)


def test_bgbb_recovers_simulated_parameters():
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    x, tx, n = BetaGeoBetaBinomModel.simulate(truth, 20_000, 8, seed=3)
    m = BetaGeoBetaBinomModel().fit(x, tx, n)
    z = (m.params_ - np.array(list(truth.values()))) / m.standard_errors_
    assert (z.abs() < 3.5).all(), z


def test_bgbb_bad_input_names_rows():
    with pytest.raises(ModelError, match=r"row\(s\) 2"):
        BetaGeoBetaBinomModel().fit([1, 3], [1, 2], [6, 6])
    with pytest.raises(ModelError, match="whole number"):
        BetaGeoBetaBinomModel().fit([1.5], [2], [6])


@pytest.mark.parametrize("counts, gamma, delta, ll", [
    (REGULAR, 0.704, 1.182, -1680.3),  # Fader & Hardie (2007), regular customers
    (HIGH_END, 0.668, 3.806, -1611.2),  # high-end customers
])
def test_sbg_reproduces_the_published_cohorts(counts, gamma, delta, ll):
    m = ShiftedBetaGeoModel().fit_survivors(counts)
    np.testing.assert_allclose(m.params_.to_numpy(), [gamma, delta], atol=6e-4)
    assert m.log_likelihood_ == pytest.approx(ll, abs=0.05)
    assert m.converged_


def test_sbg_curves_and_derl_hand_derived():
    m = ShiftedBetaGeoModel().fit_survivors(REGULAR)
    g, d = m.params_
    t = np.arange(1, 13)
    s = m.survival_function(np.arange(0, 13))
    assert s[0] == 1.0
    # S(t) = prod_{i<=t} r(i); r(t) = (d + t - 1) / (g + d + t - 1)
    np.testing.assert_allclose(s[1:], np.cumprod((d + t - 1) / (g + d + t - 1)), rtol=1e-12)
    np.testing.assert_allclose(m.retention_rate(t), s[1:] / s[:-1], rtol=1e-12)
    np.testing.assert_allclose(m.churn_probability(t), s[:-1] - s[1:], rtol=1e-10)
    # DERL(n - 1 renewals) = sum_{k>=0} S(n - 1 + k + 1) / S(n - 1) / (1 + d)^k
    k = np.arange(5000)
    for renewals in (0, 4):
        brute = (m.survival_function(renewals + 1 + k) / m.survival_function(renewals)
                 * 1.1 ** -k).sum()
        assert m.discounted_expected_residual_lifetime(renewals, 0.1) == pytest.approx(
            brute, rel=1e-9)


def test_sbg_recovers_simulated_cohort_and_rejects_bad_counts():
    counts = ShiftedBetaGeoModel.simulate({"gamma": 0.7, "delta": 1.2}, 50_000, 10, seed=1)
    m = ShiftedBetaGeoModel().fit_survivors(counts)
    z = (m.params_.to_numpy() - [0.7, 1.2]) / m.standard_errors_.to_numpy()
    assert (np.abs(z) < 3.5).all(), z
    with pytest.raises(ModelError, match="must not increase; item 3"):
        ShiftedBetaGeoModel().fit_survivors([100, 80, 90])
    with pytest.raises(ModelError, match="at least one later count"):
        ShiftedBetaGeoModel().fit_survivors([100])


def test_workbook_runs_bgbb_and_sbg_with_their_charts(demo_book, tmp_path):
    """The demo holds the donations histories (xv_Opportunities) and the paper's two cohorts
    (xv_Survivors); a run writes the xv_Retention blocks and two charts."""
    import zipfile

    from xlvalue.cli.headless_run import run_workbook

    out = tmp_path / "out.xlsx"
    f = run_workbook(demo_book, out, only="bgbb,sbg").results.frames
    fit = f["xv_out_BGBBFit"].set_index("parameter")["estimate"]
    np.testing.assert_allclose(fit[["alpha", "beta", "gamma", "delta"]], [1.204, 0.750, 0.657, 2.783],
                               atol=6e-4)
    bgbb = f["xv_out_BGBB"]
    assert len(bgbb) == 22 and bgbb["customers"].sum() == 11_104
    assert ((bgbb["p_alive_next"] > 0) & (bgbb["p_alive_next"] < 1)).all()
    assert f["xv_out_BGBBCounts"]["actual"].sum() == 11_104
    sbg = f["xv_out_SBGFit"].set_index(["model", "parameter"])["estimate"]
    assert sbg["sbg regular", "gamma"] == pytest.approx(0.704, abs=6e-4)
    assert sbg["sbg high end", "delta"] == pytest.approx(3.806, abs=6e-4)
    curves = f["xv_out_SBG"]
    assert len(curves) == 13 and curves["regular actual"].iloc[7] == pytest.approx(0.241)
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/xlvalue_xv_retention_")]
        names = z.read("xl/workbook.xml").decode()
    assert len(charts) == 2 and "xv_out_SBGFit" in names


def test_workbook_bad_survivors_name_the_range(tmp_path):
    from tests.conftest import write_tables
    from xlvalue.cli.headless_run import run_workbook
    from xlvalue.errors import InputError

    book = write_tables(tmp_path / "b.xlsx", {"xv_Survivors": pd.DataFrame(
        {"Period": [0, 1, 3], "Survivors": [100.0, 80.0, 70.0]})}, {})
    with pytest.raises(InputError, match="xv_Survivors.*Period must run 0, 1, 2"):
        run_workbook(book, tmp_path / "o.xlsx", only="sbg")


def _col(values) -> list[list[float]]:
    return [[float(v)] for v in values]


def test_bgbb_and_sbg_worksheet_functions(bgbb):
    import xlvalue.excel.udfs as xu

    d = load_donations()
    fit = xu.XV_BGBB_FIT(_col(d["frequency"]), _col(d["recency"]), _col(d["periods"]),
                         _col(d["weights"]))
    assert fit[0][:3] == ["parameter", "estimate", "std_error"] and "cov_delta" in fit[0]
    est = {row[0]: row[1] for row in fit[1:5]}
    np.testing.assert_allclose([est[k] for k in ("alpha", "beta", "gamma", "delta")],
                               [1.204, 0.750, 0.657, 2.783], atol=6e-4)
    out = xu.XV_BGBB_PREDICT(fit, [[6], [0]], [[6], [0]], [[6], [6]], 5, 0.1)
    assert out[0] == ["p_alive_next", "expected_next_5", "dert"]
    x, tx, n = np.array([6.0, 0]), np.array([6.0, 0]), np.array([6.0, 6])
    np.testing.assert_allclose(np.array(out[1:], dtype=float), np.column_stack([
        bgbb.conditional_probability_alive(x, tx, n, 1),
        bgbb.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n),
        bgbb.discounted_expected_residual_transactions(x, tx, n, 0.1)]), rtol=1e-5)
    sfit = xu.XV_SBG_FIT(_col(REGULAR))
    m = ShiftedBetaGeoModel().fit_survivors(REGULAR)
    pred = xu.XV_SBG_PREDICT(sfit, [[0], [1], [7]], 0.1)
    assert pred[0] == ["period", "survival", "retention", "derl"] and pred[1][2] is None
    np.testing.assert_allclose([r[1] for r in pred[1:]], m.survival_function([0, 1, 7]))
    np.testing.assert_allclose([r[3] for r in pred[1:]],
                               m.discounted_expected_residual_lifetime([0, 1, 7], 0.1))
    assert xu.XV_SBG_PREDICT(sfit, [[1.5]])[0][0].startswith("#XV! periods must be whole")
    assert xu.XV_SBG_FIT([[100], [120]])[0][0].startswith("#XV! survivors must not increase")


def test_new_function_arguments_are_unique_and_not_vba_words():
    from xlvalue.excel.convert import REGISTRY

    vba = {"date", "dim", "next", "step", "to", "is", "mod", "and", "or", "not", "end", "type",
           "set", "get", "let", "call", "sub", "function", "as", "in", "on", "error", "string",
           "integer", "long", "double", "variant", "object", "property", "each", "for", "if"}
    for name in ("XV_BGBB_FIT", "XV_BGBB_PREDICT", "XV_SBG_FIT", "XV_SBG_PREDICT", "XV_PALIVE",
                 "XV_EXPECTED_PURCHASES", "XV_CLV"):
        args = [a.lower() for a, _ in REGISTRY[name].args]
        assert "level" in args or name.startswith(("XV_BGBB", "XV_SBG")), name
        new = [a for a in args if a in ("level", "n_periods", "weights", "m_periods",
                                        "discount_rate", "survivors", "periods", "params",
                                        "frequency", "recency")]
        assert len(set(new)) == len(new) and not set(new) & vba, name
