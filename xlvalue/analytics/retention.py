"""The analyses of the discrete-time and contractual models: BG/BB on transaction
opportunities and the shifted-beta-geometric on cohorts' survivor counts. Each returns its
tables in a small result object (xlvalue.analyses.bgbb / .sbg show them in a workbook).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlvalue.analytics.models import BetaGeoBetaBinomModel, ShiftedBetaGeoModel
from xlvalue.errors import ModelError

__all__ = ["BGBBResult", "SBGResult", "bgbb_analysis", "sbg_analysis"]


@dataclass
class BGBBResult:
    """BG/BB's tables: per-history scores, the fit report, actual vs model counts."""

    scores: pd.DataFrame
    fit: pd.DataFrame
    counts: pd.DataFrame


@dataclass
class SBGResult:
    """sBG's tables: survival and retention per period and cohort, the fits per cohort."""

    survival: pd.DataFrame
    fit: pd.DataFrame


def bgbb_analysis(histories: pd.DataFrame, ahead: int, discount_rate: float) -> BGBBResult:
    """Fit BG/BB on opportunity histories and score each history.

    Parameters
    ----------
    histories : pandas.DataFrame
        Columns Frequency, Recency, Periods (whole numbers of opportunities) and optionally
        Customers (customers with that history; default 1 per row).
    ahead : int
        Opportunities ahead for the expected transactions (m).
    discount_rate : float
        Discount rate per opportunity for DERT (> 0).

    Returns
    -------
    BGBBResult
        scores (per history: p_alive at the next opportunity, expected transactions in the
        next `ahead`, DERT), fit (parameters, standard errors, fit statistics) and counts
        (customers by transactions in the first n opportunities, actual vs model, for the
        most common n).
    """
    x = histories["Frequency"].to_numpy(dtype=float)
    tx = histories["Recency"].to_numpy(dtype=float)
    n = histories["Periods"].to_numpy(dtype=float)
    w = (histories["Customers"].fillna(1.0).to_numpy(dtype=float)
         if "Customers" in histories else np.ones(len(x)))
    model = BetaGeoBetaBinomModel().fit(x, tx, n, weights=w)  # validates x, t_x, n first
    scores = pd.DataFrame({
        "frequency": x.astype(np.int64), "recency": tx.astype(np.int64),
        "periods": n.astype(np.int64), "customers": w,
        "p_alive_next": model.conditional_probability_alive(x, tx, n, 1),
        f"expected_next_{ahead}": model.conditional_expected_number_of_purchases_up_to_time(
            ahead, x, tx, n),
        "dert": model.discounted_expected_residual_transactions(x, tx, n, discount_rate),
    })
    scores["customers"] = scores["customers"].round(6)
    # the opportunity count most customers share: its actual vs expected histogram
    periods = pd.Series(w).groupby(n).sum()
    n0 = float(periods.idxmax())
    same = n == n0
    k = np.arange(int(n0) + 1)
    actual = np.bincount(x[same].astype(int), weights=w[same], minlength=len(k))[:len(k)]
    counts = pd.DataFrame({"transactions": k, "actual": actual,
                           "model": w[same].sum() * model.probability_of_n_purchases_up_to_time(
                               int(n0), k)})
    return BGBBResult(scores, model.fit_report(), counts)


def sbg_analysis(survivors: pd.DataFrame, horizon: int, discount_rate: float) -> SBGResult:
    """Fit the shifted-beta-geometric to each cohort's survivor counts and project them.

    Parameters
    ----------
    survivors : pandas.DataFrame
        Columns Period (0, 1, 2, ... since acquisition), Survivors (customers still active)
        and optionally Cohort (one fit per cohort; default one cohort).
    horizon : int
        Periods to project the survival curves to (at least the observed ones are shown).
    discount_rate : float
        Discount rate per period for DERL (> 0).

    Returns
    -------
    SBGResult
        survival (per period: each cohort's actual and model survival share and model
        retention rate) and fit (per cohort: gamma, delta with standard errors,
        log-likelihood, and DERL of a customer up for the first renewal).
    """
    frame = survivors.copy()
    if "Cohort" not in frame:
        frame["Cohort"] = "cohort"
    frame["Cohort"] = frame["Cohort"].fillna("cohort").astype(str)
    fits = []
    curves: dict[str, np.ndarray] = {}
    observed_max = int(frame["Period"].max())
    periods = np.arange(0, max(horizon, observed_max) + 1)
    for cohort, rows in frame.groupby("Cohort", sort=False):
        rows = rows.sort_values("Period")
        t = rows["Period"].to_numpy(dtype=float)
        if not np.array_equal(t, np.arange(len(t))):
            raise ModelError(f"cohort {cohort!r}: Period must run 0, 1, 2, ... "
                             f"without gaps (got {', '.join(f'{v:g}' for v in t[:8])})")
        counts = rows["Survivors"].to_numpy(dtype=float)
        try:
            model = ShiftedBetaGeoModel().fit_survivors(counts)
        except ModelError as exc:
            raise ModelError(f"cohort {cohort!r}: {exc}") from None
        report = model.fit_report()
        report["model"] = f"sbg {cohort}"
        derl = pd.DataFrame([{"model": f"sbg {cohort}", "parameter": "DERL (0 renewals)",
                              "estimate": float(model.discounted_expected_residual_lifetime(
                                  0, discount_rate)), "std_error": np.nan}])
        fits.append(pd.concat([report, derl], ignore_index=True))
        actual = np.full(len(periods), np.nan)
        actual[:len(counts)] = counts / counts[0]
        curves[f"{cohort} actual"] = actual
        curves[f"{cohort} model"] = model.survival_function(periods)
        retention = np.full(len(periods), np.nan)
        retention[1:] = model.retention_rate(periods[1:])
        curves[f"{cohort} retention"] = retention
    table = pd.DataFrame({"period": periods, **curves})
    return SBGResult(table, pd.concat(fits, ignore_index=True))
