"""Weighted indicator scores (METHODS.md section 7): normalise, weight, penalise, rank.

A score model is a table of indicators (group, weight, direction, normalisation, bounds).
Positive weights make up the score (0..100); negative weights are penalty ranges: a penalty
item subtracts between |Weight| and |WeightMax| points as its normalised value goes 0 -> 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr  # the standard normal CDF (scipy.stats costs 0.4 s to import)

from xlvalue.analytics.ranking import value_tiers
from xlvalue.errors import InputError, Problem

__all__ = ["DIRECTIONS", "NORMALISATIONS", "ScoreResult", "biggest_movers", "check_weights",
           "is_penalty", "normalise", "score_customers"]

NORMALISATIONS = ("minmax", "percentile", "zscore", "expert")
DIRECTIONS = ("higher", "lower")


@dataclass
class ScoreResult:
    """Scores of every customer and the model as used.

    Attributes
    ----------
    table : pandas.DataFrame
        Per customer: score (points, 0..100 less penalties), group subtotals, penalty, ranks,
        rank change against the revenue rank, tier.
    weights : pandas.DataFrame
        The model as used (weights in points, rescaled to 100 if needed).
    warnings : list of str
        Notes for the user (rescaled weights, filled missing values).
    """
    table: pd.DataFrame  # per customer: score, group subtotals, penalty, ranks, tier
    weights: pd.DataFrame  # the model as used (weights in points, normalised if needed)
    warnings: list[str] = field(default_factory=list)


def normalise(values: np.ndarray, method: str, direction: str = "higher",
              lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Map raw indicator values to 0..1 (1 = best, or most penalised for penalties).

    Parameters
    ----------
    values : numpy.ndarray
        Raw indicator values (the indicator's unit).
    method : {"minmax", "percentile", "zscore", "expert"}
        Min-max scaling, percentile rank, normal CDF of the z-score, or linear between the
        expert bounds `lo` and `hi` (clipped).
    direction : {"higher", "lower"}, default "higher"
        Whether higher raw values are better.
    lo, hi : float, optional
        Expert bounds (the indicator's unit); required for "expert".

    Returns
    -------
    numpy.ndarray
        Values in 0..1 (NaN stays NaN).

    Raises
    ------
    InputError
        Unknown method, or expert bounds missing or not Min < Max.
    """
    v = np.asarray(values, dtype=float)
    if method == "minmax":
        vmin, vmax = np.nanmin(v), np.nanmax(v)
        out = (v - vmin) / (vmax - vmin) if vmax > vmin else np.full_like(v, 0.5)
    elif method == "percentile":
        out = pd.Series(v).rank(method="average", pct=True).to_numpy()
    elif method == "zscore":
        sd = np.nanstd(v)
        z = (v - np.nanmean(v)) / sd if sd > 0 else np.zeros_like(v)
        out = ndtr(z)  # z mapped to 0..1 through the normal CDF
    elif method == "expert":
        if lo is None or hi is None or not hi > lo:
            raise InputError(Problem("expert normalisation needs Min < Max bounds"))
        out = np.clip((v - lo) / (hi - lo), 0.0, 1.0)
    else:
        raise InputError(Problem(f"unknown normalisation {method!r}; expected one of "
                                 f"{', '.join(NORMALISATIONS)}"))
    return 1.0 - out if direction == "lower" else out


def is_penalty(model: pd.DataFrame) -> pd.Series:
    """Penalty items: a negative Weight or WeightMax (the range of points they subtract).

    Parameters
    ----------
    model : pandas.DataFrame
        The score model (Weight, optionally WeightMax).

    Returns
    -------
    pandas.Series of bool
    """
    wmax = model["WeightMax"] if "WeightMax" in model else pd.Series(np.nan, index=model.index)
    return (model["Weight"] < 0) | (wmax.fillna(0) < 0)


def check_weights(model: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Express positive weights as points summing to 100; warn when they had to be rescaled.

    Parameters
    ----------
    model : pandas.DataFrame
        The score model (Weight in points or fractions, optionally WeightMax).

    Returns
    -------
    tuple of (pandas.DataFrame, list of str)
        The model with weights in points, and the warnings.

    Raises
    ------
    InputError
        When no weight is positive.
    """
    m = model.copy()
    warnings: list[str] = []
    positive = ~is_penalty(m) & (m["Weight"] > 0)
    total = float(m.loc[positive, "Weight"].sum())
    if total <= 0:
        raise InputError(Problem("the score model has no positive weight"))
    scale = 1.0
    if abs(total - 100.0) < 1e-6:
        scale = 1.0
    elif abs(total - 1.0) < 1e-9:
        scale = 100.0
    else:
        scale = 100.0 / total
        warnings.append(f"positive weights sum to {total:g}, not 100 %: rescaled to 100")
    m["Weight"] = m["Weight"] * scale
    if "WeightMax" in m:
        m["WeightMax"] = m["WeightMax"] * scale
    return m, warnings


def score_customers(model: pd.DataFrame, inputs: pd.DataFrame, revenue: str | None = None,
                    missing: str = "error", tier_cuts: list[float] | None = None) -> ScoreResult:
    """Score every customer (rows of `inputs`, indexed by customer id) with the model.

    Parameters
    ----------
    model : pandas.DataFrame
        Indicator, Weight (points; negative = penalty), optionally WeightMax, Group,
        Direction, Normalisation, Min, Max.
    inputs : pandas.DataFrame
        One column per indicator (its own unit), indexed by customer id.
    revenue : str, optional
        Column ranked for the rank change (default: the first indicator).
    missing : {"error", "zero", "mean"}, default "error"
        Empty cells: reported as errors; the worst normalised value; the indicator's mean.
    tier_cuts : list of 3 floats, optional
        Cumulative customer shares closing the tiers (default 0.05, 0.2, 0.5).

    Returns
    -------
    ScoreResult

    Raises
    ------
    InputError
        Indicators without a column, missing values with ``missing="error"``, a revenue column
        that is absent.

    References
    ----------
    .. [1] Peppers, D. and Rogers, M. (2011). Managing Customer Experience and Relationships.
       Wiley (weighted customer-value scores).
    """
    m, warnings = check_weights(model)
    names = list(m["Indicator"])
    absent = [n for n in names if n not in inputs.columns]
    if absent:
        raise InputError(Problem(f"indicator(s) {', '.join(absent)} have no column in the score "
                                 f"inputs (columns: {', '.join(map(str, inputs.columns))})"))
    values = inputs[names].astype(float)
    holes = values.isna()
    if holes.to_numpy().any():
        count = int(holes.to_numpy().sum())
        if missing == "error":
            first = holes.stack()
            first = first[first].index[:5]
            where = ", ".join(f"{cust}/{ind}" for cust, ind in first)
            raise InputError(Problem(f"{count} indicator value(s) are missing (e.g. {where}); "
                                     "fill them or set ScoreMissing to zero or mean"))
        warnings.append(f"{count} missing indicator value(s) filled with the {missing}")
    n = len(values)
    total = np.zeros(n)
    penalty = np.zeros(n)
    groups: dict[str, np.ndarray] = {}
    for row in m.itertuples(index=False):  # loop over indicators (tens), not customers
        raw = values[row.Indicator].to_numpy()
        lo = getattr(row, "Min", None)
        hi = getattr(row, "Max", None)
        lo = None if lo is None or pd.isna(lo) else float(lo)
        hi = None if hi is None or pd.isna(hi) else float(hi)
        direction = (getattr(row, "Direction", "") or "higher").lower()
        method = (getattr(row, "Normalisation", "") or "minmax").lower()
        x = normalise(raw, method, direction, lo, hi)
        if missing == "zero":
            x = np.where(np.isnan(x), 0.0, x)
        elif missing == "mean":
            x = np.where(np.isnan(x), np.nanmean(x), x)
        wmax = getattr(row, "WeightMax", np.nan)
        wmax = row.Weight if wmax is None or pd.isna(wmax) else float(wmax)
        if row.Weight < 0 or wmax < 0:  # penalty: from Weight at 0 to WeightMax at 1
            points = row.Weight + (wmax - row.Weight) * x
            penalty += points
        else:
            points = row.Weight * x
            total += points
        group = str(getattr(row, "Group", "") or row.Indicator)
        groups[group] = groups.get(group, np.zeros(n)) + points
    score = total + penalty
    out = pd.DataFrame({"customer_id": inputs.index.astype(str), "score": score,
                        "positive_points": total, "penalty": penalty})
    for g, pts in groups.items():
        out[f"group: {g}"] = pts
    out["rank"] = pd.Series(-score).rank(method="min").astype(np.int64).to_numpy()
    rev_name = revenue or names[0]
    if rev_name not in inputs.columns:
        raise InputError(Problem(f"revenue column {rev_name!r} (ScoreRevenue) is not among the "
                                 "score inputs"))
    rev = inputs[rev_name].astype(float).to_numpy()
    out["revenue"] = rev
    out["revenue_rank"] = pd.Series(-rev).rank(method="min").astype(np.int64).to_numpy()
    out["rank_change"] = out["revenue_rank"] - out["rank"]
    out["tier"] = value_tiers(score, tier_cuts or [0.05, 0.2, 0.5])
    return ScoreResult(out, m, warnings)


def biggest_movers(table: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """Customers whose score rank differs most from their revenue rank.

    Parameters
    ----------
    table : pandas.DataFrame
        The `ScoreResult` table.
    count : int, default 10
        Customers returned.

    Returns
    -------
    pandas.DataFrame
        customer_id, revenue_rank, rank, rank_change, score.
    """
    order = table["rank_change"].abs().sort_values(ascending=False, kind="stable").index[:count]
    return table.loc[order, ["customer_id", "revenue_rank", "rank", "rank_change", "score"]]
