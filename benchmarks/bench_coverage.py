"""Coverage of the per-customer intervals: how often a 90 % interval computed from a fit on
simulated data holds the value at the true parameters.

Each data set is drawn from known BG/NBD and gamma-gamma parameters (CDNOW's, Fader, Hardie
& Lee 2005), both models are fitted on it, and `customer_intervals` (200 draws, the
workbook's default) gives every customer's interval of P(alive), E[Y(52 weeks)] and CLV (12
periods of 52/12 weeks, 1 % discount per period, spend from gamma-gamma). Each is checked
against the same quantity at the true parameters and the customer's own history. The coverage
of a set is the share of its customers covered; the table shows the mean over sets and its
standard error (sets are independent; customers of one set are not, since they share the
fit). P(alive) counts only customers with a repeat purchase: BG/NBD gives 1 to the others at
every parameter value, so they are covered whatever the interval. Also shown: CLV with the
spend fixed at its estimate (what XV_CLV does without gamma-gamma's cov_ columns), and how
often the true log-parameters lie inside the fit's 90 % normal ellipsoid (the approximation the
draws come from).

Run: ``python -m benchmarks coverage [--quick]`` (quick: 100 sets per scenario instead of
1,000), or ``python -m benchmarks.bench_coverage --sets N``; the table is the one in
docs/models.md §M1. About 0.1-0.4 s of CPU per set of 2,000 customers.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from xlvalue.analytics.intervals import IntervalOptions, RateWeights, customer_intervals
from xlvalue.analytics.models import BetaGeoModel, GammaGammaModel
from xlvalue.errors import ModelError

from .bench_intervals import SPEND, TRUTH

__all__ = ["SCENARIOS", "Scenario", "coverage_table", "main", "one_set", "run"]

LEVEL, DRAWS = 0.9, 200
PERIODS = 12
ENDS = np.arange(1, PERIODS + 1) * 52.0 / PERIODS  # weeks; the last is 52
DISC = 1.01 ** -np.arange(1, PERIODS + 1)


@dataclass(frozen=True)
class Scenario:
    """Customers of a simulated data set: how many, and their ages in days (low, high)."""

    name: str
    customers: int
    ages: tuple[int, int]


SCENARIOS = (
    Scenario("2,000 customers, ages 27-39 weeks (CDNOW's cohort)", 2000, (189, 273)),
    Scenario("2,000 customers, ages 1-546 days", 2000, (1, 546)),
    Scenario("500 customers, ages 27-39 weeks", 500, (189, 273)),
)


def simulate(scenario: Scenario, seed: int):
    """One data set: frequency, recency (rounded to days, as the repeat summary gives it), age
    (weeks) and mean repeat spend (0 without repeat purchases)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(scenario.ages[0], scenario.ages[1] + 1, scenario.customers) / 7.0
    x, tx, T = BetaGeoModel.simulate(TRUTH, scenario.customers, age, seed=seed + 1)
    tx = np.round(tx * 7) / 7
    m = np.zeros(len(x))
    rep = x > 0
    m[rep] = GammaGammaModel.simulate(SPEND, x[rep], seed=seed + 2)
    return x, tx, T, m


def _true_values(x, tx, T, m):
    """P(alive), E[Y(52)], CLV and the expected spend at the true parameters."""
    bg, gg = BetaGeoModel(), GammaGammaModel()
    bg.params_, gg.params_ = pd.Series(TRUTH), pd.Series(SPEND)
    cum = bg.conditional_expected_number_of_purchases_up_to_time(ENDS[:, None], x, tx, T)
    spend = gg.conditional_expected_average_profit(x, m)
    clv = (np.diff(cum, axis=0, prepend=0.0).T @ DISC) * spend
    return bg.conditional_probability_alive(x, tx, T), cum[-1], clv


def _inside_ellipsoid(model, truth: dict[str, float]) -> bool:
    """The true log-parameters inside the fit's 90 % normal ellipsoid."""
    d = np.log(model.params_.to_numpy()) - np.log(np.array([truth[k] for k in model.params_.index]))
    return bool(d @ np.linalg.solve(model.log_variance_matrix(), d) <= stats.chi2.ppf(0.9, len(d)))


def one_set(scenario: Scenario, seed: int, draws: int = DRAWS) -> dict[str, float] | None:
    """Per quantity, the share of the set's customers whose interval holds the true value
    (and the shares below and above it); None when the fit gives no intervals (the
    parameters too uncertain, a ModelError)."""
    x, tx, T, m = simulate(scenario, seed)
    rep = x > 0
    try:
        bg = BetaGeoModel().fit(x, tx, T)
        gg = GammaGammaModel().fit(x[rep], m[rep])
        options = IntervalOptions(LEVEL, draws, seed=seed)
        weights = RateWeights.flat(len(x), 1.0, DISC)
        iv = customer_intervals(bg, x, tx, T, ENDS, options, spend_model=gg, monetary=m,
                                weights=weights)
        fixed = customer_intervals(bg, x, tx, T, ENDS, options, weights=weights,
                                   spend=gg.conditional_expected_average_profit(x, m))
    except ModelError:
        return None
    alive, purchases, clv = _true_values(x, tx, T, m)
    out: dict[str, float] = {}
    for name, truth, lo, hi, who in (
            ("P(alive), customers with a repeat purchase", alive, iv.p_alive_low,
             iv.p_alive_high, rep),
            ("E[Y(52 weeks)]", purchases, iv.expected_purchases_low, iv.expected_purchases_high,
             None),
            ("CLV (12 periods, gamma-gamma drawn)", clv, iv.clv_low, iv.clv_high, None),
            ("CLV with the spend fixed at its estimate", clv, fixed.clv_low, fixed.clv_high,
             None)):
        if who is not None:
            truth, lo, hi = truth[who], lo[who], hi[who]
        tol = 1e-9 * np.maximum(np.abs(truth), 1e-12)
        below, above = truth < lo - tol, truth > hi + tol
        out[name] = 1.0 - float(np.mean(below | above))
        out[name + " below"] = float(np.mean(below))
        out[name + " above"] = float(np.mean(above))
        out[name + " n"] = float(len(truth))
    out["BG/NBD parameters in their 90 % ellipsoid"] = float(_inside_ellipsoid(bg, TRUTH))
    out["gamma-gamma parameters in their 90 % ellipsoid"] = float(_inside_ellipsoid(gg, SPEND))
    return out


def coverage_table(scenario: Scenario, sets: int, draws: int = DRAWS) -> tuple[pd.DataFrame, int]:
    """The coverage rows of one scenario over `sets` data sets (seeds 0..sets-1), and the
    number of sets whose fit gave no intervals."""
    results = [one_set(scenario, seed, draws) for seed in range(sets)]
    kept = pd.DataFrame([r for r in results if r is not None])
    rows = []
    for name in kept.columns:
        if name.endswith((" below", " above", " n")):
            continue
        v = kept[name]
        row = {"scenario": scenario.name, "quantity": name, "coverage": v.mean(),
               "se": v.std(ddof=1) / np.sqrt(len(v))}
        if name + " n" in kept:
            row.update(customers=kept[name + " n"].mean(), below=kept[name + " below"].mean(),
                       above=kept[name + " above"].mean())
        rows.append(row)
    return pd.DataFrame(rows), len(results) - len(kept)


def _markdown(table: pd.DataFrame) -> str:
    lines = ["| scenario | quantity | customers per set | coverage | truth below | truth above |",
             "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        per = "" if np.isnan(getattr(r, "customers", np.nan)) else f"{r.customers:,.0f}"
        below = "" if np.isnan(getattr(r, "below", np.nan)) else f"{100 * r.below:.1f} %"
        above = "" if np.isnan(getattr(r, "above", np.nan)) else f"{100 * r.above:.1f} %"
        lines.append(f"| {r.scenario} | {r.quantity} | {per} | {100 * r.coverage:.1f} % "
                     f"± {100 * r.se:.1f} | {below} | {above} |")
    return "\n".join(lines)


def run(quick: bool = False, sets: int | None = None, draws: int = DRAWS) -> pd.DataFrame:
    """Print the coverage table (markdown) of every scenario; return it."""
    sets = sets or (100 if quick else 1000)
    print(f"coverage of {100 * LEVEL:.0f} % intervals ({draws} draws) of the value at the true "
          f"parameters, {sets} simulated data sets per scenario; mean over sets ± its standard "
          "error", flush=True)
    tables = []
    for scenario in SCENARIOS:
        t0 = time.process_time()
        table, refused = coverage_table(scenario, sets, draws)
        tables.append(table)
        print(f"  {scenario.name}: CPU {time.process_time() - t0:.0f} s; {refused} of {sets} "
              "sets gave no intervals (the fit too uncertain) and are left out", flush=True)
    table = pd.concat(tables, ignore_index=True)
    print(_markdown(table), flush=True)
    return table


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_coverage")
    p.add_argument("--quick", action="store_true", help="100 sets per scenario (default 1,000)")
    p.add_argument("--sets", type=int, help="data sets per scenario")
    p.add_argument("--draws", type=int, default=DRAWS, help=f"parameter draws (default {DRAWS})")
    args = p.parse_args()
    run(args.quick, args.sets, args.draws)


if __name__ == "__main__":
    main()
