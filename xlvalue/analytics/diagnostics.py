"""The standard BTYD diagnostics as tables (the workbook charts them): tracking of cumulative
repeat purchases, period transactions, the P(alive) matrix and the conditional expectations
of the holdout. They are the quantities
lifetimes' `plotting` module draws (plot_cumulative_transactions, plot_period_transactions,
plot_probability_alive_matrix), computed exactly where lifetimes simulates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from xlvalue.analytics.models.base import compress

__all__ = ["alive_matrix", "conditional_expectations", "period_transactions", "tracking"]

EPOCH = np.datetime64("1970-01-01", "D")


def tracking(model, first_days: np.ndarray, repeat_days: np.ndarray, start: int, end: int,
             unit_days: float, calibration_end: int | None = None) -> pd.DataFrame:
    """Cumulative repeat purchases per week, actual and expected, from `start` to `end`.

    Parameters
    ----------
    model : fitted purchase model
        Gives E[X(t)] of a new customer (expected_number_of_purchases_up_to_time).
    first_days, repeat_days : numpy.ndarray of int
        Each customer's first purchase day; every later purchase day (days since 1970-01-01).
    start, end : int
        First and last day tracked (days since 1970-01-01, inclusive).
    unit_days : float
        Days per model time unit (7 for weeks).
    calibration_end : int, optional
        Last calibration day: weeks after it are marked holdout.

    Returns
    -------
    pandas.DataFrame
        week (1, 2, ...), week_ending (date), period (calibration / holdout), actual and model
        (cumulative repeat purchases up to the week's end). As lifetimes'
        expected_cumulative_transactions with freq="D", freq_multiplier=7: week j covers the
        first 7 j days; the model sums E[X(7 j - s)] over customers first seen on day s < 7 j.
    """
    weeks = max(int((end - start + 1) // 7), 1)
    edges = start + 7 * np.arange(1, weeks + 1)  # exclusive ends of the weeks
    actual = np.searchsorted(np.sort(repeat_days), edges, side="left").astype(float)
    births, counts = np.unique(np.asarray(first_days), return_counts=True)
    age = (edges[:, None] - births[None, :]) / unit_days  # weeks x birth days
    born = age > 0
    expected = np.where(born, model.expected_number_of_purchases_up_to_time(
        np.where(born, age, 0.0)), 0.0) @ counts
    ending = (EPOCH + (edges - 1).astype("timedelta64[D]")).astype("datetime64[ns]")
    if calibration_end is not None:
        period = np.where(edges - 1 <= calibration_end, "calibration", "holdout")
    else:
        period = np.full(weeks, "calibration")
    return pd.DataFrame({"week": np.arange(1, weeks + 1), "week_ending": ending,
                         "period": period, "actual": actual, "model": expected})


def period_transactions(model, frequency, T, max_frequency: int = 7, seed: int = 0
                        ) -> pd.DataFrame:
    """Customers by number of repeat purchases, actual and expected by the model.

    Parameters
    ----------
    model : fitted purchase model
    frequency, T : array_like
        Repeat purchases and age of each customer (model time units).
    max_frequency : int, default 7
        Rows 0 .. max_frequency - 1 as lifetimes' plot_period_transactions shows them, then
        one "max_frequency+" row.
    seed : int
        Seed of the simulation for models without a closed-form P(X(t) = x).

    Returns
    -------
    pandas.DataFrame
        repeat_purchases (text label), actual, model (customers). The model column is
        sum over customers of P(X(T_i) = x) where the model has it (BG/NBD, NBD); otherwise
        the counts of customers simulated from the fitted model with the same ages, as
        lifetimes does for every model.
    """
    x = np.asarray(frequency, dtype=float)
    t = np.asarray(T, dtype=float)
    k = np.arange(max_frequency)
    actual = np.array([(x == i).sum() for i in k] + [(x >= max_frequency).sum()], dtype=float)
    ages = compress(t)
    (tu,), w = ages.columns, ages.weights
    if hasattr(model, "probability_of_n_purchases_up_to_time"):
        probs = np.vstack([model.probability_of_n_purchases_up_to_time(tu, i) for i in k])
    else:
        sim = type(model).simulate(dict(model.params_), len(t), t, seed=seed)[0]
        probs = None
        simulated = np.array([(sim == i).sum() for i in k] + [(sim >= max_frequency).sum()],
                             dtype=float)
    if probs is not None:
        counts = probs @ w
        simulated = np.append(counts, len(x) - counts.sum())
    labels = [str(i) for i in k] + [f"{max_frequency}+"]
    return pd.DataFrame({"repeat_purchases": labels, "actual": actual, "model": simulated})


def alive_matrix(model, max_frequency: int, max_recency: float, T: float | None = None,
                 max_rows: int = 53, max_columns: int = 31) -> pd.DataFrame:
    """P(alive) by frequency (columns) and recency (rows) for customers of age T.

    As lifetimes' conditional_probability_alive_matrix: rows t_x = 0, 1, ..., max_recency,
    columns x = 0, 1, ..., max_frequency, all at T = max_recency (default); rows are thinned
    to at most `max_rows` (an even step) and columns cut at `max_columns` for a sheet.

    Returns
    -------
    pandas.DataFrame
        recency, then one column "x=<frequency>" per frequency.
    """
    age = float(int(max_recency) if T is None else T)
    step = max(int(np.ceil((int(max_recency) + 1) / max_rows)), 1)
    rec = np.arange(0, int(max_recency) + 1, step, dtype=float)
    freq = np.arange(0, min(int(max_frequency), max_columns - 1) + 1, dtype=float)
    f, r = np.broadcast_arrays(freq[None, :], rec[:, None])
    r = np.where(f == 0, 0.0, r)  # without repeat purchases recency is 0 (lifetimes' x=0 column
    # holds the same values for BG/NBD, where such a customer is alive for sure)
    z = model.conditional_probability_alive(f.ravel(), r.ravel(), np.full(f.size, age))
    z = np.asarray(z).reshape(f.shape)
    frame = pd.DataFrame(z, columns=[f"x={int(f)}" for f in freq])
    frame.insert(0, "recency", rec)
    return frame


def conditional_expectations(frequency_cal: np.ndarray, columns: Mapping[str, np.ndarray],
                             max_frequency: int = 7) -> pd.DataFrame:
    """Customers and the mean of each column per calibration frequency, 0 to max_frequency
    - 1 and the rest pooled ("7+"): the conditional-expectations table of FHL 2005, fig. 4.

    Parameters
    ----------
    frequency_cal : numpy.ndarray
        Repeat purchases per customer in the calibration period.
    columns : Mapping of str to numpy.ndarray
        Per-customer values to average (holdout purchases, actual and expected), by the
        column names of the table.
    max_frequency : int, default 7
        Calibration frequencies from this one up are pooled.

    Returns
    -------
    pandas.DataFrame
        frequency_cal (text: "0", "1", ..., "7+"), customers, then the columns' means.
    """
    group = np.minimum(np.asarray(frequency_cal), max_frequency)
    frame = pd.DataFrame({"g": group, **columns})
    first = next(iter(columns))
    t = frame.groupby("g").agg(customers=(first, "size"),
                               **{name: (name, "mean") for name in columns}).reset_index()
    label = t["g"].astype(np.int64).astype(str)
    label[t["g"] == max_frequency] = f"{max_frequency}+"
    return pd.DataFrame({"frequency_cal": label, "customers": t["customers"],
                         **{name: t[name] for name in columns}})
