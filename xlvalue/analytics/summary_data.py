"""lifetimes' summary functions on a DataFrame of transactions, computed by the core.

`summary_data_from_transaction_data` and `calibration_and_holdout_data` take the arguments of
the lifetimes functions of those names and return frames of the same shape (indexed by
customer id, float columns). They only translate: dates become day numbers floored to their
period (a day, or a Monday-to-Sunday week), and `repeat_summary` / `calibration_holdout` on a
`TransactionLog` do the counting, as they do for the workbook. Where results differ from
lifetimes', the reason is a rule of the core (see docs/python-api.md):

- a purchase period is a (customer, period) with at least one row of amount >= 0; a period
  holding only returns (negative amounts) is not a purchase, lifetimes counts any row;
- `monetary_value_holdout` is the mean net amount per holdout purchase period, as
  `monetary_value` is for the calibration period; lifetimes averages the holdout rows;
- `calibration_period_end` is taken to its period: with weeks, the week that holds it belongs
  to the calibration period; lifetimes splits that week's rows by their timestamp and counts
  the later ones as holdout purchases, in a holdout whose duration excludes the week.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
   easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
.. [2] Davidson-Pilon, C. lifetimes 0.11, ``lifetimes.utils`` (MIT licence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlvalue.analytics.rfm import calibration_holdout, repeat_summary
from xlvalue.analytics.transactions import TransactionLog, period_start
from xlvalue.errors import InputError, Problem

__all__ = ["FREQUENCIES", "calibration_and_holdout_data", "summary_data_from_transaction_data"]

# lifetimes' freq -> (period of period_start, unit of repeat_summary)
FREQUENCIES = {"D": ("day", "days"), "W": ("week", "weeks")}


def summary_data_from_transaction_data(
    transactions: pd.DataFrame,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None = None,
    datetime_format: str | None = None,
    observation_period_end=None,
    freq: str = "D",
    freq_multiplier: float = 1,
    include_first_transaction: bool = False,
) -> pd.DataFrame:
    """Repeat-purchase summary (frequency, recency, T, monetary_value) of a transaction frame.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per transaction.
    customer_id_col : str
        Column of customer ids (any hashable values; no blanks).
    datetime_col : str
        Column of purchase dates: timestamps or dates, or text in ISO 8601 (``1997-01-31``,
        ``1997-01-31 10:15``) unless `datetime_format` says otherwise; other text is refused,
        never guessed. The time of day is ignored.
    monetary_value_col : str, optional
        Column of transaction amounts (currency). Without it no ``monetary_value`` column is
        returned.
    datetime_format : str, optional
        ``strftime`` format of text dates (and of `observation_period_end` when text), for
        ``pandas.to_datetime``; default ISO 8601.
    observation_period_end : str or datetime-like, optional
        End of the observation (inclusive, taken to its period); transactions after it are
        ignored. Default: the latest transaction date.
    freq : {"D", "W"}
        Period in which recency and T are counted and purchases are grouped: days, or weeks
        from Monday to Sunday. Several purchases of a customer in one period count once.
    freq_multiplier : float, default 1
        Recency and T are divided by it: ``freq="D", freq_multiplier=7`` gives weeks with
        fractions, as the published CDNOW summary has them.
    include_first_transaction : bool, default False
        Count the first purchase period in ``frequency`` and ``monetary_value``. Leave False
        for the models, which are defined on repeat purchases.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (named `customer_id_col`, sorted), float columns:
        ``frequency`` (repeat purchase periods), ``recency`` (first to last purchase period,
        in `freq` / `freq_multiplier` units), ``T`` (first purchase period to the end of the
        observation, same units) and, with `monetary_value_col`, ``monetary_value`` (mean
        net amount of the repeat purchase periods, currency; 0 without repeats).

    Raises
    ------
    InputError
        No rows, a missing column, a blank id, a date or amount that cannot be read, an
        unknown `freq`; the rows are named by their index labels.

    Notes
    -----
    The same counting as lifetimes' function of this name, on the core's purchase periods: a
    period holding only returns (negative amounts) is not a purchase period here.

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing
       Science 24(2).
    """
    log, (period, unit) = _period_log(transactions, customer_id_col, datetime_col,
                                      monetary_value_col, datetime_format, freq)
    end = _period_day(observation_period_end, log, datetime_format, period,
                      "observation_period_end")
    summary = repeat_summary(log, end, unit, include_first=include_first_transaction)
    columns = ["frequency", "recency", "T"] + (["monetary_value"] if monetary_value_col else [])
    return _indexed(summary, log, columns, customer_id_col, freq_multiplier, ("recency", "T"))


def calibration_and_holdout_data(
    transactions: pd.DataFrame,
    customer_id_col: str,
    datetime_col: str,
    calibration_period_end,
    observation_period_end=None,
    freq: str = "D",
    freq_multiplier: float = 1,
    datetime_format: str | None = None,
    monetary_value_col: str | None = None,
    include_first_transaction: bool = False,
) -> pd.DataFrame:
    """Calibration-period summary and holdout purchases of each customer of a transaction frame.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per transaction.
    customer_id_col : str
        Column of customer ids.
    datetime_col : str
        Column of purchase dates (timestamps, or ISO 8601 text unless `datetime_format`).
    calibration_period_end : str or datetime-like
        Last day of the calibration period (inclusive, taken to its period).
    observation_period_end : str or datetime-like, optional
        Last day of the holdout period (inclusive). Default: the latest transaction date.
    freq : {"D", "W"}
        Days, or weeks from Monday to Sunday.
    freq_multiplier : float, default 1
        Recency, T and the holdout duration are divided by it.
    datetime_format : str, optional
        ``strftime`` format of text dates.
    monetary_value_col : str, optional
        Column of transaction amounts (currency).
    include_first_transaction : bool, default False
        Count the first purchase period in ``frequency_cal`` and ``monetary_value_cal``.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (customers with a purchase by `calibration_period_end`), float
        columns ``frequency_cal``, ``recency_cal``, ``T_cal`` (as in
        `summary_data_from_transaction_data` at the calibration end), ``frequency_holdout``
        (purchase periods after the calibration end, up to the observation end),
        ``duration_holdout`` (periods from the calibration end to the observation end) and,
        with `monetary_value_col`, ``monetary_value_cal`` and ``monetary_value_holdout``
        (mean net amount per holdout purchase period, currency).

    Raises
    ------
    InputError
        As `summary_data_from_transaction_data`, and when the observation end is not after
        the calibration end.

    Notes
    -----
    lifetimes' ``monetary_value_holdout`` is the mean of the holdout rows; here it is the mean
    per holdout purchase period, the rule of ``monetary_value_cal``.

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing
       Science 24(2): the CDNOW calibration (39 weeks) and holdout (39 weeks) split.
    """
    log, (period, unit) = _period_log(transactions, customer_id_col, datetime_col,
                                      monetary_value_col, datetime_format, freq)
    cal = _period_day(calibration_period_end, log, datetime_format, period,
                      "calibration_period_end")
    end = _period_day(observation_period_end, log, datetime_format, period,
                      "observation_period_end")
    table = calibration_holdout(log, cal, end, unit, include_first=include_first_transaction)
    money = monetary_value_col is not None
    columns = (["frequency_cal", "recency_cal", "T_cal"] + (["monetary_value_cal"] if money else [])
               + ["frequency_holdout"] + (["monetary_value_holdout"] if money else [])
               + ["duration_holdout"])
    return _indexed(table, log, columns, customer_id_col, freq_multiplier,
                    ("recency_cal", "T_cal", "duration_holdout"))


def _period_log(transactions: pd.DataFrame, customer_id_col: str, datetime_col: str,
                monetary_value_col: str | None, datetime_format: str | None, freq: str
                ) -> tuple[TransactionLog, tuple[str, str]]:
    """The frame as a TransactionLog whose days are the first days of their periods."""
    if freq not in FREQUENCIES:
        raise InputError(Problem(f"freq must be 'D' (days) or 'W' (weeks, Monday to Sunday); "
                                 f"got {freq!r}"))
    period = FREQUENCIES[freq]
    missing = [c for c in (customer_id_col, datetime_col, monetary_value_col)
               if c is not None and c not in transactions.columns]
    if missing:
        raise InputError(Problem(f"transactions has no column {', '.join(map(repr, missing))}; "
                                 f"its columns are {', '.join(map(repr, transactions.columns))}"))
    if len(transactions) == 0:
        raise InputError(Problem("transactions has no rows"))
    ids = transactions[customer_id_col]
    _refuse(ids.isna(), ids, customer_id_col, "the customer id is blank")
    days = _day_numbers(transactions[datetime_col], datetime_format, datetime_col)
    if monetary_value_col is None:
        amount = np.zeros(len(transactions))
    else:
        raw = transactions[monetary_value_col]
        amount = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        _refuse(~np.isfinite(amount), raw, monetary_value_col, "not a number")
    return _log_by_id(ids, period_start(days, period[0]), amount), period


def _log_by_id(ids: pd.Series, days: np.ndarray, amount: np.ndarray) -> TransactionLog:
    """The transactions as a TransactionLog whose customers are numbered in id order.

    Numbered in id order, the core's tables come out sorted by id, so the result needs no
    sort of a frame by its index. Text of a string dtype and numbers are hashed once by
    pandas with their distinct values sorted (the text stays Arrow-backed: no Python string
    per row or per customer); other ids (object columns, where ``123`` and ``"123"`` are one
    customer) take the core's `TransactionLog.from_arrays`, then are renumbered.
    """
    dtype = ids.dtype
    text = isinstance(dtype, pd.StringDtype)
    numbers = isinstance(dtype, np.dtype) and dtype.kind in "iuf"
    if not (text or numbers):
        return _sorted_by_id(TransactionLog.from_arrays(ids, days.astype("datetime64[D]"),
                                                        amount))
    codes, uniques = pd.factorize(ids, sort=True)
    small = np.int32 if len(uniques) < 2**31 else np.int64
    return TransactionLog.from_codes(uniques.array if text else uniques.to_numpy(),
                                     codes.astype(small, copy=False), days.astype(np.int32),
                                     amount)


def _sorted_by_id(log: TransactionLog) -> TransactionLog:
    """The log with customer codes renumbered in the order of the ids (ids that do not sort,
    of mixed types, keep their codes)."""
    try:
        order = pd.Index(log.ids).argsort()
    except TypeError:
        return log
    if np.all(order[1:] > order[:-1]):
        return log
    rank = np.empty(len(order), dtype=log.code.dtype)
    rank[order] = np.arange(len(order), dtype=log.code.dtype)
    return TransactionLog.from_codes(np.asarray(log.ids)[order], rank[log.code], log.day,
                                     log.amount, default_margin_rate=log.default_margin_rate)


def _day_numbers(values: pd.Series, datetime_format: str | None, column: str) -> np.ndarray:
    """Dates (timestamps, or text in `datetime_format`, default ISO 8601) as days since
    1970-01-01; the time of day is dropped. Text is never read by guessing its format."""
    try:
        dates = pd.to_datetime(values, format=datetime_format or "ISO8601", errors="coerce")
    except (TypeError, ValueError) as exc:
        raise InputError(Problem(f"transactions[{column!r}] cannot be read as dates: {exc}")) from None
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)  # the local calendar day, as pandas' periods take it
    _refuse(dates.isna(), values, column, f"not a date in the format {datetime_format!r}"
            if datetime_format else "not a date (ISO 8601 text such as 1997-01-31, a timestamp, "
            "or give datetime_format)")
    return dates.to_numpy().astype("datetime64[D]").astype(np.int64)


def _period_day(value, log: TransactionLog, datetime_format: str | None, period: str,
                name: str) -> int:
    """A date argument (default: the latest transaction's period) as the first day of its
    period."""
    if value is None:
        day = int(log.day.max())
    else:
        try:
            stamp = pd.to_datetime(value, format=datetime_format or "ISO8601")
        except (TypeError, ValueError):
            raise InputError(Problem(f"{name} {value!r} is not a date")) from None
        if stamp is pd.NaT:
            raise InputError(Problem(f"{name} is blank"))
        day = int(np.datetime64(stamp.tz_localize(None) if stamp.tzinfo else stamp, "D")
                  .astype(np.int64))
    return int(period_start(day, period))


def _refuse(bad, values: pd.Series, column: str, what: str) -> None:
    """InputError naming the first index labels of the rows where `bad` holds."""
    bad = np.asarray(bad)
    if bad.any():
        where = np.flatnonzero(bad)
        labels = ", ".join(repr(v) for v in values.index[where[:5]])
        more = f" and {where.size - 5} more" if where.size > 5 else ""
        raise InputError(Problem(f"transactions[{column!r}] at index {labels}{more}: {what}"))


def _indexed(table: pd.DataFrame, log: TransactionLog, columns: list[str], index_name: str,
             multiplier: float, durations: tuple[str, ...]) -> pd.DataFrame:
    """The core's table as lifetimes returns it: indexed by the ids as given, sorted, floats."""
    if not multiplier > 0:
        raise InputError(Problem(f"freq_multiplier must be a number > 0; got {multiplier!r}"))
    shown = table["customer_id"]
    if log.customer_ids is log.ids:  # text ids: the table holds the ids themselves
        index = pd.Index(shown, name=index_name)  # Arrow-backed text stays so: no copy
    else:
        codes = pd.Index(log.customer_ids).get_indexer(shown)
        index = pd.Index(np.asarray(log.ids)[codes], name=index_name)
    out = pd.DataFrame({c: table[c].to_numpy(dtype=float) / (multiplier if c in durations else 1)
                        for c in columns}, index=index, copy=False)
    if index.is_monotonic_increasing:  # customers numbered in id order (_sorted_by_id)
        return out
    try:
        return out.sort_index()
    except TypeError:  # ids of mixed types do not sort: keep the order of first appearance
        return out
