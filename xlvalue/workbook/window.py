"""The transaction log against its observation window, before any analysis runs.

Three things a new user's log can get silently wrong (issue 23):

- a window too long to analyse: an AsOfDate of 9999-12-31, or a date typo of 1900, makes
  every week from the first purchase to AsOfDate a row of the tracking table; the window
  (first purchase to AsOfDate) may span at most `MAX_WINDOW_YEARS`, else the run is refused
  naming the date at fault;
- a year typo (2031 for 2021) that becomes AsOfDate and shifts every recency: warned when
  the latest dates lie more than a year after 99% of the others, or AsOfDate after today;
- returns of customers with no purchase in the window: nothing to net them against, so the
  customer is not analysed; the warning says exactly how many returns, how much and whose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from xlvalue.analytics.transactions import ReducedLog, TransactionLog
from xlvalue.errors import Problem

__all__ = ["MAX_WINDOW_YEARS", "LogDays", "date_warnings", "return_warnings", "window_problem"]

MAX_WINDOW_YEARS = 100  # first purchase to AsOfDate, at most (documented in the README)
_MAX_WINDOW_DAYS = 36_525
_GAP_DAYS = 365  # latest dates this far after 99% of the others look like a typo

# Where row i of the log is in the workbook: a Problem located at its Date cell (None when
# the log came from a file, whose lines are not kept)
Locate = Callable[[int, str], Problem] | None


@dataclass(frozen=True)
class LogDays:
    """The fields the checks need, one entry per row (a workbook's log) or per purchase day
    (a log reduced where it was read)."""

    code: np.ndarray  # customer code
    day: np.ndarray  # days since 1970-01-01
    rows: np.ndarray | None  # transactions per entry (None: one each)
    buys: np.ndarray  # bool: the entry holds a non-negative amount (a purchase)
    returns: np.ndarray  # negative amounts in the entry (count)
    returned: np.ndarray  # their sum (currency, negative; read only where returns > 0)
    n_customers: int
    ids: np.ndarray

    @classmethod
    def of(cls, log: TransactionLog | ReducedLog) -> LogDays:
        """From the rows of a log, or the purchase days of a reduced one."""
        if isinstance(log, ReducedLog):
            d = log.days
            return cls(np.asarray(d.code), np.asarray(d.day), np.asarray(d.rows),
                       np.asarray(d.purchases) > 0, np.asarray(d.returns),
                       np.asarray(d.return_amount), log.customers.n_customers,
                       log.customers.customer_ids)
        neg = log.amount < 0  # `returned` is only read where an entry is a return: the amounts
        return cls(log.code, log.day, None, ~neg, neg, log.amount, log.n_customers,
                   log.customer_ids)

    def count(self, mask: np.ndarray) -> int:
        """Transactions in the entries of `mask`."""
        return int(mask.sum()) if self.rows is None else int(self.rows[mask].sum())


def _date(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def window_problem(d: LogDays, as_of_day: int, as_of_set: Problem | None, book: str,
                   locate: Locate) -> Problem | None:
    """The window from the first purchase to AsOfDate longer than MAX_WINDOW_YEARS, naming
    the end that is off (the one further from the median date). `as_of_set`: where AsOfDate
    was set (a problem to reword), None when it is the last transaction date."""
    first = int(d.day.min())
    if as_of_day - first <= _MAX_WINDOW_DAYS:
        return None
    years = (as_of_day - first) / 365.25
    what = (f"the observation window from the first purchase ({_date(first)}) to AsOfDate "
            f"({_date(as_of_day)}) spans {years:,.0f} years, more than the {MAX_WINDOW_YEARS} "
            "years an analysis covers")
    middle = int(np.median(d.day))
    if as_of_day - middle >= middle - first:  # the late end is off
        if as_of_set is not None:
            return replace(as_of_set, message=f"{what}: check AsOfDate for a typo")
        i = int(np.argmax(d.day))
        message = f"{what}: the latest date {_date(as_of_day)} looks like a typo"
    else:
        i = int(np.argmin(d.day))
        message = f"{what}: the earliest date {_date(first)} looks like a typo"
    if locate is not None and d.rows is None:
        return locate(i, message)
    return Problem(message, book=book)


def _inside(d: LogDays, as_of_day: int) -> np.ndarray | None:
    """Entries up to AsOfDate (None: all of them, the usual case, without a mask)."""
    return None if int(d.day.max()) <= as_of_day else d.day <= as_of_day


def date_warnings(d: LogDays, as_of_day: int, as_of_set: bool, locate: Locate,
                  today: dt.date | None = None) -> list[str]:
    """Latest dates far beyond the rest (more than a year after 99% of the window's
    transactions) and an AsOfDate after today: both shift every recency without a word.

    The 99% point is the k-th smallest date, k = floor(0.99 (n - 1)) (numpy's 'lower'
    quantile). Most logs are settled by one count: when more than the top 1% of the
    transactions lie in the latest year, no date is far. Otherwise the point is found from
    the transactions per day (the window spans at most MAX_WINDOW_YEARS: one bincount of at
    most 36,525 days, no sort).
    """
    out = []
    today_day = int(np.datetime64(today or dt.date.today(), "D").astype(np.int64))
    future = as_of_day > today_day
    inside = _inside(d, as_of_day)
    day = d.day if inside is None else d.day[inside]
    rows = d.rows if inside is None or d.rows is None else d.rows[inside]
    total = len(day) if rows is None else int(rows.sum())
    k = np.floor(0.99 * (total - 1))
    latest = int(day.max())
    recent = day >= latest - _GAP_DAYS
    if total > 1 and (recent.sum() if rows is None else rows[recent].sum()) <= total - 1 - k:
        first = int(day.min())
        cum = np.cumsum(np.bincount(day - first, weights=rows))  # transactions up to each day
        q = first + int(np.searchsorted(cum, k, side="right"))
        beyond = q + _GAP_DAYS - first  # offset of the last day not yet "far"
        if beyond < len(cum) - 1:
            far = total - int(round(cum[beyond]))
            where = ""
            if locate is not None and d.rows is None:
                cell = locate(int(np.flatnonzero(d.day == latest)[0]), "")
                where = f" at {cell.sheet}!{cell.cell}"
            became = "" if as_of_set else (
                ", which becomes AsOfDate: every recency and age counts from it"
                + (f" (and it lies after today, {_date(today_day)})" if future else ""))
            out.append(f"{far:,} transaction(s) dated more than a year after 99% of the "
                       f"others (up to {_date(latest)}{where}){became}; check them for a "
                       "typo in the year")
            if not as_of_set:
                future = False  # said above
    if future:
        source = "set in xv_Settings" if as_of_set else "the last transaction date"
        out.append(f"AsOfDate {_date(as_of_day)} ({source}) lies after today "
                   f"({_date(today_day)}): recency and age count from it; check it for a typo")
    return out


def return_warnings(d: LogDays, as_of_day: int) -> list[str]:
    """What happened to the returns (negative amounts) inside the window, exactly.

    A customer's returns are netted against their spend when they bought anything in the
    window; a customer whose window holds returns only (the purchase lay before the log
    began) has nothing to net them against and is not analysed: said with the count, the
    sum and the first such ids, so the total spend plus those returns is the Amount total.
    """
    ret = np.flatnonzero(d.returns > 0)
    ret = ret[d.day[ret] <= as_of_day]
    if not ret.size:
        return []
    inside = _inside(d, as_of_day)
    code = d.code if inside is None else d.code[inside]
    if d.rows is None:  # a row is a purchase or a return: purchases = rows - returns
        bought = np.bincount(code, minlength=d.n_customers) - \
            np.bincount(d.code[ret], minlength=d.n_customers)
    else:
        buys = d.buys if inside is None else d.buys[inside]
        bought = np.bincount(code[buys], minlength=d.n_customers)
    orphan = bought[d.code[ret]] == 0
    kept, orphan = ret[~orphan], ret[orphan]
    out = []
    if kept.size:
        out.append(f"{int(d.returns[kept].sum()):,} return(s) (negative amounts) totalling "
                   f"{float(d.returned[kept].sum()):,.2f} kept and netted against spend")
    if orphan.size:
        who = np.unique(d.code[orphan])
        shown = ", ".join(repr(str(v)) for v in np.asarray(d.ids)[who[:3]])
        more = f" and {who.size - 3:,} more" if who.size > 3 else ""
        out.append(f"{int(d.returns[orphan].sum()):,} return(s) totalling "
                   f"{float(d.returned[orphan].sum()):,.2f} left out: their {who.size:,} "
                   f"customer(s) ({shown}{more}) bought nothing in the window, so there is no "
                   "spend to net them against and they are not analysed")
    return out
