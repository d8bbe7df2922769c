"""Per-customer intervals from parameter uncertainty: exactness of the fast paths, brackets,
and coverage of the population-level interval over data sets simulated from known parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.intervals import (
    IntervalOptions,
    RateWeights,
    _purchases_if_alive,
    at_draws,
    customer_intervals,
    parameter_draws,
    population_interval,
    total_purchases_interval,
    valid_spend,
)
from xlvalue.analytics.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from xlvalue.datasets import load_cdnow_summary
from xlvalue.errors import ModelError

TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow():
    s = load_cdnow_summary()
    return tuple(s[c].to_numpy(float) for c in ("frequency", "recency", "T"))


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel])
@pytest.mark.parametrize("horizon", [52.0, 2600.0])  # a year, and 50 years of weeks
def test_chebyshev_path_equals_the_direct_2f1(cdnow, model_cls, horizon):
    f, r, T = cdnow
    m = model_cls().fit(f, r, T)
    draws = parameter_draws(m, 30, np.random.default_rng(0))
    x, t = np.array([0.0, 1, 2, 7, 20, 0, 3]), np.array([0.0, 0.5, 10, 38.9, 30, 77, 60])
    ends = np.linspace(horizon / 12, horizon, 12)
    fast = _purchases_if_alive(m, draws, x, t, ends)  # (pairs, draws, periods)
    direct = np.stack([m.__class__.expected_purchases_if_alive(_at(m, d), ends[None, :],
                                                               x[:, None], t[:, None])
                       for d in draws], axis=1)
    np.testing.assert_allclose(fast, direct, rtol=1e-9, atol=1e-12)


def _at(model, params):
    m = model.__class__()
    m.params_ = type(model.params_)(params, index=model.params_.index)
    return m


def test_vectorised_draws_equal_one_draw_at_a_time(cdnow):
    f, r, T = cdnow
    m = BetaGeoModel().fit(f, r, T)
    draws = parameter_draws(m, 25, np.random.default_rng(1))
    together = at_draws(m, draws, lambda v: v.conditional_probability_alive(
        f[None, :], r[None, :], T[None, :]))
    one_by_one = np.stack([_at(m, d).conditional_probability_alive(f, r, T) for d in draws])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-13)


def test_draws_follow_the_fitted_covariance(cdnow):
    f, r, T = cdnow
    m = BetaGeoModel().fit(f, r, T)
    draws = parameter_draws(m, 20_000, np.random.default_rng(2))
    # log-params are N(log p, V / (p p^T)): sample covariance within 5 % (20,000 draws)
    v = m.log_variance_matrix()
    scale = np.sqrt(np.outer(np.diag(v), np.diag(v)))
    # sampling error of a correlation from 20,000 draws is <= 0.007; allow 0.03
    assert np.all(np.abs(np.cov(np.log(draws).T) - v) / scale < 0.03)
    np.testing.assert_allclose(np.median(draws, axis=0), m.params_, rtol=0.01)


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ParetoNBDModel])
def test_bounds_bracket_the_estimates_and_widen_with_the_level(cdnow, model_cls):
    f, r, T = cdnow
    m = model_cls().fit(f, r, T)
    rep = f > 0
    monetary = np.where(rep, 20 + 5 * np.sin(np.arange(len(f))), 0.0)
    gg = GammaGammaModel().fit(f[rep], monetary[rep])
    ends = np.arange(1, 13) * 4.35
    disc = 1.01 ** -np.arange(1, 13)
    w = RateWeights.flat(len(f), 0.3, disc)
    iv = customer_intervals(m, f, r, T, ends, IntervalOptions(0.9), spend_model=gg,
                            monetary=monetary, weights=w)
    wide = customer_intervals(m, f, r, T, ends, IntervalOptions(0.99), spend_model=gg,
                              monetary=monetary, weights=w)
    alive = m.conditional_probability_alive(f, r, T)
    cum = m.conditional_expected_number_of_purchases_up_to_time(ends[:, None], f, r, T)
    purchases = cum[-1]
    clv = np.diff(cum, axis=0, prepend=0.0).T @ disc * 0.3 * gg.conditional_expected_average_profit(
        f, monetary)
    eps = 1e-9
    for est, lo, hi, wlo, whi in ((alive, iv.p_alive_low, iv.p_alive_high, wide.p_alive_low,
                                   wide.p_alive_high),
                                  (purchases, iv.expected_purchases_low, iv.expected_purchases_high,
                                   wide.expected_purchases_low, wide.expected_purchases_high),
                                  (clv, iv.clv_low, iv.clv_high, wide.clv_low, wide.clv_high)):
        assert np.all(lo <= est * (1 + eps) + eps) and np.all(est <= hi * (1 + eps) + eps)
        assert np.all(wlo <= lo + eps) and np.all(hi <= whi + eps)
        assert np.mean(hi - lo) > 0
    # the rate weights enter as given: half the margin, half the bounds (CLV is linear in it)
    half = customer_intervals(m, f, r, T, ends, IntervalOptions(0.9), spend_model=gg,
                              monetary=monetary, weights=RateWeights.flat(len(f), 0.15, disc))
    np.testing.assert_allclose(half.clv_high, iv.clv_high / 2, rtol=1e-12)


def test_blocks_do_not_change_the_bounds(cdnow, monkeypatch):
    import xlvalue.analytics.intervals as intervals

    f, r, T = cdnow
    m = BetaGeoModel().fit(f, r, T)
    ends = np.arange(1, 13) * 4.35
    one = customer_intervals(m, f, r, T, ends, spend=np.full(len(f), 10.0))
    monkeypatch.setattr(intervals, "BLOCK_ELEMENTS", 1)  # 256 customers a block
    many = customer_intervals(m, f, r, T, ends, spend=np.full(len(f), 10.0))
    for k, v in one.columns().items():
        np.testing.assert_allclose(many.columns()[k], v, rtol=1e-9, err_msg=k)  # Chebyshev


def test_options_are_checked_and_a_singular_fit_is_reported():
    with pytest.raises(ModelError, match="level"):
        IntervalOptions(level=1.0)
    with pytest.raises(ModelError, match="draws"):
        IntervalOptions(draws=5)
    m = BetaGeoModel()
    m.params_ = pd.Series(TRUTH)
    with pytest.raises(ModelError, match="variance matrix"):
        customer_intervals(m, [1.0], [1.0], [2.0], np.array([1.0]))


def test_population_interval_covers_the_truth_as_often_as_it_claims():
    """100 data sets of 1,000 customers simulated from known BG/NBD parameters; each is fitted
    and the 90 % interval of the customers' total expected purchases in the next 52 weeks
    (their own histories, drawn parameters) is checked against the same total at the true
    parameters. Binomial standard error of the coverage at 100 sets: 3 points; accepted:
    0.80 to 0.97 (-3.3 / +2.3 standard errors around 0.90). About 10 s of CPU."""
    options = IntervalOptions(level=0.9, draws=200)
    truth = BetaGeoModel()
    truth.params_ = pd.Series(TRUTH)
    hits = []
    for seed in range(100):
        age = np.round(np.random.default_rng(seed).uniform(5, 78, 1000) * 7) / 7
        x, tx, T = BetaGeoModel.simulate(TRUTH, 1000, age, seed=seed + 1000)
        tx = np.round(tx * 7) / 7  # days, as the repeat summary gives them
        m = BetaGeoModel().fit(x, tx, T)
        lo, hi = total_purchases_interval(m, 52.0, x, tx, T, options)
        true_total = truth.conditional_expected_number_of_purchases_up_to_time(52.0, x, tx, T).sum()
        hits.append(lo <= true_total <= hi)
    coverage = float(np.mean(hits))
    assert 0.80 <= coverage <= 0.97, coverage


SPEND_TRUTH = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # CDNOW's gamma-gamma (FHL 2005)


def test_customer_intervals_cover_the_true_values_as_often_as_they_claim():
    """200 data sets of 1,000 customers (ages 27-39 weeks, recency in days) simulated from
    CDNOW's BG/NBD and gamma-gamma parameters; both models fitted on each; 90 % intervals from
    20 draws (the fewest allowed, where the quantile rule matters most). Per set, the share of
    customers whose interval holds the value at the true parameters: E[Y(52 weeks)], CLV (12
    periods, 1 % discount, gamma-gamma drawn) and P(alive) of the customers with a repeat
    purchase (BG/NBD gives the others 1 at every draw). Mean over sets 0.90 (E[Y]),
    0.89 (CLV), 0.91 (P(alive)); standard error ~1.4 points (sets share nothing; a set's
    customers share its fit). Accepted: 0.85-0.95 (+-3.5 standard errors). numpy's default
    quantile rule gave 0.81, 0.80, 0.82: at d draws it covers (d - 1) / (d + 1) x 90 %.
    The 200-draw figures (1,000 sets, 2,000 customers) are benchmarks/bench_coverage.py's."""
    ends = np.arange(1, 13) * 52 / 12
    disc = 1.01 ** -np.arange(1, 13)
    truth, spend_truth = BetaGeoModel(), GammaGammaModel()
    truth.params_, spend_truth.params_ = pd.Series(TRUTH), pd.Series(SPEND_TRUTH)
    hits: dict[str, list[float]] = {"purchases": [], "clv": [], "p_alive": []}
    n = 1000
    for seed in range(200):
        age = np.random.default_rng(seed).integers(189, 274, n) / 7
        x, tx, T = BetaGeoModel.simulate(TRUTH, n, age, seed=seed + 1)
        tx = np.round(tx * 7) / 7
        rep = x > 0
        m = np.zeros(n)
        m[rep] = GammaGammaModel.simulate(SPEND_TRUTH, x[rep], seed=seed + 2)
        bg, gg = BetaGeoModel().fit(x, tx, T), GammaGammaModel().fit(x[rep], m[rep])
        iv = customer_intervals(bg, x, tx, T, ends, IntervalOptions(0.9, 20, seed=seed),
                                spend_model=gg, monetary=m, weights=RateWeights.flat(n, 1.0, disc))
        cum = truth.conditional_expected_number_of_purchases_up_to_time(ends[:, None], x, tx, T)
        clv = (np.diff(cum, axis=0, prepend=0.0).T @ disc) * \
            spend_truth.conditional_expected_average_profit(x, m)
        alive = truth.conditional_probability_alive(x, tx, T)
        for name, v, lo, hi in (("purchases", cum[-1], iv.expected_purchases_low,
                                 iv.expected_purchases_high), ("clv", clv, iv.clv_low, iv.clv_high),
                                ("p_alive", alive[rep], iv.p_alive_low[rep], iv.p_alive_high[rep])):
            hits[name].append(np.mean((lo <= v * (1 + 1e-9)) & (v <= hi * (1 + 1e-9))))
    for name, h in hits.items():
        assert 0.85 <= np.mean(h) <= 0.95, (name, np.mean(h))


def test_bounds_are_the_weibull_quantiles_of_the_joint_draws(cdnow):
    """The bounds are the (d + 1) q-th of the d sorted values at the draws (numpy's
    method="weibull"); CLV pairs purchase draw k with gamma-gamma draw k, the three spend
    parameters drawn jointly from their own covariance; a level whose tails need more draws
    than asked gets them (99 %: 199)."""
    f, r, T = cdnow
    m = BetaGeoModel().fit(f, r, T)
    rep = f > 0
    monetary = np.where(rep, 20 + 5 * np.sin(np.arange(len(f))), 0.0)
    gg = GammaGammaModel().fit(f[rep], monetary[rep])
    options = IntervalOptions(0.99, 20, seed=7)
    assert options.n_draws == 199 and IntervalOptions(0.9).n_draws == 200
    assert IntervalOptions(0.999, 200).n_draws == 1999
    pick = np.array([0, 1, 5, 17, 100, 1000])  # no / some repeat purchases
    x, tx, t, mv = f[pick], r[pick], T[pick], monetary[pick]
    ends = np.array([13.0, 26.0, 39.0])
    iv = customer_intervals(m, x, tx, t, ends, options, spend_model=gg, monetary=mv)
    rng = np.random.default_rng(7)
    draws = parameter_draws(m, 199, rng)
    spend_draws = parameter_draws(gg, 199, rng, valid_spend)
    at = [_at(m, d) for d in draws]
    alive = np.array([v.conditional_probability_alive(x, tx, t) for v in at])
    purchases = np.array([v.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, t)
                          for v in at])
    spend = np.array([_at(gg, d).conditional_expected_average_profit(x, mv) for d in spend_draws])
    q = options.quantiles
    for v, lo, hi in ((alive, iv.p_alive_low, iv.p_alive_high),
                      (purchases, iv.expected_purchases_low, iv.expected_purchases_high),
                      (purchases * spend, iv.clv_low, iv.clv_high)):
        np.testing.assert_allclose(np.quantile(v, q, axis=0, method="weibull"), [lo, hi],
                                   rtol=1e-9, atol=1e-12)
    # the spend draws carry gamma-gamma's correlations (p with gamma: strongly negative)
    big = np.log(parameter_draws(gg, 20_000, np.random.default_rng(3), valid_spend))
    v = gg.log_variance_matrix()
    np.testing.assert_allclose(np.corrcoef(big.T), v / np.sqrt(np.outer(np.diag(v), np.diag(v))),
                               atol=0.03)


def test_total_interval_agrees_with_the_generic_population_interval(cdnow):
    f, r, T = cdnow
    m = BetaGeoModel().fit(f, r, T)
    fast = total_purchases_interval(m, 39.0, f, r, T)
    generic = population_interval(m, lambda v: v.conditional_expected_number_of_purchases_up_to_time(
        39.0, f[None, :], r[None, :], T[None, :]))
    np.testing.assert_allclose(fast, generic, rtol=1e-9)


def test_xv_out_clv_has_bounds_that_bracket_the_estimates(demo_run):
    clv = demo_run[0].results.frames["xv_out_CLV"]
    cols = list(clv.columns)
    for name in ("p_alive", "expected_purchases", "clv"):
        lo, hi = clv[f"{name}_low"], clv[f"{name}_high"]
        assert cols.index(f"{name}_low") == cols.index(name) + 1  # beside the estimate
        tol = 1e-9 * np.maximum(clv[name].abs(), 1)
        assert (lo <= clv[name] + tol).all() and (clv[name] <= hi + tol).all(), name
        assert (hi - lo).mean() > 0, name


def test_interval_level_zero_drops_the_bounds_and_the_margin_weights_reproduce_clv(tmp_path):
    import datetime as dt

    from tests.conftest import write_tables
    from xlvalue.analytics.clv_analysis import rate_weights
    from xlvalue.analytics.customer_value import discount_factors, margin_history, margin_rate_path
    from xlvalue.analytics.transactions import TransactionLog, day_number
    from xlvalue.cli.headless_run import run_workbook
    from xlvalue.datasets import load_cdnow_sample

    sample = load_cdnow_sample()
    book = write_tables(tmp_path / "b.xlsx", {"xv_Transactions": sample},
                        {"AsOfDate": dt.datetime(1997, 9, 30), "IntervalLevel": 0})
    clv = run_workbook(book, tmp_path / "o.xlsx", only="clv").results.frames["xv_out_CLV"]
    assert not any(c.endswith(("_low", "_high")) for c in clv.columns)
    # scale x table[group] is the forecast's margin rate x discount, customer by customer
    log = TransactionLog.from_frame(sample.assign(Cost=sample["Amount"] * 0.6))
    h = margin_history(log, day_number("1997-09-30"), "month")
    codes = np.arange(log.n_customers)
    disc = discount_factors(12, 0.01)
    w = rate_weights(h, codes, 12, 0.3, disc)
    rates = margin_rate_path(h.rows(codes), 12)
    expected = np.where(np.isfinite(rates), rates, 0.3) * disc
    np.testing.assert_allclose(w.scale[:, None] * w.table[w.group], expected, rtol=1e-12)


def test_worksheet_functions_take_a_level(cdnow):
    import xlvalue.excel.udfs as xu

    f, r, T = cdnow
    col = [[float(v)] for v in f], [[float(v)] for v in r], [[float(v)] for v in T]
    fit = xu.XV_BGNBD_FIT(*col)
    assert [c for c in fit[0] if c.startswith("cov_")] == ["cov_r", "cov_alpha", "cov_a", "cov_b"]
    m = BetaGeoModel().fit(f, r, T)
    rows = xu.XV_PALIVE(fit, *(c[:50] for c in col), None, 0.9)
    assert len(rows) == 50 and len(rows[0]) == 3
    iv = customer_intervals(m, f[:50], r[:50], T[:50], np.array([1.0]), IntervalOptions(0.9))
    np.testing.assert_allclose([row[1] for row in rows], iv.p_alive_low, rtol=1e-6)
    np.testing.assert_allclose([row[2] for row in rows], iv.p_alive_high, rtol=1e-6)
    est = np.array(xu.XV_EXPECTED_PURCHASES(fit, 39, *(c[:50] for c in col), None, 0.9), dtype=float)
    assert np.all(est[:, 1] <= est[:, 0] + 1e-12) and np.all(est[:, 0] <= est[:, 2] + 1e-12)
    monetary = [[25.0]] * 50
    gg = [["parameter", "estimate"], ["p", 6.25], ["q", 3.74], ["gamma", 15.44]]  # no cov_
    clv = np.array(xu.XV_CLV(fit, gg, *(c[:50] for c in col), monetary, level=0.9), dtype=float)
    assert np.all(clv[:, 1] <= clv[:, 0] * (1 + 1e-9)) and np.all(clv[:, 0] <= clv[:, 2] * (1 + 1e-9))
    bare = [["r", 0.24], ["alpha", 4.4], ["a", 0.79], ["b", 2.4]]
    assert xu.XV_PALIVE(bare, [[1.0]], [[1.0]], [[2.0]], None, 0.9)[0][0].startswith(
        "#XV! level needs the covariance")
    assert xu.XV_PALIVE(fit, [[1.0]], [[1.0]], [[2.0]], None, 1.5)[0][0].startswith(
        "#XV! level must be between 0 and 1")


def test_parameters_the_data_cannot_pin_down_give_no_intervals():
    m = BetaGeoModel()
    m.params_ = pd.Series(TRUTH)
    m.variance_matrix_ = pd.DataFrame(np.diag(np.array(list(TRUTH.values())) ** 2 * 100.0),
                                      index=list(TRUTH), columns=list(TRUTH))  # log-scale se 10
    with pytest.raises(ModelError, match="too uncertain for intervals"):
        customer_intervals(m, [1.0], [1.0], [2.0], np.array([1.0]))
