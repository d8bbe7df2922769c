"""XV_RFM on a 10,000-row range: wrapper (conversion in and out) vs the core call alone."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from xlvalue.analytics.rfm import rfm_summary, score_rfm
from xlvalue.analytics.transactions import TransactionLog
from xlvalue.excel.udfs import RFM_COLUMNS, XV_RFM
from xlvalue.workbook.contract import TRANSACTIONS
from xlvalue.workbook.validation import validate_table  # noqa: F401  (the wrapper's validation path)

from .common import best_of, report


def run(quick: bool = False) -> None:
    rng = np.random.default_rng(0)
    n = 10_000
    start = dt.datetime(2023, 1, 1)
    rows = [["CustomerID", "Date", "Amount"]] + [
        [f"C{int(c):05d}", start + dt.timedelta(days=int(d)), float(a)]
        for c, d, a in zip(rng.integers(0, 2000, n), rng.integers(0, 700, n),
                           np.round(rng.gamma(2, 20, n), 2), strict=True)]
    frame = pd.DataFrame(rows[1:], columns=rows[0])

    def core():
        log = TransactionLog.from_frame(frame)
        return score_rfm(rfm_summary(log, int(log.day.max()))).table[RFM_COLUMNS]

    t_core, _ = best_of(core, repeat=5)
    t_udf, out = best_of(lambda: XV_RFM(rows), repeat=5)
    assert len(out) == len(core()) + 1
    report("XV_RFM 10,000 rows (wrapper incl. conversions)", t_udf, t_core, "core alone",
           "overhead <= 1x, i.e. ratio <= 2x")
    assert TRANSACTIONS.name == "xv_Transactions"
