"""The RFM scoring summary of a transaction file larger than memory, on a Dask cluster.

Every per-customer quantity of `rfm.rfm_summary` is a groupby reduction (sums, counts, min,
max, distinct counts), so Dask computes them partition by partition and only the customer
table (one row per customer) comes back to this process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xlvalue.errors import InputError, Problem
from xlvalue.workbook.transactions_file import CSV_SUFFIXES, PARQUET_SUFFIXES

__all__ = ["LOCAL_CLUSTER_CONFIG", "PERIOD_FREQ", "client_for", "rfm_summary_dask"]

PERIOD_FREQ = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}


# Local clusters run whole workbooks as tasks: CPU-bound Python that holds no Dask data. The
# worker's background chores wake its event loop, which then competes for the GIL with the
# task: stack sampling every 10 ms for the dashboard's profile, the event-loop tick every
# 20 ms, memory polling every 100 ms. Sampling off and slower chores, and no memory limit
# (nothing to spill), made 60-100 demo books ~8-10 % faster than Dask's defaults (measured).
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def client_for(scheduler: str, workers: int = 2):
    """A Dask client: 'local' starts a LocalCluster of `workers` single-threaded processes
    that closes with the client; anything else is a scheduler address."""
    try:
        import dask
        from dask.distributed import Client
    except ImportError:
        raise InputError(Problem("--scheduler needs Dask: pip install 'xlvalue[dask]'")) from None
    if scheduler == "local":
        with dask.config.set(LOCAL_CLUSTER_CONFIG):  # the nannies hand it to their workers
            return Client(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                          dashboard_address=":0", memory_limit=0)
    try:
        return Client(scheduler, timeout="10s")
    except OSError as exc:
        raise InputError(Problem(f"cannot reach the Dask scheduler {scheduler} ({exc})")) from None


def _read(path: Path):
    import dask.dataframe as dd

    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return dd.read_parquet(str(path), columns=["CustomerID", "Date", "Amount"])
    if suffix in CSV_SUFFIXES:
        return dd.read_csv(str(path), usecols=["CustomerID", "Date", "Amount"],
                           dtype={"CustomerID": "string", "Date": "string"},
                           sep="\t" if suffix == ".tsv" else ",")
    raise InputError(Problem(f"TransactionsFile must be .csv or .parquet, not '{suffix}'"))


def rfm_summary_dask(path: Path, as_of: np.datetime64 | None, period_unit: str,
                     frequency_mode: str, monetary_mode: str, margin_rate: float,
                     client) -> tuple[pd.DataFrame, int, int]:
    """RFM scoring summary (same columns as rfm.rfm_summary), the as-of day and first day."""
    import dask.dataframe as dd

    ddf = _read(path)
    ddf["CustomerID"] = ddf["CustomerID"].astype("string").str.strip()
    ddf["day"] = dd.to_datetime(ddf["Date"], format="ISO8601").dt.normalize() \
        if ddf["Date"].dtype == "string" else ddf["Date"].dt.normalize()
    first_day, last_day = client.compute([ddf["day"].min(), ddf["day"].max()], sync=True)
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(last_day)
    ddf = ddf[ddf["day"] <= as_of_ts]
    ddf["is_return"] = ddf["Amount"] < 0
    ddf["purchase"] = (~ddf["is_return"]).astype("int64")
    ddf["return_amount"] = ddf["Amount"].where(ddf["is_return"], 0.0)
    ddf["buy_day"] = ddf["day"].where(~ddf["is_return"])
    if period_unit == "day":
        ddf["period"] = ddf["day"]
    else:
        ddf["period"] = ddf["day"].dt.to_period(PERIOD_FREQ[period_unit]).astype("string")
    g = ddf.groupby("CustomerID")
    parts = {
        "first_purchase": g["buy_day"].min(), "last_purchase": g["buy_day"].max(),
        "purchases": g["purchase"].sum(), "purchase_days": g["buy_day"].nunique(),
        "total_spend": g["Amount"].sum(), "returns": g["is_return"].sum(),
        "return_amount": g["return_amount"].sum(), "periods_active": g["period"].nunique(),
    }
    computed = client.compute(list(parts.values()), sync=True)
    out = pd.concat(dict(zip(parts, computed, strict=True)), axis=1)
    out = out[out["purchases"] > 0].sort_index()
    as_of_day = int(np.datetime64(as_of_ts, "D").astype(np.int64))
    last = out["last_purchase"].to_numpy().astype("datetime64[D]")
    frequency = out["purchases"] if frequency_mode == "purchases" else out["purchase_days"]
    total = out["total_spend"].astype(float)
    monetary = np.where(frequency > 0, total / frequency.clip(lower=1), 0.0) \
        if monetary_mode == "mean" else total
    from xlvalue.analytics.transactions import period_index

    last_days = last.astype(np.int64)
    summary = pd.DataFrame({
        "customer_id": out.index.astype(str).to_numpy(dtype=object),
        "first_purchase": out["first_purchase"].to_numpy().astype("datetime64[D]"),
        "last_purchase": last,
        "recency_days": (as_of_day - last_days).astype(np.int64),
        "frequency": frequency.astype(np.int64).to_numpy(),
        "monetary": np.asarray(monetary, dtype=float),
        "total_spend": total.to_numpy(),
        "total_margin": total.to_numpy() * margin_rate,
        "returns": out["returns"].astype(np.int64).to_numpy(),
        "return_amount": out["return_amount"].astype(float).to_numpy(),
        "periods_active": out["periods_active"].astype(np.int64).to_numpy(),
        "r1": (period_index(as_of_day, period_unit) - period_index(last_days, period_unit))
        .astype(np.int64),
    })
    first = int(np.datetime64(pd.Timestamp(first_day), "D").astype(np.int64))
    return summary.reset_index(drop=True), as_of_day, first
