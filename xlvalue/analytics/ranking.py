"""Ranking customers by value (METHODS.md section 3): deciles, Pareto/ABC, whale curve, tiers.

All functions take per-customer value arrays and sort once; shares are of the total value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlvalue.errors import InputError, Problem

__all__ = ["ABC_LABELS", "TIER_NAMES", "WhaleCurve", "abc_classes", "decile_groups", "decile_table",
           "pareto_table", "tier_table", "value_tiers", "whale_curve"]

TIER_NAMES = ("High", "Higher", "General", "Low")


def _rank_order(values: np.ndarray) -> np.ndarray:
    """Indices sorting values descending; ties keep input order (deterministic)."""
    return np.argsort(-np.asarray(values, dtype=float), kind="stable")


def _total(values: np.ndarray, what: str) -> float:
    total = float(np.sum(values))
    if not np.isfinite(total) or total <= 0:
        raise InputError(Problem(
            f"total {what} is {total:g}; shares of a zero or negative total are undefined"))
    return total


def decile_groups(values: np.ndarray, groups: int = 10) -> np.ndarray:
    """Group 1..groups for each customer: equal-size groups by descending value.

    Parameters
    ----------
    values : numpy.ndarray
        Value per customer (any unit, e.g. currency).
    groups : int, default 10
        Number of groups (10: deciles).

    Returns
    -------
    numpy.ndarray of int64
        Group per customer, 1 = highest values; ties keep input order.
    """
    n = len(values)
    order = _rank_order(values)
    group = np.empty(n, np.int64)
    group[order] = (np.arange(n) * groups) // max(n, 1) + 1
    return group


def decile_table(values: np.ndarray, spend: np.ndarray, transactions: np.ndarray,
                 years: float, groups: int = 10) -> pd.DataFrame:
    """The seed's decile layout: customers, value range, yearly spend, transactions, share.

    Parameters
    ----------
    values : numpy.ndarray
        Ranking value per customer.
    spend : numpy.ndarray
        Spend per customer over the observation (currency).
    transactions : numpy.ndarray
        Transactions per customer.
    years : float
        Length of the observation in years (for the yearly spend).
    groups : int, default 10
        Number of groups.

    Returns
    -------
    pandas.DataFrame
        group, customers, min_value, max_value, avg_yearly_spend (currency per year),
        avg_transactions, spend (currency), share_of_spend and cumulative_share (fractions).

    Raises
    ------
    InputError
        No customers, or a total spend that is zero or negative.

    References
    ----------
    .. [1] Blattberg, R. C., Kim, B.-D. and Neslin, S. A. (2008). Database Marketing, ch. 12
       (decile analysis).
    """
    if len(values) == 0:
        raise InputError(Problem("no customers to rank"))
    g = decile_groups(values, groups)
    total = _total(spend, "spend")
    frame = pd.DataFrame({"group": g, "value": values, "spend": spend, "tx": transactions})
    t = frame.groupby("group").agg(customers=("value", "size"), min_value=("value", "min"),
                                   max_value=("value", "max"), spend=("spend", "sum"),
                                   avg_transactions=("tx", "mean"))
    t = t.reindex(range(1, groups + 1))
    t["customers"] = t["customers"].fillna(0).astype(np.int64)
    t["avg_yearly_spend"] = t["spend"] / t["customers"].replace(0, np.nan) / years
    t["share_of_spend"] = t["spend"] / total
    t["cumulative_share"] = t["share_of_spend"].fillna(0).cumsum()
    t = t.reset_index()
    return t[["group", "customers", "min_value", "max_value", "avg_yearly_spend",
              "avg_transactions", "spend", "share_of_spend", "cumulative_share"]]


ABC_LABELS = np.array(["A", "B", "C"], dtype=object)


def abc_classes(values: np.ndarray, a: float = 0.8, b: float = 0.95) -> np.ndarray:
    """Class A/B/C per customer by cumulative share of value (Pareto / ABC analysis).

    A customer is A while the value of the customers ranked above it is below share `a` of
    the total, B while below `b`, C after.

    Parameters
    ----------
    values : numpy.ndarray
        Value per customer (currency).
    a : float, default 0.8
        Cumulative share (fraction) closing class A.
    b : float, default 0.95
        Cumulative share (fraction) closing class B.

    Returns
    -------
    numpy.ndarray of object
        "A", "B" or "C" per customer.

    Raises
    ------
    InputError
        A total value that is zero or negative.
    """
    total = _total(values, "value")
    order = _rank_order(values)
    before = np.r_[0.0, np.cumsum(values[order])[:-1]] / total
    cls = ABC_LABELS[np.where(before < a, 0, np.where(before < b, 1, 2))]  # shared labels
    out = np.empty(len(values), dtype=object)
    out[order] = cls
    return out


def pareto_table(values: np.ndarray, a: float = 0.8, b: float = 0.95) -> pd.DataFrame:
    """Per ABC class: customers, share of customers, value, share of value, cumulative shares.

    Parameters
    ----------
    values : numpy.ndarray
        Value per customer (currency).
    a, b : float, default 0.8 and 0.95
        Cumulative shares (fractions) closing classes A and B.

    Returns
    -------
    pandas.DataFrame
        class, threshold, customers, share_of_customers, value (currency), share_of_value,
        cumulative_customers, cumulative_value (shares are fractions).
    """
    classes = abc_classes(values, a, b)
    total = _total(values, "value")
    frame = pd.DataFrame({"cls": classes, "value": values})
    t = frame.groupby("cls")["value"].agg(["size", "sum"]).reindex(["A", "B", "C"])
    t = t.fillna(0)
    out = pd.DataFrame({
        "class": ["A", "B", "C"],
        "threshold": [a, b, 1.0],
        "customers": t["size"].astype(np.int64).to_numpy(),
        "share_of_customers": t["size"].to_numpy() / len(values),
        "value": t["sum"].to_numpy(),
        "share_of_value": t["sum"].to_numpy() / total,
    })
    out["cumulative_customers"] = out["share_of_customers"].cumsum()
    out["cumulative_value"] = out["share_of_value"].cumsum()
    return out


@dataclass(frozen=True)
class WhaleCurve:
    """Cumulative % of profit against cumulative % of customers ranked by profit.

    Attributes
    ----------
    curve : pandas.DataFrame
        pct_customers and pct_profit (percent, 0..100 and beyond), sampled.
    peak_pct_profit : float
        Highest cumulative profit (percent of the total).
    peak_pct_customers : float
        Share of customers (percent) at the peak.
    customers_at_peak : int
        Customers up to the peak.
    total_profit : float
        Total profit (currency).

    References
    ----------
    .. [1] Kaplan, R. S. and Cooper, R. (1998). Cost & Effect. Harvard Business School Press
       (the whale curve).
    """

    curve: pd.DataFrame  # pct_customers, pct_profit (0..100), sampled
    peak_pct_profit: float
    peak_pct_customers: float
    customers_at_peak: int
    total_profit: float

    def peak_frame(self) -> pd.DataFrame:
        """The peak as a one-row table.

        Returns
        -------
        pandas.DataFrame
            peak_pct_profit, at_pct_customers (percent), customers_at_peak, total_profit (currency).
        """
        return pd.DataFrame({
            "peak_pct_profit": [self.peak_pct_profit],
            "at_pct_customers": [self.peak_pct_customers],
            "customers_at_peak": [self.customers_at_peak],
            "total_profit": [self.total_profit],
        })


def whale_curve(profit: np.ndarray, points: int = 101) -> WhaleCurve:
    """The whale curve; it peaks above 100 % when some customers lose money (seed 000).

    Parameters
    ----------
    profit : numpy.ndarray
        Profit per customer (currency).
    points : int, default 101
        Points sampled along the customer axis (0..100 %).

    Returns
    -------
    WhaleCurve

    Raises
    ------
    InputError
        A total profit that is zero or negative.
    """
    p = np.asarray(profit, dtype=float)
    total = _total(p, "profit")
    cum = np.cumsum(p[_rank_order(p)]) / total * 100.0
    x = np.arange(1, len(p) + 1) / len(p) * 100.0
    k = int(np.argmax(cum))
    grid = np.linspace(0.0, 100.0, points)
    sampled = np.interp(grid, np.r_[0.0, x], np.r_[0.0, cum])
    return WhaleCurve(pd.DataFrame({"pct_customers": grid, "pct_profit": sampled}),
                      float(cum[k]), float(x[k]), k + 1, total)


def value_tiers(values: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Tier per customer by descending value: the first cuts[0] share is High, and so on.

    Parameters
    ----------
    values : numpy.ndarray
        Value per customer.
    cuts : list of 3 floats
        Increasing cumulative shares of customers (fractions, 0..1) closing the tiers High,
        Higher and General; the rest is Low.

    Returns
    -------
    numpy.ndarray of object
        Tier name per customer.

    Raises
    ------
    InputError
        Cuts that are not three increasing shares between 0 and 1.
    """
    cuts = list(cuts)
    if len(cuts) != len(TIER_NAMES) - 1 or sorted(cuts) != cuts or not all(0 < c < 1 for c in cuts):
        raise InputError(Problem(
            f"TierCuts {cuts} must be {len(TIER_NAMES) - 1} increasing shares between 0 and 1"))
    n = len(values)
    order = _rank_order(values)
    position = (np.arange(n) + 1) / max(n, 1)  # cumulative share of customers, 1/n .. 1
    tier_idx = np.searchsorted(np.asarray(cuts), position - 1e-12, side="right")
    out = np.empty(n, dtype=object)
    out[order] = np.asarray(TIER_NAMES, dtype=object)[tier_idx]
    return out


def tier_table(values: np.ndarray, tiers: np.ndarray) -> pd.DataFrame:
    """Per tier: customers, value range, value and shares.

    Parameters
    ----------
    values : numpy.ndarray
        Value per customer (currency).
    tiers : numpy.ndarray
        Tier per customer (`value_tiers`).

    Returns
    -------
    pandas.DataFrame
        tier, customers, share_of_customers, min_value, max_value, value, share_of_value.
    """
    total = float(np.sum(values))
    frame = pd.DataFrame({"tier": tiers, "value": values})
    t = frame.groupby("tier")["value"].agg(["size", "sum", "min", "max"]).reindex(list(TIER_NAMES))
    return pd.DataFrame({
        "tier": list(TIER_NAMES),
        "customers": t["size"].fillna(0).astype(np.int64).to_numpy(),
        "share_of_customers": t["size"].fillna(0).to_numpy() / max(len(values), 1),
        "min_value": t["min"].to_numpy(),
        "max_value": t["max"].to_numpy(),
        "value": t["sum"].fillna(0).to_numpy(),
        "share_of_value": t["sum"].fillna(0).to_numpy() / total if total else 0.0,
    })
