"""Per-customer CLV intervals on a million customers: 200 parameter draws, against one point
estimate of the same quantities (P(alive), expected purchases, CLV over 12 months)."""

from __future__ import annotations

import time

import numpy as np

from xlvalue.analytics.customer_value import discount_factors, purchases_by_period
from xlvalue.analytics.intervals import IntervalOptions, RateWeights, customer_intervals
from xlvalue.analytics.models import BetaGeoModel, GammaGammaModel

from .common import peak_memory

TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # CDNOW's BG/NBD (FHL 2005)
SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # CDNOW's gamma-gamma (FHL 2005 RFM/CLV note)


def customers(n: int, seed: int = 1):
    """n customers of a CDNOW-like base: ages of 1..546 days, recency rounded to days (as
    the repeat summary makes them), spend from the gamma-gamma model."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, 547, n) / 7.0
    x, tx, T = BetaGeoModel.simulate(TRUTH, n, age, seed=seed)
    tx = np.round(tx * 7) / 7
    m = np.zeros(n)
    rep = x > 0
    m[rep] = GammaGammaModel.simulate(SPEND, x[rep], seed=seed)
    return x, tx, T, m


def run(quick: bool = False) -> None:
    n = 100_000 if quick else 1_000_000
    horizon, length, rate = 12, 365.25 / 12 / 7, 0.01
    x, tx, T, m = customers(n)
    bg = BetaGeoModel().fit(x, tx, T)
    rep = x > 0
    gg = GammaGammaModel().fit(x[rep], m[rep])
    disc = discount_factors(horizon, rate)
    ends = np.arange(1, horizon + 1) * length
    weights = RateWeights.flat(n, 0.3, disc)

    def point():
        purchases = purchases_by_period(bg, x, tx, T, horizon, length)
        spend = gg.conditional_expected_average_profit(x, m)
        return (bg.conditional_probability_alive(x, tx, T), purchases.sum(axis=1),
                (purchases @ disc) * spend * 0.3)

    t0, c0 = time.perf_counter(), time.process_time()
    alive, expected, clv = point()
    t_point, c_point = time.perf_counter() - t0, time.process_time() - c0
    options = IntervalOptions(level=0.9, draws=200)
    t0, c0 = time.perf_counter(), time.process_time()
    iv = customer_intervals(bg, x, tx, T, ends, options, spend_model=gg, monetary=m,
                            weights=weights)
    t_iv, c_iv = time.perf_counter() - t0, time.process_time() - c0
    # CPU time is what the machine's load does not inflate (the work is single-threaded)
    print(f"intervals, {n:,} customers x {options.draws} draws (BG/NBD + gamma-gamma, "
          f"{horizon} periods): wall {t_iv:.2f} s, CPU {c_iv:.2f} s; one point estimate wall "
          f"{t_point:.2f} s, CPU {c_point:.2f} s; ratio (CPU) {c_iv / c_point:.1f}x "
          "(target <= 30 s)", flush=True)
    inside = np.mean((iv.clv_low <= clv * (1 + 1e-9)) & (clv <= iv.clv_high * (1 + 1e-9)))
    print(f"  point CLV inside its interval for {inside:.2%} of customers; mean 90 % width "
          f"{np.mean(iv.clv_high - iv.clv_low):.3f} on a mean CLV of {np.mean(clv):.3f}")
    small = customers(50_000, seed=2)
    peak, _ = peak_memory(lambda: customer_intervals(bg, *small[:3], ends, options,
                                                     spend_model=gg, monetary=small[3],
                                                     weights=RateWeights.flat(50_000, 0.3, disc)))
    print(f"  peak traced memory on 50,000 customers: {peak / 2**20:.0f} MB (blocks bound it: "
          "the same on any number of customers beyond one block)")
