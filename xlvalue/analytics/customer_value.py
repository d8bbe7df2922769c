"""Customer value (METHODS.md sections 4 and 6): discounted CLV, the CRM gross-margin
forecast, the seed's LTV formulas, potential value and the value matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlvalue.analytics.rfm import CustomerRuns
from xlvalue.analytics.transactions import (
    DAYS_PER_UNIT,
    PurchaseDays,
    TransactionLog,
    _gather,
    period_index,
    purchase_days,
)
from xlvalue.errors import InputError, Problem

__all__ = ["DAYS_PER_PERIOD", "VALUE_CLASSES", "MarginHistory", "crm_margin",
           "discount_factors", "discounted_clv", "ltv_from_tables", "margin_history",
           "margin_rate_path", "period_length", "potential_value", "purchases_by_period",
           "retention_ltv", "value_matrix"]

DAYS_PER_PERIOD = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4,
                   "year": 365.25}
# the value matrix's classes in the order they are shown (most valuable first)
VALUE_CLASSES: tuple[str, ...] = ("MVC", "MGC", "Migrator", "BZ")


def period_length(period_unit: str, time_unit: str) -> float:
    """Length of one forecast period (PeriodUnit) in the model's time unit (TimeUnit).

    Parameters
    ----------
    period_unit : {"day", "week", "month", "quarter", "year"}
        The forecast period (a month is 365.25 / 12 days).
    time_unit : {"days", "weeks"}
        The unit of recency and T.

    Returns
    -------
    float
        Time units per period (e.g. 4.348 weeks per month).
    """
    return DAYS_PER_PERIOD[period_unit] / DAYS_PER_UNIT[time_unit]


def purchases_by_period(model, frequency, recency, T, horizon: int, length: float,
                        covariates: pd.DataFrame | None = None) -> np.ndarray:
    """Expected purchases in each of the next `horizon` periods (customers x periods).

    Differences of the model's cumulative conditional expectation at the period ends, computed
    on unique (x, t_x, T) patterns: customers who share a history share a forecast.

    Parameters
    ----------
    model : fitted purchase model
        Any model with `conditional_expected_number_of_purchases_up_to_time`.
    frequency, recency, T : array_like
        Repeat purchases, recency and age per customer (the model's time unit).
    horizon : int
        Number of periods.
    length : float
        Length of a period in the model's time unit.
    covariates : pandas.DataFrame, optional
        The customers' covariates (a model fitted with them, for both processes): customers
        who share a history and covariates share a forecast.

    Returns
    -------
    numpy.ndarray
        customers x horizon expected purchases.
    """
    from xlvalue.analytics.models.base import compress

    z = () if covariates is None else tuple(covariates.to_numpy(dtype=float).T)
    patterns = compress(frequency, recency, T, *z)
    ends = np.arange(horizon + 1) * length
    x, tx, t = (c[:, None] for c in patterns.columns[:3])
    frames = {}
    if covariates is not None:
        own = pd.DataFrame(dict(zip(covariates.columns, patterns.columns[3:], strict=True)))
        frames = {"purchase_covariates": own, "dropout_covariates": own}
    cum = np.zeros((len(patterns.weights), horizon + 1))
    cum[:, 1:] = model.conditional_expected_number_of_purchases_up_to_time(
        ends[None, 1:], x, tx, t, **frames)
    return np.diff(cum, axis=1)[patterns.inverse]


def discount_factors(horizon: int, rate: float) -> np.ndarray:
    """1 / (1 + i)^k for k = 1..horizon (end-of-period discounting).

    Parameters
    ----------
    horizon : int
        Number of periods.
    rate : float
        Discount rate per period (fraction, e.g. 0.01).

    Returns
    -------
    numpy.ndarray
        One factor per period.
    """
    return (1.0 + rate) ** -np.arange(1, horizon + 1, dtype=float)


def ltv_from_tables(contribution: np.ndarray, cost: np.ndarray, rate: float) -> np.ndarray:
    """The seed's V = sum over t = 0..T of (Q_t - C_t) / (1 + i)^t, one row per customer.

    Parameters
    ----------
    contribution : array_like
        Q_t per customer (rows) and period (columns), currency.
    cost : array_like
        C_t, same shape, currency.
    rate : float
        Discount rate per period (fraction).

    Returns
    -------
    numpy.ndarray
        Lifetime value per customer (currency, at period 0).

    Raises
    ------
    InputError
        Tables of different shapes.

    References
    ----------
    .. [1] Gupta, S. and Lehmann, D. R. (2003). "Customers as assets". Journal of Interactive
       Marketing 17(1), 9-24.
    """
    q = np.atleast_2d(np.asarray(contribution, dtype=float))
    c = np.atleast_2d(np.asarray(cost, dtype=float))
    if q.shape != c.shape:
        raise InputError(Problem(f"contribution {q.shape} and cost {c.shape} tables differ in shape"))
    factors = (1.0 + rate) ** -np.arange(q.shape[1], dtype=float)
    return (q - c) @ factors


def retention_ltv(margin, retention, rate: float, periods: int | None = None) -> np.ndarray:
    """Lifetime value at a constant margin and retention: sum over t of m r^t / (1 + i)^t.

    Parameters
    ----------
    margin : array_like
        Margin m per period (currency).
    retention : array_like
        Retention rate r per period (fraction).
    rate : float
        Discount rate i per period (fraction).
    periods : int, optional
        Last period T; None sums forever, m / (1 - r / (1 + i)).

    Returns
    -------
    numpy.ndarray
        Lifetime value per customer (currency).

    Raises
    ------
    InputError
        A perpetual LTV with retention >= 1 + rate.

    References
    ----------
    .. [1] Gupta, S. and Lehmann, D. R. (2003). "Customers as assets". Journal of Interactive
       Marketing 17(1), 9-24.
    """
    m = np.asarray(margin, dtype=float)
    r = np.asarray(retention, dtype=float)
    ratio = r / (1.0 + rate)
    if periods is None:
        if np.any(ratio >= 1):
            raise InputError(Problem("retention must be below 1 + discount rate for a perpetual LTV"))
        return m / (1.0 - ratio)
    with np.errstate(invalid="ignore", divide="ignore"):
        geometric = np.where(np.isclose(ratio, 1.0), periods + 1.0,
                             (1.0 - ratio ** (periods + 1)) / (1.0 - ratio))
    return m * geometric


@dataclass(frozen=True)
class MarginHistory:
    """Per customer: last transacting period and its margin rate; company-wide trend slopes.

    Attributes
    ----------
    last_period : numpy.ndarray of int
        Each customer's last period with a transaction (period numbers, `period_index`).
    last_rate : numpy.ndarray of float
        Gross-margin rate (fraction) of that period; NaN without amounts.
    latest_period : int
        The period of the analysis date.
    first_period : int
        The log's first period.
    slopes : numpy.ndarray of float
        slopes[p - first_period]: trend (rate per period) of the company rate over [p, latest].
    """

    last_period: np.ndarray
    last_rate: np.ndarray
    latest_period: int
    first_period: int
    slopes: np.ndarray  # slopes[p - first_period]: trend of the company rate over [p, latest]

    def rows(self, idx: np.ndarray) -> MarginHistory:
        """The same history for some customers only.

        Parameters
        ----------
        idx : numpy.ndarray of int
            Customer codes of the log.

        Returns
        -------
        MarginHistory
        """
        return MarginHistory(self.last_period[idx], self.last_rate[idx], self.latest_period,
                             self.first_period, self.slopes)


def margin_history(log: TransactionLog, as_of: int, period_unit: str,
                   days: PurchaseDays | None = None) -> MarginHistory:
    """Margin rates by period: each customer's last period, the company's rate trend.

    Parameters
    ----------
    log : TransactionLog
        The transactions.
    as_of : int
        Analysis date (days since 1970-01-01).
    period_unit : {"day", "week", "month", "quarter", "year"}
        The forecast period.
    days : PurchaseDays, optional
        ``purchase_days(log.until(as_of))`` made before.

    Returns
    -------
    MarginHistory
    """
    log = log.until(as_of)
    days = days if days is not None else purchase_days(log)
    n = log.n_customers
    per = period_index(days.day, period_unit)
    p0 = int(per.min())
    latest = int(period_index(as_of, period_unit))
    # company-wide gross-margin rate per period
    periods = np.arange(p0, latest + 1)
    tot_amount, tot_margin = _period_totals(days, per - np.asarray(p0, per.dtype), len(periods))
    # purchase days are sorted by customer then day, and periods never decrease along a
    # customer's days: the rows of the customer's last period are the tail of its run
    runs = CustomerRuns.of(days.code, n)
    last_period = runs.last(per)
    in_last = per == _gather(last_period.astype(per.dtype), days.code)
    del per
    opens = np.empty_like(in_last)  # where a tail opens: in it, and the row before is not
    opens[0] = True
    np.logical_not(in_last[:-1], out=opens[1:])
    opens[runs.starts] = True
    opens &= in_last
    tails = np.flatnonzero(opens)  # one per customer with rows, in customer order
    del opens, in_last
    amount_last = _tail_sums(days.amount, tails, runs)
    margin_last = days.margin_total(amount_last, lambda v: _tail_sums(v, tails, runs))
    with np.errstate(invalid="ignore", divide="ignore"):
        last_rate = np.where(runs.present & (amount_last != 0), margin_last / amount_last, np.nan)
    has = tot_amount != 0
    rate = np.where(has, tot_margin / np.where(has, tot_amount, 1), 0.0)
    xs = periods.astype(float)
    w = has.astype(float)

    def suffix(v: np.ndarray) -> np.ndarray:
        return np.cumsum(v[::-1])[::-1]

    sn, sx, sy = suffix(w), suffix(w * xs), suffix(w * rate)
    sxx, sxy = suffix(w * xs * xs), suffix(w * xs * rate)
    den = sn * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slopes = np.where(den > 1e-12, (sn * sxy - sx * sy) / den, 0.0)
    return MarginHistory(last_period, last_rate, latest, p0, slopes)


def _period_totals(days: PurchaseDays, offset: np.ndarray, n: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Company-wide amount and gross margin of each period (offset = period - first period)."""
    def by_period(values: np.ndarray) -> np.ndarray:
        return np.bincount(offset, weights=values, minlength=n)[:n]

    amount = by_period(days.amount)
    return amount, days.margin_total(amount, by_period)


def _tail_sums(values: np.ndarray, tails: np.ndarray, runs: CustomerRuns) -> np.ndarray:
    """Per customer, the sum of values from its tail start to the end of its run (0 without
    rows): one reduceat over interleaved (tail start, run end) boundaries, no row-length copy."""
    out = np.zeros(runs.n)
    if len(tails):
        bounds = np.empty(2 * len(tails) - 1, np.int64)
        bounds[0::2] = tails
        bounds[1::2] = runs.starts[1:]  # the end of each run but the last
        out[runs.present] = np.add.reduceat(values, bounds)[0::2]
    return out


def margin_rate_path(history: MarginHistory, horizon: int) -> np.ndarray:
    """Next gross-margin rates (customers x periods), the seed's r1 rule.

    For forecast period k, r1 = periods without a transaction between the customer's last
    transacting period and period k; r1 = 0 keeps the last rate, otherwise rate =
    last rate x (1 + slope x r1 / 2), slope from the last period to the latest one.

    Parameters
    ----------
    history : MarginHistory
        From `margin_history`.
    horizon : int
        Number of forecast periods.

    Returns
    -------
    numpy.ndarray
        customers x horizon margin rates (fractions).
    """
    k = np.arange(1, horizon + 1)
    r1 = (history.latest_period + k)[None, :] - history.last_period[:, None] - 1
    slope = history.slopes[history.last_period - history.first_period]
    delta = slope[:, None] * r1 / 2.0
    return history.last_rate[:, None] * np.where(r1 > 0, 1.0 + delta, 1.0)


def crm_margin(amount: np.ndarray, rate: np.ndarray, marketing: np.ndarray) -> np.ndarray:
    """CRM gross margin = amount - product cost - relationship-marketing cost (per period).

    Parameters
    ----------
    amount : numpy.ndarray
        Expected revenue (currency).
    rate : numpy.ndarray
        Gross-margin rate (fraction); product cost = amount x (1 - rate).
    marketing : numpy.ndarray
        Marketing cost (currency).

    Returns
    -------
    numpy.ndarray
        Margin (currency), same shape.
    """
    cost = amount * (1.0 - rate)
    return amount - cost - marketing


def potential_value(spend_per_period: np.ndarray, potential_spend: np.ndarray | None,
                    share_of_wallet: np.ndarray | None, margin_rate: np.ndarray,
                    horizon: int, rate: float) -> np.ndarray:
    """Discounted margin on the spend held by competitors (the wallet we do not have yet).

    Competitors' spend = PotentialSpend x (1 - share of wallet); the share defaults to our
    observed spend / PotentialSpend; without PotentialSpend it is our spend x (1 - s) / s.

    Parameters
    ----------
    spend_per_period : numpy.ndarray
        Our observed spend per period (currency).
    potential_spend : numpy.ndarray, optional
        The customer's total spend in the category per period (currency).
    share_of_wallet : numpy.ndarray, optional
        Our share of it (fraction).
    margin_rate : numpy.ndarray
        Gross-margin rate (fraction).
    horizon : int
        Number of periods.
    rate : float
        Discount rate per period (fraction).

    Returns
    -------
    numpy.ndarray
        Potential value per customer (currency).

    References
    ----------
    .. [1] Peppers, D. and Rogers, M. (2011). Managing Customer Experience and Relationships.
       Wiley (actual and potential value).
    """
    ours = np.asarray(spend_per_period, dtype=float)
    n = len(ours)
    pot = np.full(n, np.nan) if potential_spend is None else np.asarray(potential_spend, float)
    share = np.full(n, np.nan) if share_of_wallet is None else np.asarray(share_of_wallet, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(np.isfinite(share), share,
                         np.where(pot > 0, np.clip(ours / pot, 0, 1), np.nan))
        pot = np.where(np.isfinite(pot), pot, np.where(share > 0, ours / share, np.nan))
    open_wallet = np.clip(pot * (1.0 - share), 0.0, None)
    annuity = discount_factors(horizon, rate).sum()
    return open_wallet * np.nan_to_num(margin_rate, nan=0.0) * annuity


# class label objects by value_matrix's code (0 = BZ, 1 = MVC, 2 = MGC, 3 = Migrator)
_CLASS_OF_CODE = np.array([VALUE_CLASSES[3], *VALUE_CLASSES[:3]], dtype=object)


def value_matrix(actual: np.ndarray, potential: np.ndarray, actual_q: float = 0.5,
                 potential_q: float = 0.5) -> tuple[np.ndarray, float, float]:
    """Peppers & Rogers classes from actual and potential value.

    BZ (actual < 0), MVC (actual at or above its threshold), MGC (potential above its
    threshold), Migrator (the rest). Thresholds are quantiles over the customers with
    non-negative actual value.

    Parameters
    ----------
    actual : numpy.ndarray
        Actual value (CLV) per customer (currency).
    potential : numpy.ndarray
        Potential value per customer (currency).
    actual_q, potential_q : float, default 0.5
        Quantiles (fractions) giving the thresholds.

    Returns
    -------
    tuple of (numpy.ndarray, float, float)
        Class per customer and the actual and potential thresholds (currency).

    References
    ----------
    .. [1] Peppers, D. and Rogers, M. (2011). Managing Customer Experience and Relationships.
       Wiley.
    """
    a = np.asarray(actual, dtype=float)
    p = np.nan_to_num(np.asarray(potential, dtype=float), nan=0.0)
    positive = a >= 0
    ta = float(np.quantile(a[positive], actual_q)) if positive.any() else 0.0
    tp = float(np.quantile(p[positive], potential_q)) if positive.any() else 0.0
    code = np.where(a < 0, 0, np.where(a >= ta, 1, np.where(p > tp, 2, 3)))
    return _CLASS_OF_CODE[code], ta, tp  # shared label objects, not a string per customer


def discounted_clv(model, spend_model, frequency, recency, T, monetary_value, horizon: int,
                   length: float, rate: float, margin=1.0, marketing=0.0) -> np.ndarray:
    """CLV = sum over periods k of CRM gross margin_k / (1 + i)^k, where CRM gross margin_k =
    expected purchases_k x expected spend x margin rate - marketing cost (`crm_margin`).

    The one CLV definition behind ``XV_CLV``, `GammaGammaModel.customer_lifetime_value` and
    the CLV analysis' per-customer clv (which takes each customer's margin-rate path from the
    margin history; with a flat company margin rate that path is the constant MarginRate,
    and XV_CLV with the workbook's settings gives the same numbers).

    Parameters
    ----------
    model : fitted purchase model
        BG/NBD, MBG/NBD, Pareto/NBD or NBD.
    spend_model : GammaGammaModel
        Fitted spend model.
    frequency, recency, T : array_like
        Repeat purchases, recency and age per customer (the model's time unit).
    monetary_value : array_like
        Mean repeat spend per customer (currency).
    horizon : int
        Number of periods.
    length : float
        Length of a period in the model's time unit.
    rate : float
        Discount rate per period (fraction).
    margin : float or array_like, default 1
        Margin rate (fraction) applied to the spend: one for all, or one per customer.
    marketing : float or array_like, default 0
        Relationship-marketing cost per period (currency): one for all, or one per customer.

    Returns
    -------
    numpy.ndarray
        CLV per customer (currency).

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using iso-value
       curves for customer base analysis". Journal of Marketing Research 42(4), 415-430.
    """
    from xlvalue.analytics.models.base import limited_blas_threads

    x = np.asarray(frequency, dtype=float)
    with limited_blas_threads():  # a customers x periods product: no gain from BLAS threads
        purchases = purchases_by_period(model, x, recency, T, horizon, length)
        spend = spend_model.conditional_expected_average_profit(x, monetary_value)
        amount = purchases * np.asarray(spend, dtype=float)[:, None]
        rates = np.broadcast_to(np.asarray(margin, dtype=float), x.shape)[:, None]
        cost = np.broadcast_to(np.asarray(marketing, dtype=float), x.shape)[:, None]
        return crm_margin(amount, rates, cost) @ discount_factors(horizon, rate)
