"""The transaction log as flat numpy arrays, and its aggregation to purchase days.

Every per-customer summary starts here: customers are coded 0..n-1 once (pd.factorize),
dates are whole days since 1970-01-01, and purchase days come from one sort of a combined
(customer, day) key, so the summaries are a handful of vectorised reductions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

PERIOD_UNITS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class TransactionLog:
    """One row per transaction: customer code, day number, amount and gross-margin amount."""

    ids: np.ndarray  # unique ids as read (numbers stay numbers until shown), indexed by code
    code: np.ndarray  # int32 (int64 beyond 2**31 customers), index into customer_ids
    day: np.ndarray  # int32 days since 1970-01-01
    amount: np.ndarray  # float64; negative = return
    margin_given: np.ndarray | None = None  # gross margin per row, when cost or rate given
    default_margin_rate: float = 0.3

    @functools.cached_property
    def customer_ids(self) -> np.ndarray:
        """The ids as text (00123 stays 00123), made once when first needed."""
        if self.ids.dtype == object and all(v.__class__ is str for v in self.ids[:1000]):
            return self.ids
        return np.asarray(pd.Index(self.ids).astype(str), dtype=object)

    @property
    def margin(self) -> np.ndarray:
        """Gross margin of each row: amount - cost, amount x rate, or amount x the default."""
        if self.margin_given is not None:
            return self.margin_given
        return self.amount * self.default_margin_rate

    @classmethod
    def from_arrays(cls, customer: np.ndarray | pd.Series, date: np.ndarray | pd.Series,
                    amount: np.ndarray | pd.Series, cost: np.ndarray | None = None,
                    margin_rate: np.ndarray | float | None = None,
                    default_margin_rate: float = 0.3) -> TransactionLog:
        """Build from columns. Margin = amount - cost, else amount x rate (row or default)."""
        codes, uniques = _factorize_ids(customer if isinstance(customer, pd.Series)
                                        else np.asarray(customer))
        day = np.asarray(date).astype("datetime64[D]").view(np.int64).astype(np.int32)
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
        return cls(uniques, codes, day, amt, margin, default_margin_rate)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, default_margin_rate: float = 0.3) -> TransactionLog:
        """Build from a validated xv_Transactions frame (CustomerID, Date, Amount, Cost?, ...)."""
        return cls.from_arrays(
            frame["CustomerID"], frame["Date"], frame["Amount"],
            cost=frame["Cost"].to_numpy() if "Cost" in frame else None,
            margin_rate=frame["Margin"].to_numpy() if "Margin" in frame else None,
            default_margin_rate=default_margin_rate)

    @property
    def n_customers(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.code)

    def until(self, last_day: int) -> TransactionLog:
        """Rows up to and including `last_day`; customer coding is kept (no copy if all are)."""
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


@dataclass(frozen=True)
class PurchaseDays:
    """The log reduced to one row per (customer, day), sorted by customer then day."""

    code: np.ndarray
    day: np.ndarray
    amount: np.ndarray  # net amount of the day
    margin: np.ndarray
    purchases: np.ndarray  # rows with amount >= 0 that day
    returns: np.ndarray  # rows with amount < 0 that day
    return_amount: np.ndarray

    @property
    def is_purchase(self) -> np.ndarray:
        return self.purchases > 0


def purchase_days(log: TransactionLog, with_margin: bool = True, with_returns: bool = True
                  ) -> PurchaseDays:
    """Aggregate to (customer, day) with one sort of a combined int64 key.

    with_margin / with_returns False skip sums a caller does not need (zeros are returned).
    """
    if len(log) == 0:
        e = np.zeros(0)
        ei = np.zeros(0, np.int64)
        return PurchaseDays(ei, ei, e, e, ei, ei, e)
    dmin = int(log.day.min())
    span = int(log.day.max()) - dmin + 1
    wide = log.n_customers * span >= 2**31  # the combined key fits 32 bits for most logs
    key = log.code.astype(np.int64 if wide else np.int32) * (span if wide else np.int32(span))
    key += log.day
    key -= dmin
    order = np.argsort(key)  # sums within a (customer, day) do not depend on row order
    k = key[order]
    del key
    amount = log.amount[order]  # gather the payload now, so `order` can go before the rest
    margin_sorted = log.margin[order] if with_margin else None
    del order
    new = np.empty(len(k), bool)
    new[0] = True
    np.not_equal(k[1:], k[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    del new
    uk = k[starts]
    del k
    small = np.int32 if log.n_customers < 2**31 else np.int64
    code = (uk // span).astype(small)
    uk %= span
    uk += dmin
    day = uk.astype(np.int32)  # day numbers fit 32 bits until the year 5,800,000
    del uk
    m = len(starts)
    if with_margin:
        margin = np.add.reduceat(margin_sorted, starts)
        del margin_sorted
    is_return = amount < 0
    any_return = bool(is_return.any())
    returns = np.add.reduceat(is_return.astype(np.int32), starts) if any_return else \
        np.broadcast_to(np.int32(0), (m,))  # no returns: a zero view, no allocation
    return_amount = np.add.reduceat(np.where(is_return, amount, 0.0), starts) \
        if with_returns and any_return else np.broadcast_to(0.0, (m,))
    del is_return
    purchases = np.empty(m, np.int32)  # rows per (customer, day), without int64 temporaries
    np.subtract(starts[1:], starts[:-1], out=purchases[:-1], casting="unsafe")
    purchases[-1] = len(amount) - starts[-1]
    if any_return:
        purchases -= returns
    day_amount = np.add.reduceat(amount, starts)
    del amount
    return PurchaseDays(
        code=code, day=day, amount=day_amount,
        margin=margin if with_margin else np.broadcast_to(0.0, (m,)),
        purchases=purchases, returns=returns, return_amount=return_amount,
    )


def period_index(day: np.ndarray | int, unit: str) -> np.ndarray:
    """Period number of day numbers: weeks start on Monday; months, quarters, years calendar."""
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


def day_number(date: np.datetime64 | str) -> int:
    """A date as whole days since 1970-01-01."""
    return int(np.datetime64(date, "D").astype(np.int64))


def day_to_date(day: np.ndarray | int) -> np.ndarray:
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]")
