"""RFM: the scoring summary (marketing convention) and the repeat-purchase summary (BTYD).

METHODS.md section 2. Both summaries are vectorised reductions over `PurchaseDays`, which is
sorted by customer then day, so each customer's first and last rows are found by position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlvalue.analytics.transactions import (
    DAYS_PER_UNIT,
    PurchaseDays,
    TransactionLog,
    day_to_date,
    period_index,
    purchase_days,
)
from xlvalue.errors import InputError, Problem

__all__ = ["DEFAULT_SEGMENTS", "CustomerRuns", "QuantileScores", "RFMScores", "assign_segments",
           "bin_table", "calibration_holdout", "cell_codes", "default_segments", "quantile_scores",
           "repeat_summary", "rfm_summary", "score_rfm", "segment_summary"]

# The widely used 11-segment scheme on the R x F grid of 5-point scores; exhaustive and
# non-overlapping for 5 bins, so every customer gets exactly one segment.
DEFAULT_SEGMENTS: tuple[tuple[str, int, int, int, int, str], ...] = (
    ("Champions", 5, 5, 4, 5, "Reward; early adopters for new products"),
    ("Loyal", 3, 4, 4, 5, "Upsell higher-value products; ask for reviews"),
    ("Potential loyalist", 4, 5, 2, 3, "Offer membership or loyalty programme"),
    ("New", 5, 5, 1, 1, "Onboarding support; build the relationship"),
    ("Promising", 4, 4, 1, 1, "Create brand awareness; free trials"),
    ("Need attention", 3, 3, 3, 3, "Limited-time offers based on past purchases"),
    ("About to sleep", 3, 3, 1, 2, "Share valuable resources; reconnect"),
    ("At risk", 1, 2, 3, 4, "Personalised emails; renewals"),
    ("Cannot lose them", 1, 2, 5, 5, "Win them back; talk to them"),
    ("Hibernating", 2, 2, 1, 2, "Offer relevant products and special discounts"),
    ("Lost", 1, 1, 1, 2, "Revive interest with a reach-out campaign, or ignore"),
)


@dataclass(frozen=True)
class CustomerRuns:
    """Where each customer's rows start in rows sorted by customer (purchase days are).

    Per-customer sums are then np.add.reduceat over the runs: no per-row index conversions or
    float copies of integer columns, which matter on 10M-row logs.

    Attributes
    ----------
    n : int
        Customers in the log (codes 0..n-1).
    present : numpy.ndarray of bool
        Customers with at least one row.
    starts : numpy.ndarray of int
        First row of each present customer's run.
    counts : numpy.ndarray of int64
        Rows per customer (all n).
    """

    n: int  # customers in the log (codes 0..n-1)
    present: np.ndarray  # customers with at least one row
    starts: np.ndarray  # first row of each present customer's run
    counts: np.ndarray  # rows per customer (all n)

    @classmethod
    def of(cls, code: np.ndarray, n: int) -> CustomerRuns:
        """Runs of sorted codes, from where the code changes (no per-row index copies).

        Parameters
        ----------
        code : numpy.ndarray of int
            Customer codes, sorted.
        n : int
            Number of customers.

        Returns
        -------
        CustomerRuns
        """
        new = np.empty(len(code), bool)
        if len(code):
            new[0] = True
            np.not_equal(code[1:], code[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        del new
        counts = np.zeros(n, np.int64)
        present = np.zeros(n, bool)
        if len(starts):
            who = code[starts]
            counts[who] = np.diff(np.append(starts, len(code)))
            present[who] = True
        return cls(n, present, starts, counts)

    def sum(self, values: np.ndarray, dtype=float) -> np.ndarray:
        """Sum of values over each customer's rows (0 for customers without rows).

        Integer and flag columns are summed in int32 (no int64 copy of a 10M-row column); a
        broadcast constant (an all-zero column) is value x rows.

        Parameters
        ----------
        values : numpy.ndarray
            One value per row, in the rows' order.
        dtype : numpy dtype, default float
            Type of the result.

        Returns
        -------
        numpy.ndarray
            One sum per customer (length n).
        """
        out = np.zeros(self.n, dtype)
        if not len(self.starts):
            return out
        if values.ndim and values.strides[0] == 0:
            out[self.present] = values[0] * self.counts[self.present]
            return out
        acc = np.int32 if values.dtype.kind in "biu" and values.dtype.itemsize <= 4 else None
        out[self.present] = np.add.reduceat(values, self.starts, dtype=acc)
        return out

    def first(self, values: np.ndarray) -> np.ndarray:
        """Each customer's value at its first row.

        Parameters
        ----------
        values : numpy.ndarray of int
            One value per row (e.g. day numbers).

        Returns
        -------
        numpy.ndarray of int64
            One value per customer (0 without rows).
        """
        out = np.zeros(self.n, np.int64)
        out[self.present] = values[self.starts]
        return out

    def last(self, values: np.ndarray) -> np.ndarray:
        """Each customer's value at its last row.

        Parameters
        ----------
        values : numpy.ndarray of int
            One value per row (e.g. day numbers).

        Returns
        -------
        numpy.ndarray of int64
            One value per customer (0 without rows).
        """
        out = np.zeros(self.n, np.int64)
        out[self.present] = values[self.starts + self.counts[self.present] - 1]
        return out


def _first_last(code: np.ndarray, day: np.ndarray, n: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First day, last day and row count per customer, from rows sorted by (code, day)."""
    runs = CustomerRuns.of(code, n)
    return runs.first(day), runs.last(day), runs.counts


def _period_runs(code: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows that open a new (customer, value) run, for rows sorted by customer and then by a
    key that `values` never decreases along (days -> periods)."""
    new = np.empty(len(code), bool)
    if len(code):
        new[0] = True
        new[1:] = code[1:] != code[:-1]
        new[1:] |= values[1:] != values[:-1]
    return new


def rfm_summary(log: TransactionLog, as_of: int, period_unit: str = "month",
                frequency_mode: str = "purchases", monetary_mode: str = "mean",
                days: PurchaseDays | None = None) -> pd.DataFrame:
    """RFM scoring summary per customer (METHODS 2a), over transactions up to `as_of`.

    recency_days counts from the last purchase day (a day with a non-negative row); returns
    are kept: they reduce total_spend and monetary and are counted in `returns`.

    Parameters
    ----------
    log : TransactionLog
        The transactions.
    as_of : int
        Analysis date in days since 1970-01-01; later rows are ignored.
    period_unit : {"day", "week", "month", "quarter", "year"}, default "month"
        Period of ``periods_active`` and ``r1``.
    frequency_mode : {"purchases", "days"}, default "purchases"
        Frequency as purchase rows, or as purchase days.
    monetary_mode : {"mean", "total"}, default "mean"
        Monetary as spend per purchase (currency), or total spend.
    days : PurchaseDays, optional
        ``purchase_days(log.until(as_of))`` when the caller shares it with `repeat_summary`.

    Returns
    -------
    pandas.DataFrame
        One row per customer with a purchase: customer_id, first_purchase, last_purchase
        (dates), recency_days (days), frequency (count), monetary, total_spend, total_margin,
        return_amount (currency), returns (count), periods_active, r1 (periods since the last
        purchase).

    References
    ----------
    .. [1] Hughes, A. M. (1994). Strategic Database Marketing. Probus (RFM scoring).
    """
    log = log.until(as_of)
    days = days if days is not None else purchase_days(log)
    n = log.n_customers
    runs = CustomerRuns.of(days.code, n)
    # first/last purchase and frequency-by-days use days with at least one non-return row
    buy = days.is_purchase
    if buy.all():  # no return-only days: the runs are the purchase days
        first_day, last_day, buy_counts = runs.first(days.day), runs.last(days.day), runs.counts
    else:
        first_day, last_day, buy_counts = _first_last(days.code[buy], days.day[buy], n)
    del buy
    has_buy = buy_counts > 0
    purchases = runs.sum(days.purchases, np.int64)
    frequency = purchases if frequency_mode == "purchases" else buy_counts
    total = runs.sum(days.amount)
    margin = days.margin_total(total, runs.sum)
    returns = runs.sum(days.returns, np.int64)
    return_amount = runs.sum(days.return_amount)
    periods = period_index(days.day, period_unit)
    periods_active = runs.sum(_period_runs(days.code, periods), np.int64)
    del periods
    r1 = period_index(as_of, period_unit) - period_index(last_day, period_unit)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, total / np.maximum(frequency, 1), 0.0) \
            if monetary_mode == "mean" else total
    out = pd.DataFrame({
        "customer_id": log.customer_ids,
        "first_purchase": day_to_date(first_day),
        "last_purchase": day_to_date(last_day),
        "recency_days": (as_of - last_day).astype(np.int64),
        "frequency": frequency.astype(np.int64),
        "monetary": monetary,
        "total_spend": total,
        "total_margin": margin,
        "returns": returns,
        "return_amount": return_amount,
        "periods_active": periods_active,
        "r1": r1.astype(np.int64),
    }, copy=False)  # one block per column: no consolidation copy of a million rows
    keep = runs.present & has_buy
    return out if keep.all() else out[keep].reset_index(drop=True)


def repeat_summary(log: TransactionLog, observation_end: int, unit: str = "weeks",
                   days: PurchaseDays | None = None, include_first: bool = False) -> pd.DataFrame:
    """Repeat-purchase summary (METHODS 2b; the BTYD / lifetimes convention).

    Parameters
    ----------
    log : TransactionLog
        The transactions.
    observation_end : int
        End of the observation in days since 1970-01-01 (inclusive).
    unit : {"days", "weeks"}, default "weeks"
        Unit of recency and T.
    days : PurchaseDays, optional
        ``purchase_days(log.until(observation_end))`` computed for `rfm_summary`.
    include_first : bool, default False
        Count the first purchase day in frequency and monetary_value too (lifetimes'
        ``include_first_transaction``; not for the models, which expect repeat purchases).

    Returns
    -------
    pandas.DataFrame
        One row per customer with a purchase day: customer_id, frequency (purchase days - 1),
        recency (last - first purchase day, in `unit`), T (observation_end - first purchase
        day, in `unit`), monetary_value (mean net amount of the repeat purchase days,
        currency; 0 without repeats). Days with returns only are not purchase days.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
       easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
    """
    scale = DAYS_PER_UNIT[unit]
    log = log.until(observation_end)
    d = days if days is not None else purchase_days(log, with_margin=False, with_returns=False)
    buy = d.is_purchase
    if buy.all():  # no return-only days: use the arrays as they are, no copies
        code, day, amount = d.code, d.day, d.amount
    else:
        code, day, amount = d.code[buy], d.day[buy], d.amount[buy]
    del d, buy
    runs = CustomerRuns.of(code, log.n_customers)
    has = runs.present
    first_day, last_day = runs.first(day)[has], runs.last(day)[has]
    first_amount = amount[runs.starts]
    total = runs.sum(amount)[has]
    spend = total if include_first else total - first_amount
    freq = runs.counts[has] - (0 if include_first else 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(freq > 0, spend / np.maximum(freq, 1), 0.0)
    return pd.DataFrame({
        "customer_id": log.customer_ids[has],
        "frequency": freq.astype(np.int64),
        "recency": (last_day - first_day) / scale,
        "T": (observation_end - first_day) / scale,
        "monetary_value": monetary,
    }, copy=False)


def calibration_holdout(log: TransactionLog, calibration_end: int, observation_end: int,
                        unit: str = "weeks", include_first: bool = False,
                        days: PurchaseDays | None = None) -> pd.DataFrame:
    """Calibration summary plus holdout repeat purchases, for customers born by calibration_end.

    Parameters
    ----------
    log : TransactionLog
        The transactions.
    calibration_end : int
        Last day of the calibration period (days since 1970-01-01, inclusive).
    observation_end : int
        Last day of the holdout period (days since 1970-01-01, inclusive).
    unit : {"days", "weeks"}, default "weeks"
        Unit of recency, T and the holdout duration.
    include_first : bool, default False
        As in `repeat_summary`.
    days : PurchaseDays, optional
        The log's purchase days (a log reduced on a cluster has no rows).

    Returns
    -------
    pandas.DataFrame
        customer_id, the `repeat_summary` columns at `calibration_end` suffixed ``_cal``,
        frequency_holdout (purchase days in (calibration_end, observation_end]),
        monetary_value_holdout (their mean net amount, currency) and duration_holdout (in
        `unit`).

    Raises
    ------
    InputError
        When `observation_end` is not after `calibration_end`.

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing
       Science 24(2): the 39 + 39 week CDNOW split.
    """
    if observation_end <= calibration_end:
        raise InputError(Problem("the observation end must be after the calibration end"))
    cal = repeat_summary(log, calibration_end, unit, include_first=include_first,
                         days=days.until(calibration_end) if days is not None else None)
    d = days.until(observation_end) if days is not None else \
        purchase_days(log.until(observation_end))
    hold = d.is_purchase & (d.day > calibration_end)
    n = log.n_customers
    f_hold = np.bincount(d.code[hold], minlength=n)
    m_hold = np.bincount(d.code[hold], weights=d.amount[hold], minlength=n)
    codes = pd.Index(log.customer_ids).get_indexer(cal["customer_id"])
    out = cal.add_suffix("_cal").rename(columns={"customer_id_cal": "customer_id"})
    out["frequency_holdout"] = f_hold[codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["monetary_value_holdout"] = np.where(
            f_hold[codes] > 0, m_hold[codes] / np.maximum(f_hold[codes], 1), 0.0)
    out["duration_holdout"] = (observation_end - calibration_end) / DAYS_PER_UNIT[unit]
    return out


# ---- scores and segments -----------------------------------------------------------------

@dataclass(frozen=True)
class QuantileScores:
    """Scores 1..n of one variable and the cut edges used.

    Attributes
    ----------
    scores : numpy.ndarray of int64
        Score of each value, 1 = worst .. n = best.
    edges : numpy.ndarray of float
        The n - 1 cut points, in the variable's own units.
    """

    scores: np.ndarray
    edges: np.ndarray


def quantile_scores(values: np.ndarray, n: int = 5, higher_is_better: bool = True
                    ) -> QuantileScores:
    """Score values into n quantile bins, 1 = worst .. n = best.

    Edges are the k/n quantiles of the values (oriented so that higher is better); a value is
    scored by how many edges lie strictly below it, so equal values always share a score, scores
    never decrease with value, and a bin whose edges coincide is simply left empty.

    Parameters
    ----------
    values : array_like of float
        The variable (any unit: days, purchases, currency).
    n : int, default 5
        Number of bins.
    higher_is_better : bool, default True
        False for recency (fewer days since the last purchase is better).

    Returns
    -------
    QuantileScores
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return QuantileScores(np.zeros(0, np.int64), np.zeros(n - 1))
    oriented = v if higher_is_better else -v
    edges = np.quantile(oriented, np.arange(1, n) / n)
    scores = np.searchsorted(edges, oriented, side="left") + 1
    return QuantileScores(scores.astype(np.int64), edges if higher_is_better else -edges)


def default_segments(bins: int = 5) -> pd.DataFrame:
    """The default 11-segment table (R x F grid on 5-point scores).

    Parameters
    ----------
    bins : int, default 5
        Number of score bins (the M range of every rule is 1..bins).

    Returns
    -------
    pandas.DataFrame
        Columns Segment, RMin, RMax, FMin, FMax, MMin, MMax, Action, in priority order.
    """
    rows = [dict(Segment=s, RMin=a, RMax=b, FMin=c, FMax=d, MMin=1, MMax=bins, Action=act)
            for s, a, b, c, d, act in DEFAULT_SEGMENTS]
    return pd.DataFrame(rows)


def assign_segments(r: np.ndarray, f: np.ndarray, m: np.ndarray, rules: pd.DataFrame,
                    unmatched: str = "Unclassified") -> np.ndarray:
    """Segment names from ordered score-range rules; the first matching rule wins.

    Parameters
    ----------
    r, f, m : numpy.ndarray of int
        R, F and M scores per customer.
    rules : pandas.DataFrame
        Columns Segment, RMin, RMax, FMin, FMax and optionally MMin, MMax (inclusive score
        ranges), in priority order.
    unmatched : str, default "Unclassified"
        Name given to customers no rule matches.

    Returns
    -------
    numpy.ndarray of object
        Segment name per customer.
    """
    out = np.full(len(r), unmatched, dtype=object)
    free = np.ones(len(r), bool)
    for rule in rules.itertuples(index=False):  # loop over a handful of rules, not customers
        mmin = rule.MMin if "MMin" in rules and pd.notna(rule.MMin) else -np.inf
        mmax = rule.MMax if "MMax" in rules and pd.notna(rule.MMax) else np.inf
        hit = free & (r >= rule.RMin) & (r <= rule.RMax) & (f >= rule.FMin) & (f <= rule.FMax) \
            & (m >= mmin) & (m <= mmax)
        out[hit] = rule.Segment
        free &= ~hit
    return out


@dataclass(frozen=True)
class RFMScores:
    """Per-customer scores plus the bin table.

    Attributes
    ----------
    table : pandas.DataFrame
        The RFM summary with R, F, M, rfm_cell, rfm_score and segment added.
    bins : pandas.DataFrame
        Per dimension and score: observed value range and customers (`bin_table`).
    """

    table: pd.DataFrame
    bins: pd.DataFrame


def score_rfm(summary: pd.DataFrame, bins: int = 5, weights: tuple[float, float, float] = (1, 1, 1),
              segments: pd.DataFrame | None = None) -> RFMScores:
    """Add R, F, M scores, the cell code ('545'), the weighted score and the segment.

    Parameters
    ----------
    summary : pandas.DataFrame
        An `rfm_summary` table (recency_days, frequency, monetary).
    bins : int, default 5
        Number of quantile bins per dimension.
    weights : tuple of 3 floats, default (1, 1, 1)
        Weights of R, F and M in ``rfm_score``.
    segments : pandas.DataFrame, optional
        Segment rules as `assign_segments` takes them; default `default_segments`.

    Returns
    -------
    RFMScores
    """
    out = summary.copy(deep=False)  # only columns are added: the summary's data is shared
    rq = quantile_scores(out["recency_days"].to_numpy(), bins, higher_is_better=False)
    fq = quantile_scores(out["frequency"].to_numpy(), bins)
    mq = quantile_scores(out["monetary"].to_numpy(), bins)
    out["R"], out["F"], out["M"] = rq.scores, fq.scores, mq.scores
    out["rfm_cell"] = cell_codes(rq.scores, fq.scores, mq.scores, bins)
    wr, wf, wm = weights
    out["rfm_score"] = wr * out["R"] + wf * out["F"] + wm * out["M"]
    rules = default_segments(bins) if segments is None or segments.empty else segments
    out["segment"] = assign_segments(out["R"].to_numpy(), out["F"].to_numpy(),
                                     out["M"].to_numpy(), rules)
    return RFMScores(out, bin_table(out, bins))


def cell_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray, bins: int) -> np.ndarray:
    """The cell code of each customer ('545'): built once per distinct (R, F, M) and shared.

    Parameters
    ----------
    r, f, m : numpy.ndarray of int
        Scores per customer.
    bins : int
        Number of score bins.

    Returns
    -------
    numpy.ndarray of object
        Three-digit text per customer.
    """
    base = bins + 1
    key = (np.asarray(r, np.int64) * base + np.asarray(f, np.int64)) * base + np.asarray(m, np.int64)
    codes, uniq = pd.factorize(key)
    labels = np.array([f"{k // (base * base)}{k // base % base}{k % base}" for k in uniq],
                      dtype=object)
    return labels[codes]


def bin_table(scored: pd.DataFrame, bins: int) -> pd.DataFrame:
    """Per dimension and score: observed value range and customers.

    Parameters
    ----------
    scored : pandas.DataFrame
        A scored table (R, F, M, recency_days, frequency, monetary).
    bins : int
        Number of score bins.

    Returns
    -------
    pandas.DataFrame
        Columns dimension, variable, score, min_value, max_value (the variable's units),
        customers.
    """
    frames = []
    for dim, col in (("R", "recency_days"), ("F", "frequency"), ("M", "monetary")):
        g = scored.groupby(dim)[col].agg(["min", "max", "size"])
        g = g.reindex(range(1, bins + 1))
        frames.append(pd.DataFrame({
            "dimension": dim, "variable": col, "score": g.index.to_numpy(),
            "min_value": g["min"].to_numpy(), "max_value": g["max"].to_numpy(),
            "customers": g["size"].fillna(0).astype(np.int64).to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def segment_summary(scored: pd.DataFrame, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """Customers, share and value per segment, in the order of the rules table.

    Parameters
    ----------
    scored : pandas.DataFrame
        A scored table with segment, recency_days, frequency, monetary and total_spend.
    rules : pandas.DataFrame, optional
        The segment rules (their order, and Action when present).

    Returns
    -------
    pandas.DataFrame
        segment, customers, avg_recency_days (days), avg_frequency, avg_monetary and
        total_spend (currency), share_customers and share_spend (fractions), action.
    """
    total_spend = scored["total_spend"].sum()
    g = scored.groupby("segment", sort=False).agg(
        customers=("customer_id", "size"), avg_recency_days=("recency_days", "mean"),
        avg_frequency=("frequency", "mean"), avg_monetary=("monetary", "mean"),
        total_spend=("total_spend", "sum"))
    order = list(rules["Segment"]) if rules is not None and not rules.empty else []
    order += [s for s in g.index if s not in order]
    g = g.reindex([s for s in order if s in g.index])
    g["share_customers"] = g["customers"] / max(len(scored), 1)
    g["share_spend"] = g["total_spend"] / total_spend if total_spend else 0.0
    if rules is not None and "Action" in rules:
        g["action"] = rules.set_index("Segment")["Action"].reindex(g.index).fillna("").to_numpy()
    return g.reset_index(names="segment")
