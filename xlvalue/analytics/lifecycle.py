"""Customer lifecycle stages (seed 003, 客户生命周期): where each relationship stands on the
profit-over-time curve of exploration (考察期), formation (形成期), stability (稳定期) and
decline (退化期), with lost customers apart.

The rule (docs/methods.md, "Customer lifecycle stages") reads three measures per customer:
its tenure, the trend of its spend (the last window against the time before it) and its
P(alive) from the purchase model. Everything is vectorised over customers; nothing here knows
of workbooks: the thresholds come in as a `StageRule`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlvalue.analytics.customer_value import DAYS_PER_PERIOD
from xlvalue.analytics.transactions import PurchaseDays

__all__ = ["STAGES", "StageRule", "SpendWindows", "lifecycle_stages", "spend_trend",
           "spend_windows", "stage_summary", "window_days"]

# in the order of the lifecycle curve, the lost customers last
STAGES: tuple[str, ...] = ("exploration", "formation", "stability", "decline", "lost")


def window_days(periods: float, unit: str) -> int:
    """A length in periods as whole days (6 months = round(6 x 30.4375) = 183 days).

    Parameters
    ----------
    periods : float
        Number of periods.
    unit : {"day", "week", "month", "quarter", "year"}
        The period.

    Returns
    -------
    int
        At least 1.
    """
    return max(1, int(round(periods * DAYS_PER_PERIOD[unit])))


@dataclass(frozen=True)
class StageRule:
    """The thresholds of the stage rule.

    Attributes
    ----------
    window_days : int
        Length of the recent window (days), e.g. 6 months = 183 days.
    explore_days : float
        A customer whose tenure is shorter is in exploration (days; 0: no exploration stage).
    trend : float
        A trend at or above +trend is formation, at or below -trend decline (0 < trend <= 1).
    lost : float
        A P(alive) below it is lost (0: no lost stage).
    """

    window_days: int
    explore_days: float
    trend: float
    lost: float

    def __post_init__(self) -> None:
        if self.window_days < 1:
            raise ValueError(f"the recent window must be at least one day, got {self.window_days}")
        if not 0 < self.trend <= 1:
            raise ValueError(f"the trend threshold must lie in (0, 1], got {self.trend}")


@dataclass(frozen=True)
class SpendWindows:
    """Each customer's net spend in the recent window and before it.

    Attributes
    ----------
    recent : numpy.ndarray of float
        Net amount (currency) of the purchase days in the last `window_days` days up to the
        analysis date, per customer code.
    before : numpy.ndarray of float
        Net amount of the purchase days before that window, per customer code.
    window_days : int
        The window's length (days).
    """

    recent: np.ndarray
    before: np.ndarray
    window_days: int


def spend_windows(days: PurchaseDays, n_customers: int, as_of: int,
                  window_days: int) -> SpendWindows:
    """Split each customer's net spend at the start of the recent window.

    A purchase day d is recent when as_of - window_days < d <= as_of (the last window_days
    days, the analysis date included); days after the analysis date are left out.

    Parameters
    ----------
    days : PurchaseDays
        The log reduced to purchase days (customer codes 0..n_customers-1).
    n_customers : int
        Number of customer codes.
    as_of : int
        Analysis date (days since 1970-01-01).
    window_days : int
        Length of the recent window (days, at least 1).

    Returns
    -------
    SpendWindows
    """
    inside = days.day <= as_of
    recent = inside & (days.day > as_of - window_days)
    code = days.code
    amount = days.amount
    total = np.bincount(code, weights=np.where(inside, amount, 0.0), minlength=n_customers)
    late = np.bincount(code, weights=np.where(recent, amount, 0.0), minlength=n_customers)
    return SpendWindows(late, total - late, int(window_days))


def spend_trend(recent: np.ndarray, before: np.ndarray, tenure_days: np.ndarray,
                window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """The spend trend: the recent window's spend against the spend per window before it.

    `earlier` = spend before the window x window_days / max(days before the window,
    window_days), where the days before the window run from the first purchase:
    tenure_days + 1 - window_days (a customer younger than two windows has its earlier spend
    spread over one window). Net amounts below zero count as zero.
    trend = (recent - earlier) / (recent + earlier), from -1 (no spend in the window) through
    0 (as before) to +1 (no spend before the window); 0 when neither holds any spend.

    Parameters
    ----------
    recent, before : numpy.ndarray of float
        Net spend (currency) in the window and before it (SpendWindows).
    tenure_days : numpy.ndarray
        Days from the first purchase to the analysis date.
    window_days : int
        The window's length (days).

    Returns
    -------
    earlier : numpy.ndarray of float
        Spend per window-length before the window (currency).
    trend : numpy.ndarray of float
        In [-1, 1].
    """
    r = np.maximum(np.asarray(recent, dtype=float), 0.0)
    b = np.maximum(np.asarray(before, dtype=float), 0.0)
    span = np.maximum(np.asarray(tenure_days, dtype=float) + 1.0 - window_days,
                      float(window_days))
    earlier = b * (window_days / span)
    both = r + earlier
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = np.where(both > 0, (r - earlier) / np.where(both > 0, both, 1.0), 0.0)
    return earlier, trend


def lifecycle_stages(tenure_days: np.ndarray, trend: np.ndarray, p_alive: np.ndarray,
                     rule: StageRule) -> np.ndarray:
    """Each customer's stage, by the first test it passes:

    1. lost: P(alive) < rule.lost;
    2. exploration: tenure < rule.explore_days;
    3. decline: trend <= -rule.trend;
    4. formation: trend >= +rule.trend;
    5. stability: the rest.

    A missing P(alive) (NaN) is not lost.

    Parameters
    ----------
    tenure_days : numpy.ndarray
        Days from the first purchase to the analysis date.
    trend : numpy.ndarray of float
        Spend trend in [-1, 1] (spend_trend).
    p_alive : numpy.ndarray of float
        Probability that the customer is still active (the purchase model's).
    rule : StageRule
        The thresholds.

    Returns
    -------
    numpy.ndarray of str
        One of STAGES per customer.
    """
    p = np.asarray(p_alive, dtype=float)
    t = np.asarray(trend, dtype=float)
    with np.errstate(invalid="ignore"):
        tests = [p < rule.lost, np.asarray(tenure_days, dtype=float) < rule.explore_days,
                 t <= -rule.trend, t >= rule.trend]
    return np.select(tests, ["lost", "exploration", "decline", "formation"],
                     "stability").astype(object)


def stage_summary(stage: np.ndarray, spend: np.ndarray, clv: np.ndarray,
                  p_alive: np.ndarray) -> pd.DataFrame:
    """Customers, spend and CLV per stage, every stage listed (in STAGES order, zeros too).

    Parameters
    ----------
    stage : numpy.ndarray of str
        Each customer's stage (lifecycle_stages).
    spend : numpy.ndarray of float
        Each customer's total spend so far (currency).
    clv : numpy.ndarray of float
        Each customer's lifetime value (currency).
    p_alive : numpy.ndarray of float
        Each customer's P(alive).

    Returns
    -------
    pandas.DataFrame
        stage, customers, share_of_customers, spend, share_of_spend, clv, share_of_clv,
        mean_p_alive (NaN for a stage without customers); shares of the totals (0 when a total
        is not positive).
    """
    codes = pd.Categorical(np.asarray(stage, dtype=object), categories=list(STAGES)).codes
    if (codes < 0).any():
        raise ValueError("a stage outside STAGES")
    k = len(STAGES)
    count = np.bincount(codes, minlength=k).astype(np.int64)
    spend_sum = np.bincount(codes, weights=np.asarray(spend, dtype=float), minlength=k)
    clv_sum = np.bincount(codes, weights=np.asarray(clv, dtype=float), minlength=k)
    p = np.asarray(p_alive, dtype=float)
    seen = np.isfinite(p)
    p_sum = np.bincount(codes[seen], weights=p[seen], minlength=k)
    p_n = np.bincount(codes[seen], minlength=k)

    def share(x: np.ndarray) -> np.ndarray:
        total = float(x.sum())
        return x / total if total > 0 else np.zeros_like(x, dtype=float)

    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(p_n > 0, p_sum / np.maximum(p_n, 1), np.nan)
    return pd.DataFrame({"stage": list(STAGES), "customers": count,
                         "share_of_customers": share(count.astype(float)), "spend": spend_sum,
                         "share_of_spend": share(spend_sum), "clv": clv_sum,
                         "share_of_clv": share(clv_sum), "mean_p_alive": mean_p})
