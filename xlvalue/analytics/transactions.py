"""The transaction log as flat numpy arrays, and its aggregation to purchase days.

Every per-customer summary starts here: customers are coded 0..n-1 once (pd.factorize),
dates are whole days since 1970-01-01, and purchase days come from one sort of a combined
(customer, day) key, so the summaries are a handful of vectorised reductions.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = ["DAYS_PER_UNIT", "PERIOD_UNITS", "PurchaseDays", "ReducedLog", "TransactionLog",
           "day_number", "day_to_date", "merge_decimal_ids", "merge_purchase_days", "period_index",
           "period_start", "purchase_days"]

PERIOD_UNITS = ("day", "week", "month", "quarter", "year")
# days in one unit of recency and T (the TimeUnit setting) of the repeat-purchase summary
DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0}


@dataclass(frozen=True)
class TransactionLog:
    """One row per transaction: customer code, day number, amount and gross-margin amount.

    Attributes
    ----------
    ids : numpy.ndarray or pandas ExtensionArray
        The distinct customer ids as read (numbers stay numbers until shown), indexed by code.
    code : numpy.ndarray of int32 (int64 beyond 2**31 customers)
        Customer code of each row, an index into `ids`.
    day : numpy.ndarray of int32
        Purchase date of each row in days since 1970-01-01.
    amount : numpy.ndarray of float64
        Amount of each row (currency); negative = return.
    margin_given : numpy.ndarray of float64 or None
        Gross margin of each row (currency) when a cost or margin rate was given.
    default_margin_rate : float
        Gross-margin rate (fraction of the amount) used where no margin is given.
    """

    ids: np.ndarray  # unique ids as read (numbers stay numbers until shown), indexed by code
    code: np.ndarray  # int32 (int64 beyond 2**31 customers), index into customer_ids
    day: np.ndarray  # int32 days since 1970-01-01
    amount: np.ndarray  # float64; negative = return
    margin_given: np.ndarray | None = None  # gross margin per row, when cost or rate given
    default_margin_rate: float = 0.3

    @functools.cached_property
    def customer_ids(self) -> np.ndarray:
        """The ids as text (00123 stays 00123), made once when first needed."""
        if isinstance(self.ids, pd.api.extensions.ExtensionArray) and \
                pd.api.types.is_string_dtype(self.ids.dtype):
            return self.ids  # Arrow-backed text (from a file): compact, used as it is
        if self.ids.dtype == object and all(v.__class__ is str for v in self.ids[:1000]):
            return self.ids
        return np.asarray(pd.Index(self.ids).astype(str), dtype=object)

    @classmethod
    def from_arrays(cls, customer: np.ndarray | pd.Series, date: np.ndarray | pd.Series,
                    amount: np.ndarray | pd.Series, cost: np.ndarray | None = None,
                    margin_rate: np.ndarray | float | None = None,
                    default_margin_rate: float = 0.3) -> TransactionLog:
        """Build a log from columns; customers are coded by hashing their ids.

        Parameters
        ----------
        customer : array_like or pandas.Series
            Customer id of each row (numbers and text; ``123`` and ``"123"`` are one customer).
        date : array_like of datetime64
            Purchase date of each row (the time of day is dropped).
        amount : array_like of float
            Amount of each row (currency).
        cost : array_like of float, optional
            Cost of each row (currency): margin = amount - cost where finite.
        margin_rate : float or array_like, optional
            Gross-margin rate (fraction): margin = amount x rate where no cost is given.
        default_margin_rate : float, default 0.3
            Rate used where neither cost nor rate is given.

        Returns
        -------
        TransactionLog
        """
        codes, uniques = _factorize_ids(customer if isinstance(customer, pd.Series)
                                        else np.asarray(customer))
        day = np.asarray(date).astype("datetime64[D]").view(np.int64).astype(np.int32)
        return cls.from_codes(uniques, codes, day, amount, cost, margin_rate, default_margin_rate)

    @classmethod
    def from_codes(cls, ids: np.ndarray, code: np.ndarray, day: np.ndarray, amount: np.ndarray,
                   cost: np.ndarray | None = None, margin_rate: np.ndarray | float | None = None,
                   default_margin_rate: float = 0.3) -> TransactionLog:
        """Build a log from customer codes and day numbers; margins as in `from_arrays`.

        Parameters
        ----------
        ids : numpy.ndarray
            Distinct customer ids, indexed by code.
        code : numpy.ndarray of int
            Customer code of each row.
        day : numpy.ndarray of int
            Days since 1970-01-01 of each row.
        amount : array_like of float
            Amount of each row (currency).
        cost : array_like of float, optional
            Cost of each row (currency).
        margin_rate : float or array_like, optional
            Gross-margin rate (fraction of the amount).
        default_margin_rate : float, default 0.3
            Rate used where neither cost nor rate is given.

        Returns
        -------
        TransactionLog
        """
        amt = np.asarray(amount, dtype=float)
        margin = None
        if margin_rate is not None or cost is not None:
            margin = amt * default_margin_rate
            if margin_rate is not None:
                rate = np.broadcast_to(np.asarray(margin_rate, dtype=float), amt.shape)
                margin = np.where(np.isfinite(rate), amt * rate, margin)
            if cost is not None:
                c = np.asarray(cost, dtype=float)
                margin = np.where(np.isfinite(c), amt - c, margin)
        return cls(ids, code, day, amt, margin, default_margin_rate)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, default_margin_rate: float = 0.3) -> TransactionLog:
        """Build a log from a validated transaction table (CustomerID, Date, Amount, ...).

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns CustomerID, Date (datetime64), Amount (currency) and optionally Cost
            (currency) and Margin (rate, fraction of the amount).
        default_margin_rate : float, default 0.3
            Gross-margin rate where a row has neither cost nor rate.

        Returns
        -------
        TransactionLog
        """
        return cls.from_arrays(
            frame["CustomerID"], frame["Date"], frame["Amount"],
            cost=frame["Cost"].to_numpy() if "Cost" in frame else None,
            margin_rate=frame["Margin"].to_numpy() if "Margin" in frame else None,
            default_margin_rate=default_margin_rate)

    @property
    def n_customers(self) -> int:
        """Number of distinct customers (codes 0..n-1), with or without rows."""
        return len(self.ids)

    def customers_only(self) -> TransactionLog:
        """The same customers without their rows.

        What is left once purchase days are made and no later analysis needs the rows (releases
        16 bytes per row).

        Returns
        -------
        TransactionLog
            Same ids and margin rate, no rows.
        """
        empty = np.zeros(0, np.int32)
        return TransactionLog(self.ids, empty, empty, np.zeros(0), None,
                              self.default_margin_rate)

    def __len__(self) -> int:
        return len(self.code)

    def until(self, last_day: int) -> TransactionLog:
        """Rows up to and including a day; the customer coding is kept.

        Parameters
        ----------
        last_day : int
            Last day kept, in days since 1970-01-01.

        Returns
        -------
        TransactionLog
            The log itself when no row is later (no copy), else the earlier rows.
        """
        if len(self.day) == 0 or int(self.day.max()) <= last_day:
            return self
        keep = self.day <= last_day
        margin = self.margin_given[keep] if self.margin_given is not None else None
        return TransactionLog(self.ids, self.code[keep], self.day[keep],
                              self.amount[keep], margin, self.default_margin_rate)


def _factorize_ids(customer) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 and the unique ids; values are hashed as they are (numbers stay numbers)."""
    values = customer if isinstance(customer, pd.Series) else np.asarray(customer)
    codes, uniques = pd.factorize(values, sort=False)  # hashes arrow strings without copies
    uniques = np.asarray(uniques)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        text = np.asarray(pd.Index(uniques).astype(str), dtype=object)
        merged, text_uniques = pd.factorize(text, sort=False)  # 123 and '123': one customer
        if len(text_uniques) != len(text):
            codes = merged[codes]
            text = np.asarray(text_uniques, dtype=object)
        uniques = text
    small = np.int32 if len(uniques) < 2**31 else np.int64
    return codes.astype(small, copy=False), uniques


_DECIMAL_ID = r"[+-]?\d+\.0+"  # '12347.0': a whole number as a float prints it


def merge_decimal_ids(log: TransactionLog) -> tuple[TransactionLog, np.ndarray]:
    """Text ids like '12347.0' taken as the customer '12347' when the log holds that id too.

    Exports that pass ids through a float (pandas, some CRM tools) write the number 12347 as
    the text '12347.0'; next to the cell 12347 (read as '12347') it would be a second
    customer. Only ids whose plain form also occurs are merged: a log whose ids all end in
    '.0' keeps them as they are (text ids are never guessed at otherwise).

    Parameters
    ----------
    log : TransactionLog
        The transactions.

    Returns
    -------
    (TransactionLog, numpy.ndarray of object)
        The log with those customers merged (codes renumbered, row order kept; the log
        itself when none is), and the ids merged away ('12347.0', ...).
    """
    if not len(log.ids):
        return log, np.zeros(0, object)
    text = pd.Series(np.asarray(log.customer_ids, dtype=object), dtype=object)
    decimal = np.flatnonzero(text.str.fullmatch(_DECIMAL_ID).fillna(False).to_numpy(bool))
    if not decimal.size:
        return log, np.zeros(0, object)
    plain = text.iloc[decimal].str.replace(r"\.0+$", "", regex=True)
    target = pd.Index(text).get_indexer(plain.to_numpy())  # ids are distinct: no duplicates
    hit = target >= 0
    if not hit.any():
        return log, np.zeros(0, object)
    gone, into = decimal[hit], target[hit]
    keep = np.ones(len(text), bool)
    keep[gone] = False
    renumber = np.cumsum(keep) - 1  # new code of every kept customer
    remap = np.arange(len(text))
    remap[gone] = into
    remap = renumber[remap].astype(log.code.dtype)
    merged = replace(log, ids=log.ids[keep], code=remap[log.code])
    return merged, text.to_numpy()[gone]


@dataclass(frozen=True)
class PurchaseDays:
    """The log reduced to one row per (customer, day), sorted by customer then day.

    Attributes
    ----------
    code : numpy.ndarray of int
        Customer code of each purchase day.
    day : numpy.ndarray of int32
        Days since 1970-01-01.
    amount : numpy.ndarray of float64
        Net amount of the day (currency; returns subtracted).
    margin_sum : numpy.ndarray of float64 or None
        Summed row margins (currency); None: amount x `margin_rate`.
    margin_rate : float
        Flat gross-margin rate (fraction) when rows carry no margin.
    purchases : numpy.ndarray of int32
        Rows with amount >= 0 that day.
    returns : numpy.ndarray of int32
        Rows with amount < 0 that day.
    return_amount : numpy.ndarray of float64
        Summed negative amounts of the day (currency).
    """

    code: np.ndarray
    day: np.ndarray
    amount: np.ndarray  # net amount of the day
    margin_sum: np.ndarray | None  # summed row margins; None: amount x margin_rate
    margin_rate: float
    purchases: np.ndarray  # rows with amount >= 0 that day
    returns: np.ndarray  # rows with amount < 0 that day
    return_amount: np.ndarray

    def margin_total(self, amount_total: np.ndarray, summed) -> np.ndarray:
        """Gross margin aggregated as `amount_total` aggregates the amounts.

        A flat rate is rate x amount at any aggregation; row margins are aggregated by `summed`.

        Parameters
        ----------
        amount_total : numpy.ndarray
            Amounts already aggregated (currency), e.g. per customer.
        summed : callable
            The aggregation that made `amount_total`, applied to the row margins.

        Returns
        -------
        numpy.ndarray
            Gross margin per aggregate (currency).
        """
        if self.margin_sum is None:
            return amount_total * self.margin_rate
        return summed(self.margin_sum)

    @property
    def is_purchase(self) -> np.ndarray:
        """Days with at least one non-negative row (a day of returns only is not a purchase)."""
        return self.purchases > 0


    def until(self, last_day: int) -> PurchaseDays:
        """The days up to and including `last_day` (no copy when all are).

        Parameters
        ----------
        last_day : int
            Days since 1970-01-01.

        Returns
        -------
        PurchaseDays
        """
        if len(self.day) == 0 or int(self.day.max()) <= last_day:
            return self
        keep = self.day <= last_day
        return PurchaseDays(*(None if v is None else np.asarray(v)[keep] for v in (
            self.code, self.day, self.amount, self.margin_sum)), self.margin_rate,
            *(np.asarray(v)[keep] for v in (self.purchases, self.returns, self.return_amount)))

    @property
    def rows(self) -> np.ndarray:
        """Transactions (purchases and returns) of each day."""
        return np.asarray(self.purchases, np.int64) + np.asarray(self.returns, np.int64)


@dataclass(frozen=True)
class ReducedLog:
    """A log reduced to purchase days where it was read (the parts of a file on a cluster).

    Its customers, as a TransactionLog without rows, and their purchase days. The core
    summaries take purchase days, so they run on it exactly as on the rows.

    Attributes
    ----------
    customers : TransactionLog
        The customers (ids, margin rate), no rows.
    days : PurchaseDays
        Their purchase days.
    """

    customers: TransactionLog
    days: PurchaseDays

    def __len__(self) -> int:
        return int(self.days.rows.sum())


def merge_purchase_days(parts: list[tuple[object, PurchaseDays]], default_margin_rate: float
                        ) -> ReducedLog:
    """One log's purchase days from those of its parts, each with its own customer ids.

    Every field of a purchase day is a sum over the day's rows, so days of one customer and
    day found in several parts are added. Customers are numbered in order of first
    appearance across the parts, as reading the whole file does.

    Parameters
    ----------
    parts : list of (ids, PurchaseDays)
        Per part, its customer ids (indexed by the part's codes) and purchase days.
    default_margin_rate : float
        Gross-margin rate (fraction) where rows carry no margin.

    Returns
    -------
    ReducedLog
    """
    parts = [(ids, d) for ids, d in parts if len(d.code)]
    texts = [np.asarray(pd.array(ids, dtype=object), dtype=object) for ids, _ in parts]
    every = np.concatenate(texts) if texts else np.zeros(0, object)
    glob, uniq = pd.factorize(every, sort=False)
    ids = pd.array(np.asarray(uniq, dtype=object), dtype=pd.StringDtype("pyarrow"))
    customers = TransactionLog(ids, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0),
                               None, default_margin_rate)
    if not parts:
        e, ei = np.zeros(0), np.zeros(0, np.int64)
        return ReducedLog(customers, PurchaseDays(ei, ei, e, None, default_margin_rate, ei, ei, e))
    offsets = np.cumsum([0] + [len(t) for t in texts])
    code = np.concatenate([glob[o:][np.asarray(d.code)] for o, (_, d) in zip(offsets, parts,
                                                                                strict=False)])
    def cat(field: str) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(d, field)) for _, d in parts])

    has_margin = any(d.margin_sum is not None for _, d in parts)
    day, amount = cat("day").astype(np.int64), cat("amount").astype(float)
    margin = np.concatenate([np.asarray(d.amount) * d.margin_rate if d.margin_sum is None
                             else np.asarray(d.margin_sum) for _, d in parts]) \
        if has_margin else None
    purchases, returns, back = cat("purchases"), cat("returns"), cat("return_amount")
    dmin = int(day.min())
    span = int(day.max()) - dmin + 1
    key = code.astype(np.int64) * span + (day - dmin)
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    uk = key[starts]

    def summed(v: np.ndarray, dtype=None) -> np.ndarray:
        return np.add.reduceat(v[order], starts).astype(dtype or v.dtype, copy=False)

    small = np.int32 if len(uniq) < 2**31 else np.int64
    days = PurchaseDays(
        code=(uk // span).astype(small), day=(uk % span + dmin).astype(np.int32),
        amount=summed(amount), margin_sum=summed(margin) if margin is not None else None,
        margin_rate=default_margin_rate, purchases=summed(purchases, np.int32),
        returns=summed(returns, np.int32), return_amount=summed(back, float))
    return ReducedLog(customers, days)


def purchase_days(log: TransactionLog | list[TransactionLog], with_margin: bool = True,
                  with_returns: bool = True) -> PurchaseDays:
    """Aggregate a log to (customer, day) with one sort of a combined (customer, day) key.

    Memory is the constraint on big logs: the key and the row number share one int64 sorted
    in place, the payload is gathered in blocks, and each array goes as soon as it is used.
    A log handed over in a one-element list is taken out of it, so its rows are freed as
    they are used (when the caller keeps no other reference).

    Parameters
    ----------
    log : TransactionLog or list of one TransactionLog
        The transactions.
    with_margin : bool, default True
        Sum row margins; False returns zeros (a caller that does not need them).
    with_returns : bool, default True
        Sum returned amounts; False returns zeros.

    Returns
    -------
    PurchaseDays
        One row per (customer, day), sorted by customer then day.
    """
    if isinstance(log, list):
        log = log.pop()
    n_rows, n_customers = len(log), log.n_customers
    rate, given = log.default_margin_rate, log.margin_given
    if n_rows == 0:
        e = np.zeros(0)
        ei = np.zeros(0, np.int64)
        return PurchaseDays(ei, ei, e, e, rate, ei, ei, e)
    code, day, values = log.code, log.day, log.amount
    del log
    dmin = int(day.min())
    span = int(day.max()) - dmin + 1
    order, k = _sorted_keys(code, day, dmin, span)
    del code, day
    amount = _gather(values, order)
    del values
    margin_sorted = _gather(given, order) if with_margin and given is not None else None
    del given
    new = np.empty(len(k), bool)
    new[0] = True
    np.not_equal(k[1:], k[:-1], out=new[1:])
    uk = k[new]
    del order, k  # views of the sorted keys: the int64 array goes before `starts` is made
    starts = np.flatnonzero(new)
    del new
    m = len(starts)
    margin_sum = np.add.reduceat(margin_sorted, starts) if margin_sorted is not None else None
    del margin_sorted
    is_return = amount < 0
    any_return = bool(is_return.any())
    returns = np.add.reduceat(is_return.astype(np.int32), starts) if any_return else \
        np.broadcast_to(np.int32(0), (m,))  # no returns: a zero view, no allocation
    return_amount = np.add.reduceat(np.where(is_return, amount, 0.0), starts) \
        if with_returns and any_return else np.broadcast_to(0.0, (m,))
    del is_return
    day_amount = _sum_runs_in_place(amount, starts)
    del amount
    purchases = np.empty(m, np.int32)  # rows per (customer, day), without int64 temporaries
    np.subtract(starts[1:], starts[:-1], out=purchases[:-1], casting="unsafe")
    purchases[-1] = n_rows - starts[-1]
    del starts
    if any_return:
        purchases -= returns
    small = np.int32 if n_customers < 2**31 else np.int64
    code = (uk // span).astype(small, copy=False)
    uk %= span
    uk += dmin
    day = uk.astype(np.int32, copy=False)  # fits 32 bits until the year 5,800,000; in place
    del uk
    if not with_margin:
        margin_sum = np.broadcast_to(0.0, (m,))
    return PurchaseDays(code=code, day=day, amount=day_amount, margin_sum=margin_sum,
                        margin_rate=rate, purchases=purchases,
                        returns=returns, return_amount=return_amount)


def _sorted_keys(code: np.ndarray, day: np.ndarray, dmin: int, span: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Row order and sorted key = code * span + (day - dmin).

    When the key fits 31 bits (most logs), key and row number are packed into the high and
    low halves of one int64 and sorted in place: half the memory of argsort + gather, and
    numpy's vectorised integer sort. Returns views of that array (order, key).
    """
    n = len(code)
    if len(code) < 2**31 and (int(code.max()) + 1) * span < 2**31 and sys.byteorder == "little":
        packed = np.arange(n, dtype=np.int64)
        halves = packed.view(np.int32)
        high = halves[1::2]
        np.multiply(code, np.int32(span), out=high, casting="unsafe")
        high += day
        high -= np.int32(dmin)
        packed.sort()
        return halves[0::2], halves[1::2]
    key = code.astype(np.int64) * span + day
    key -= dmin
    order = np.argsort(key)
    return order, key[order]


def _sum_runs_in_place(values: np.ndarray, starts: np.ndarray, block: int = 1 << 20
                       ) -> np.ndarray:
    """Sums of `values` over the runs beginning at `starts`, written over the front of
    `values` (which is consumed): run g starts at or after row g, so block by block the
    sums land on rows already read. Saves a second row-length array on big logs."""
    m = len(starts)
    for g0 in range(0, m, block):
        g1 = min(g0 + block, m)
        end = int(starts[g1]) if g1 < m else len(values)
        first = int(starts[g0])
        values[g0:g1] = np.add.reduceat(values[first:end], starts[g0:g1] - first)
    if m < 0.75 * len(values):
        return values[:m].copy()  # far fewer days than rows: keep only what is used
    return values[:m]


def _gather(values: np.ndarray, order: np.ndarray, block: int = 1 << 20) -> np.ndarray:
    """values[order] in blocks, so no full-length intp copy of the index is made."""
    out = np.empty(len(order), values.dtype)
    for i in range(0, len(order), block):
        np.take(values, order[i:i + block], out=out[i:i + block], mode="clip")
    return out


def period_index(day: np.ndarray | int, unit: str) -> np.ndarray:
    """Period number of day numbers: weeks start on Monday; months, quarters, years calendar.

    Long arrays are mapped through a table over their span of days (int32, no datetime64
    temporaries): a log of 10M rows spans a few thousand days.

    Parameters
    ----------
    day : int or array_like of int
        Days since 1970-01-01.
    unit : {"day", "week", "month", "quarter", "year"}
        The period.

    Returns
    -------
    numpy.ndarray of int
        Periods since the one holding 1970-01-01 (weeks: since Monday 1969-12-29).
    """
    if unit not in PERIOD_UNITS:
        raise ValueError(f"unknown period unit {unit!r}; expected one of {PERIOD_UNITS}")
    arr = np.asarray(day)
    if arr.ndim and arr.size > 4096:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < arr.size // 4:
            table = _period_index(np.arange(lo, hi + 1, dtype=np.int64), unit).astype(np.int32)
            offset = arr - np.int32(lo) if arr.dtype == np.int32 else arr - lo
            return _gather(table, offset)
    return _period_index(arr, unit)


def _period_index(day: np.ndarray | int, unit: str) -> np.ndarray:
    d = np.asarray(day, dtype=np.int64)
    if unit == "day":
        return d
    if unit == "week":
        return (d + 3) // 7  # 1970-01-01 was a Thursday
    months = d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    if unit == "month":
        return months
    if unit == "quarter":
        return months // 3
    if unit == "year":
        return months // 12
    raise ValueError(f"unknown period unit {unit!r}; expected one of {PERIOD_UNITS}")


def period_start(day: np.ndarray | int, unit: str) -> np.ndarray:
    """Day number of the first day of the period holding each day.

    Parameters
    ----------
    day : array_like of int
        Days since 1970-01-01.
    unit : {"day", "week"}
        The period: a day is its own start; a week starts on Monday (as `period_index` and
        pandas' weekly periods ``W-SUN`` count them).

    Returns
    -------
    numpy.ndarray of int64
        Days since 1970-01-01. Mapping a log's days to their period starts makes its purchase
        days purchase periods (one per customer and period).
    """
    d = np.asarray(day, dtype=np.int64)
    if unit == "day":
        return d
    if unit == "week":
        return period_index(d, "week").astype(np.int64) * 7 - 3  # week 0 began on 1969-12-29
    raise ValueError(f"period_start supports the units day and week, not {unit!r}")


def day_number(date: np.datetime64 | str) -> int:
    """A date as whole days since 1970-01-01.

    Parameters
    ----------
    date : numpy.datetime64 or str
        A date (ISO text such as ``"1997-09-30"``).

    Returns
    -------
    int
        Days since 1970-01-01.
    """
    return int(np.datetime64(date, "D").astype(np.int64))


def day_to_date(day: np.ndarray | int) -> np.ndarray:
    """Day numbers as dates.

    Parameters
    ----------
    day : int or array_like of int
        Days since 1970-01-01.

    Returns
    -------
    numpy.ndarray of datetime64[D]
    """
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]")
