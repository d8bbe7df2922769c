"""Purchase and spend models against published CDNOW fits and the seed's test vector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    NBDModel,
    ParetoNBDModel,
    bg_nbd,
    nbd_pmf,
    pareto_nbd,
)
from xlvalue.analytics.models.base import compress
from xlvalue.analytics.models.pareto_nbd import log_a0
from xlvalue.analytics.rfm import repeat_summary
from xlvalue.analytics.transactions import TransactionLog, day_number
from xlvalue.datasets import load_cdnow_sample, load_cdnow_summary
from xlvalue.errors import ModelError


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_repeat() -> pd.DataFrame:
    log = TransactionLog.from_frame(load_cdnow_sample())
    s = repeat_summary(log, day_number("1997-09-30"), "weeks")
    return s[s["frequency"] > 0]


def test_nbd_seed_test_vector():
    # seed 000: a = 1.84, b = 2.67 -> P(0..3) = 0.3138, 0.2951, 0.1906, 0.1045, mean 1.451
    p = nbd_pmf(np.arange(4), a=1.84, b=2.67)
    np.testing.assert_allclose(p, [0.3138, 0.2951, 0.1906, 0.1045], atol=5e-5)
    # the seed's "peak" is the mode among buyers (x >= 1); P(0) itself is larger
    assert int(np.argmax(nbd_pmf(np.arange(1, 20), 1.84, 2.67))) + 1 == 1
    m = NBDModel()
    m.params_ = pd.Series({"a": 1.84, "b": 2.67})
    assert m.mean() == pytest.approx(1.451, abs=5e-4)
    assert np.ceil(m.mean()) == 2
    # conditional expectation per period after x purchases in n periods: (b + x) / (a + n)
    # (the purchase models' signature: recency, here 0, is ignored; T is the n periods)
    assert m.conditional_expected_number_of_purchases_up_to_time(1, 3, 0, 4) == pytest.approx(
        (2.67 + 3) / (1.84 + 4))


def test_bgnbd_cdnow_published(cdnow):
    m = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # published (FHL 2005): 0.243, 4.414, 0.793, 2.426; LL -9582.4
    np.testing.assert_allclose(m.params_.to_numpy(), [0.2426, 4.4135, 0.7929, 2.4258], rtol=2e-3)
    assert m.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    assert m.converged_
    assert (m.standard_errors_ > 0).all() and (m.standard_errors_ < m.params_).all()


def test_pareto_nbd_cdnow_published(cdnow):
    m = ParetoNBDModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # published: 0.55, 10.58, 0.61, 11.67; LL -9595.0
    np.testing.assert_allclose(m.params_.to_numpy(), [0.5533, 10.5775, 0.6062, 11.6694], rtol=2e-3)
    assert m.log_likelihood_ >= -9594.97 - 0.005
    assert m.converged_


def test_gamma_gamma_cdnow_published(cdnow_repeat):
    assert len(cdnow_repeat) == 946
    m = GammaGammaModel().fit(cdnow_repeat["frequency"], cdnow_repeat["monetary_value"])
    # published: p 6.25, q 3.74, gamma 15.44; LL -4055.92
    np.testing.assert_allclose(m.params_.to_numpy(), [6.2488, 3.7446, 15.4477], rtol=2e-3)
    assert m.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)
    p, q, g = m.params_
    assert m.mode() == pytest.approx((p - 1) / (q + 1) * g)
    # conditional expected spend p (gamma + x m) / (p x + q - 1)
    assert m.conditional_expected_average_profit(2, 30.0) == pytest.approx(p * (g + 60) / (2 * p + q - 1))


def test_bgnbd_predictions_known_values(cdnow):
    m = BetaGeoModel()
    m.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    # FHL 2005: customer with x=2, t_x=30.43, T=38.86 expects 1.226 purchases in 39 weeks
    assert m.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86) == pytest.approx(
        1.226, abs=2e-3)
    assert m.conditional_probability_alive(0, 0, 38.86) == 1.0
    # E[X(t)] for a new customer grows with t and is 0 at 0
    e = m.expected_number_of_purchases_up_to_time(np.array([0.0, 39.0, 78.0]))
    assert e[0] == pytest.approx(0.0) and e[1] < e[2]


def test_pareto_nbd_probability_alive_bounds(cdnow):
    m = ParetoNBDModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    pa = m.conditional_probability_alive(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert np.all((pa > 0) & (pa <= 1))
    # a customer who bought often and recently is more likely alive than one who lapsed
    assert m.conditional_probability_alive(10, 38, 39) > m.conditional_probability_alive(10, 5, 39)


def test_pareto_log_a0_stable_where_naive_form_overflows():
    # large frequency and alpha << beta: the naive 2F1(r+s+x, r+x; r+s+x+1; z) overflows
    val = log_a0(0.55, 0.5, 0.61, 500.0, np.array([300.0]), np.array([38.0]), np.array([39.0]))
    assert np.isfinite(val).all()
    from xlvalue.analytics.models.pareto_nbd import log_a0_quadrature

    q = log_a0_quadrature(0.55, 10.58, 0.61, 11.67, np.array([3.0]), np.array([20.0]), np.array([39.0]))
    assert q[0] == pytest.approx(log_a0(0.55, 10.58, 0.61, 11.67, np.array([3.0]), np.array([20.0]),
                                        np.array([39.0]))[0], abs=1e-10)
    # and it agrees with direct quadrature of A0 where both are computable
    from scipy.integrate import quad

    r, alpha, s, beta, x, tx, T = 0.55, 10.58, 0.61, 11.67, 3.0, 20.0, 39.0
    integral, _ = quad(lambda y: (alpha + y) ** -(r + x) * (beta + y) ** -(s + 1), tx, T)
    direct = (r + s + x) * integral
    ours = np.exp(log_a0(r, alpha, s, beta, np.array([x]), np.array([tx]), np.array([T])))[0]
    assert ours == pytest.approx(direct, rel=1e-8)


def test_fitting_patterns_equals_fitting_expanded(cdnow):
    weights_fit = BetaGeoModel()._fit_patterns(compress(cdnow["frequency"], cdnow["recency"],
                                                        cdnow["T"]))
    doubled = pd.concat([cdnow, cdnow])
    expanded = BetaGeoModel().fit(doubled["frequency"], doubled["recency"], doubled["T"])
    np.testing.assert_allclose(expanded.params_, weights_fit.params_, rtol=1e-5)
    assert expanded.log_likelihood_ == pytest.approx(2 * weights_fit.log_likelihood_, rel=1e-9)
    p = compress(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert p.weights.sum() == len(cdnow) and len(p.weights) < len(cdnow)


@pytest.mark.parametrize("model_cls, truth", [
    (BetaGeoModel, {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}),
    (ModifiedBetaGeoModel, {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}),
    (ParetoNBDModel, {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}),
])
def test_simulated_parameters_are_recovered(model_cls, truth):
    x, tx, T = model_cls.simulate(truth, 30_000, T=np.linspace(20, 80, 30_000), seed=7)
    m = model_cls().fit(x, tx, T)
    z = (m.params_ - pd.Series(truth)) / m.standard_errors_
    assert (z.abs() < 3.5).all(), z.to_dict()


def test_simulated_gamma_gamma_and_nbd_recovered():
    rng = np.random.default_rng(3)
    freq = rng.integers(1, 10, 25_000)
    truth = {"p": 6.0, "q": 3.5, "gamma": 15.0}
    m = GammaGammaModel().fit(freq, GammaGammaModel.simulate(truth, freq, seed=5))
    assert ((m.params_ - pd.Series(truth)).abs() / m.standard_errors_ < 3.5).all()
    x, tx, n = NBDModel.simulate({"a": 1.84, "b": 2.67}, 25_000, T=4.0, seed=2)
    nbd = NBDModel().fit(x, tx, n)
    assert ((nbd.params_ - pd.Series({"a": 1.84, "b": 2.67})).abs() / nbd.standard_errors_ < 3.5).all()


def test_bad_model_input_names_rows():
    with pytest.raises(ModelError, match=r"recency exceeds T in row\(s\) 2"):
        BetaGeoModel().fit([1, 2], [1.0, 5.0], [3.0, 4.0])
    with pytest.raises(ModelError, match="not a finite number"):
        BetaGeoModel().fit([1, np.nan], [1.0, 1.0], [3.0, 4.0])
    with pytest.raises(ModelError, match="too few to fit"):
        BetaGeoModel().fit([1], [1.0], [3.0])
    with pytest.raises(ModelError, match="positive mean spend"):
        GammaGammaModel().fit([1, 2, 0], [10.0, -1.0, 5.0])


def test_summary_reports_fit_statistics(cdnow):
    m = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    s = m.fit_report().set_index("parameter")
    assert s.loc["AIC", "estimate"] == pytest.approx(2 * 4 + 2 * 9582.43, abs=0.05)
    assert s.loc["customers", "estimate"] == 2357 and s.loc["converged", "estimate"] == 1


def test_summary_repr_and_variance_matrix_as_lifetimes_shows_them(cdnow):
    m = BetaGeoModel()
    assert repr(m) == "<xlvalue.BetaGeoModel>"
    m.fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert repr(m) == ("<xlvalue.BetaGeoModel: fitted with 2357 subjects, a: 0.79, alpha: 4.41, "
                       "b: 2.43, r: 0.24>")
    s = m.summary
    assert list(s.columns) == ["coef", "se(coef)", "lower 95% bound", "upper 95% bound"]
    assert list(s.index) == ["r", "alpha", "a", "b"]
    v = m.variance_matrix_
    assert list(v.index) == list(v.columns) == ["r", "alpha", "a", "b"]
    np.testing.assert_allclose(v.to_numpy(), v.to_numpy().T)
    np.testing.assert_allclose(np.sqrt(np.diag(v)), s["se(coef)"], rtol=1e-12)
    np.testing.assert_allclose(s["upper 95% bound"] - s["coef"], 1.96 * s["se(coef)"], rtol=1e-12)
    np.testing.assert_allclose(s["coef"] - s["lower 95% bound"], 1.96 * s["se(coef)"], rtol=1e-12)
    # a positive-definite covariance: the fit sits at a maximum of the likelihood
    assert np.all(np.linalg.eigvalsh(v.to_numpy()) > 0)


def test_bgnbd_gradient_stays_finite_for_extreme_histories():
    """A heavy buyer who lapsed long ago: the dropout term dominates by e^900."""
    m = BetaGeoModel()
    p = compress(np.array([300.0, 0.0, 2.0]), np.array([1.0, 0.0, 30.0]),
                 np.array([1000.0, 10.0, 39.0]))
    ll, grad = m._total_loglik_grad(np.array([0.25, 4.0, 0.8, 2.5]), p)
    assert np.isfinite(ll) and np.isfinite(grad).all()
    reference = bg_nbd.reference_loglik(0.25, 4.0, 0.8, 2.5, *p.columns)
    assert ll == pytest.approx(float(p.weights @ reference), rel=1e-12)


@pytest.mark.parametrize("params", [[0.25, 4.0, 0.8, 2.5], [1.3, 0.2, 3.0, 0.1]])
@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_bgnbd_summed_likelihood_equals_the_reference(cdnow, params, model_cls):
    """The optimiser's summed form (per-level sums, one pass over repeat buyers) equals the
    printed per-customer likelihood, and its gradient central differences of that."""
    m = model_cls()
    extreme = pd.DataFrame({"frequency": [300.0], "recency": [1.0], "T": [1000.0]})
    data = pd.concat([cdnow, extreme])
    p = compress(data["frequency"], data["recency"], data["T"])

    def reference(theta):
        return float(p.weights @ bg_nbd.reference_loglik(*theta, *p.columns, shift=m.shift))

    theta = np.array(params)
    ll, grad = m._total_loglik_grad(theta, p)
    assert ll == pytest.approx(reference(theta), rel=1e-12)
    numeric = np.array([(reference(theta + h) - reference(theta - h)) / (2 * h[i])
                        for i, h in enumerate(np.diag(1e-6 * theta))])
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 * np.abs(numeric).max())


@pytest.mark.parametrize("params", [[0.55, 10.58, 0.61, 11.67], [1.3, 0.2, 3.0, 0.1]])
def test_pareto_nbd_likelihood_equals_the_quadrature_reference(cdnow, params):
    """The fit's likelihood (2F1 through Pfaff, on distinct pairs) equals the per-customer
    reference with A0 by quadrature alone."""
    extreme = pd.DataFrame({"frequency": [300.0], "recency": [38.0], "T": [39.0]})
    data = pd.concat([cdnow, extreme])
    p = compress(data["frequency"], data["recency"], data["T"])
    ll, _ = ParetoNBDModel()._total_loglik_grad(np.array(params), p)
    reference = pareto_nbd.reference_loglik(*params, *p.columns)
    assert ll == pytest.approx(float(p.weights @ reference), rel=1e-9)


@pytest.mark.parametrize("model_cls, data, params", [
    (BetaGeoModel, "rfm", [0.3, 5.0, 0.7, 2.0]),
    (ModifiedBetaGeoModel, "rfm", [0.5, 6.0, 0.9, 1.6]),
    (ParetoNBDModel, "rfm", [0.6, 9.0, 0.5, 13.0]),
    (GammaGammaModel, "spend", [5.0, 3.0, 12.0]),
])
def test_analytic_gradients_match_central_differences(cdnow, cdnow_repeat, model_cls, data,
                                                      params):
    """Each model's analytic gradient against central differences of its exact likelihood."""
    if data == "rfm":
        p = compress(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    else:
        p = compress(cdnow_repeat["frequency"], cdnow_repeat["monetary_value"])
    m = model_cls()
    theta = np.array(params)
    _, grad = m._total_loglik_grad(theta, p)
    numeric = np.empty_like(theta)
    for i in range(len(theta)):
        h = np.zeros_like(theta)
        h[i] = 1e-5 * theta[i]
        numeric[i] = (m._total_ll(theta + h, p) - m._total_ll(theta - h, p)) / (2 * h[i])
    # central differences of a sum of ~10^4 are good to ~1e-6 of the largest component
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 * np.abs(numeric).max())


def test_mbgnbd_cdnow_reference_fit(cdnow):
    """MBG/NBD on CDNOW; reference: lifetimes 0.11.3's ModifiedBetaGeoFitter on the same data
    gives r 0.5248, alpha 6.1830, a 0.8914, b 1.6140 (no published fit on CDNOW)."""
    m = ModifiedBetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    np.testing.assert_allclose(m.params_.to_numpy(), [0.5248, 6.1830, 0.8914, 1.6140], rtol=1e-3)
    assert m.converged_ and m.model_name == "mbgnbd"
    # the model nests BG/NBD's likelihood shape but differs: both are fitted, LLs differ
    bg = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert m.log_likelihood_ != pytest.approx(bg.log_likelihood_, abs=0.1)


def test_mbgnbd_closed_forms_hand_derived():
    m = ModifiedBetaGeoModel()
    m.params_ = pd.Series({"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6})
    # P(alive) at x = 0 right after the first purchase: survived the time-0 dropout, b/(a+b)
    assert m.conditional_probability_alive(0, 0, 0) == pytest.approx(1.6 / 2.5)
    # P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))
    want = 1 / (1 + 0.9 / 3.6 * ((6 + 30) / (6 + 20)) ** 2.5)
    assert m.conditional_probability_alive(2, 20, 30) == pytest.approx(want, rel=1e-12)
    # a brand-new customer's conditional expectation is the unconditional one
    assert m.conditional_expected_number_of_purchases_up_to_time(26, 0, 0, 0) == pytest.approx(
        float(m.expected_number_of_purchases_up_to_time(26.0)), rel=1e-10)
    # one customer's likelihood by hand: x = 1, t_x = 10, T = 20
    r, al, a, b, x, tx, T = 0.5, 6.0, 0.9, 1.6, 1, 10.0, 20.0
    from scipy.special import beta as B
    from scipy.special import gamma as G
    lik = (B(a, b + x + 1) / B(a, b) * G(r + x) * al ** r / G(r)
           * ((al + T) ** -(r + x) + a / (b + x) * (al + tx) ** -(r + x)))
    p = compress(np.array([1.0]), np.array([10.0]), np.array([20.0]))
    assert m._total_ll(np.array([r, al, a, b]), p) == pytest.approx(np.log(lik), rel=1e-12)
    assert bg_nbd.reference_loglik(r, al, a, b, *p.columns, shift=1)[0] == pytest.approx(
        np.log(lik), rel=1e-12)


@pytest.mark.parametrize("model_cls, params", [
    (BetaGeoModel, {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}),
    (ModifiedBetaGeoModel, {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}),
])
def test_expected_purchases_match_simulation(model_cls, params):
    """E[X(t)] of a new customer against the mean of 200,000 simulated customers (4 SE)."""
    x, _, _ = model_cls.simulate(params, 200_000, T=30.0, seed=11)
    m = model_cls()
    m.params_ = pd.Series(params)
    se = x.std() / np.sqrt(len(x))
    assert abs(x.mean() - float(m.expected_number_of_purchases_up_to_time(30.0))) < 4 * se


def test_fits_run_with_one_blas_thread_and_restore_the_default(cdnow):
    """Inside a fit BLAS uses one thread (small vectors: threads only fight other processes
    for the cores); afterwards the process's own setting is back."""
    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    seen: list[list[int]] = []

    class Probe(BetaGeoModel):
        def _total_loglik_grad(self, params, patterns):
            if not seen:
                seen.append(blas_threads())
            return super()._total_loglik_grad(params, patterns)

    before = blas_threads()
    assert before, "numpy/scipy load a BLAS library"
    Probe().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert seen == [[1] * len(before)]
    assert blas_threads() == before
    seen.clear()
    Probe.blas_threads = None  # the library's default is left alone when asked
    Probe().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert seen == [before]


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel])
@pytest.mark.parametrize("params", [[0.25, 4.0, 0.8, 2.5], [1.3, 0.2, 3.0, 0.1]])
def test_bgnbd_analytic_hessian_equals_differences_of_the_reference(cdnow, model_cls, params):
    """The Hessian Newton's method and the standard errors use, against central second
    differences of the printed per-customer likelihood (FHL 2005 eq. 6), summed."""
    m = model_cls()
    extreme = pd.DataFrame({"frequency": [300.0], "recency": [1.0], "T": [1000.0]})
    data = pd.concat([cdnow, extreme])
    p = compress(data["frequency"], data["recency"], data["T"])
    theta = np.array(params)

    def reference(th):
        return float(p.weights @ bg_nbd.reference_loglik(*th, *p.columns, shift=m.shift))

    _, _, hess = m._total_loglik_grad_hess(theta, p)
    h = 1e-4 * theta
    numeric = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            numeric[i, j] = (reference(theta + ei + ej) - reference(theta + ei - ej)
                             - reference(theta - ei + ej) + reference(theta - ei - ej)) / (
                                 4 * h[i] * h[j])
    np.testing.assert_allclose(hess, numeric, rtol=1e-4, atol=1e-5 * np.abs(numeric).max())


def test_compress_equals_numpy_unique_rows():
    """Rows alone in their widest column become patterns directly; the result is the set of
    distinct rows with their counts, as numpy's unique over rows gives it."""
    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, 5000).astype(float)
    tx = np.where(x > 0, rng.uniform(0, 10, 5000), 0.0)
    tx[:300] = tx[300:600]  # some repeated continuous values (shared rows), not all
    x[:300] = x[300:600]
    t = rng.integers(10, 14, 5000).astype(float)
    weights = rng.integers(1, 3, 5000).astype(float)
    p = compress(x, tx, t, weights=weights)
    rows, inverse = np.unique(np.column_stack([x, tx, t]), axis=0, return_inverse=True)
    want = np.bincount(inverse.ravel(), weights=weights)
    got = pd.Series(p.weights, index=pd.MultiIndex.from_arrays(p.columns)).sort_index()
    np.testing.assert_array_equal(np.array(got.index.tolist()), rows)
    np.testing.assert_array_equal(got.to_numpy(), want)
    np.testing.assert_array_equal(np.column_stack(p.columns)[p.inverse],
                                  np.column_stack([x, tx, t]))
    for (values, index), column in zip(p.levels, p.columns, strict=True):
        np.testing.assert_array_equal(values[index], column)


@pytest.fixture(scope="module")
def continuous_cohort():
    """30,000 customers with continuous recency: ~13,000 patterns, nearly every repeat buyer
    a pattern of its own."""
    T_days = np.random.default_rng(1).integers(7, 730, 30_000)
    return BetaGeoModel.simulate({"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, 30_000,
                                 T=T_days / 7.0, seed=3)


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_large_fits_reach_the_optimum_of_a_plain_lbfgs_fit(continuous_cohort, model_cls,
                                                           monkeypatch):
    """Above WARM_START_PATTERNS patterns (lowered here so that a small cohort is "large") a
    fit starts from a subsample's fit and finishes with Newton's method; it must land where
    L-BFGS-B from the model's start on all the data lands (an independent optimiser on the
    same exact likelihood): LL to 1e-9 relative, parameters to 1e-5, standard errors to
    2e-3."""
    import xlvalue.analytics.models.base as base

    monkeypatch.setattr(base, "WARM_START_PATTERNS", 4_000)
    monkeypatch.setattr(base, "WARM_START_SIZE", 2_000)
    x, tx, T = continuous_cohort
    p = compress(x, tx, T)
    assert len(p.weights) > 3 * base.WARM_START_PATTERNS
    calls = []
    real = base.Patterns.subsample
    monkeypatch.setattr(base.Patterns, "subsample",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    fast = model_cls()._fit_patterns(p)
    assert calls, "the fit started from a subsample"
    plain = model_cls()
    found = plain._quasi_newton(p, np.log(plain._start(p)))
    plain._record(found, p)
    assert fast.converged_ and plain.converged_
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-9 * abs(plain.log_likelihood_)
    assert fast.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-9)
    np.testing.assert_allclose(fast.params_, plain.params_, rtol=1e-5)
    np.testing.assert_allclose(fast.standard_errors_, plain.standard_errors_, rtol=2e-3)


def test_subsample_keeps_heavy_patterns_and_estimates_sums(continuous_cohort):
    x, tx, T = continuous_cohort
    p = compress(x, tx, T)
    sub = p.subsample(3_000, seed=0)
    k = len(p.weights) / 3_000
    heavy = p.weights >= k
    # every heavy pattern (here the customers without repeat purchases, by age) is kept as is
    assert sub.weights.sum() == pytest.approx(p.n_customers, rel=0.02)
    assert np.isin(p.weights[heavy], sub.weights).all()
    for (values, index), column in zip(sub.levels, sub.columns, strict=True):
        np.testing.assert_array_equal(values[index], column)
    # the subsample's log-likelihood estimates the full one (Horvitz-Thompson weights)
    theta = np.array([0.25, 4.0, 0.8, 2.5])
    full = BetaGeoModel()._total_ll(theta, p)
    assert BetaGeoModel()._total_ll(theta, sub) == pytest.approx(full, rel=0.02)
