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
    """Group 1..groups for each customer, equal-size groups by descending value."""
    n = len(values)
    order = _rank_order(values)
    group = np.empty(n, np.int64)
    group[order] = (np.arange(n) * groups) // max(n, 1) + 1
    return group


def decile_table(values: np.ndarray, spend: np.ndarray, transactions: np.ndarray,
                 years: float, groups: int = 10) -> pd.DataFrame:
    """The seed's decile layout: customers, value range, yearly spend, transactions, share."""
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
    """Class A/B/C per customer: A while the value of the customers above is below a, etc."""
    total = _total(values, "value")
    order = _rank_order(values)
    before = np.r_[0.0, np.cumsum(values[order])[:-1]] / total
    cls = ABC_LABELS[np.where(before < a, 0, np.where(before < b, 1, 2))]  # shared labels
    out = np.empty(len(values), dtype=object)
    out[order] = cls
    return out


def pareto_table(values: np.ndarray, a: float = 0.8, b: float = 0.95) -> pd.DataFrame:
    """Per class: customers, share of customers, value, share of value, cumulative shares."""
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
    """Cumulative % of profit against cumulative % of customers ranked by profit."""

    curve: pd.DataFrame  # pct_customers, pct_profit (0..100), sampled
    peak_pct_profit: float
    peak_pct_customers: float
    customers_at_peak: int
    total_profit: float

    def peak_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "peak_pct_profit": [self.peak_pct_profit],
            "at_pct_customers": [self.peak_pct_customers],
            "customers_at_peak": [self.customers_at_peak],
            "total_profit": [self.total_profit],
        })


def whale_curve(profit: np.ndarray, points: int = 101) -> WhaleCurve:
    """The whale curve; peaks above 100 % when some customers lose money (seed 000)."""
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
    """Tier per customer by descending value: the first cuts[0] share is High, and so on."""
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
