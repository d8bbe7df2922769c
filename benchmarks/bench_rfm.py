"""Repeat-purchase summary: our numpy reductions, and the public lifetimes-style function on
text and integer ids, vs an exact pandas groupby on the same frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlvalue.analytics.rfm import repeat_summary
from xlvalue.analytics.summary_data import summary_data_from_transaction_data
from xlvalue.analytics.transactions import TransactionLog

from .common import best_of, peak_memory, report


def synthetic(n_rows: int, n_customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-01-01", "D")
    return pd.DataFrame({
        "CustomerID": rng.integers(0, n_customers, n_rows),
        "Date": start + rng.integers(0, 730, n_rows).astype("timedelta64[D]"),
        "Amount": np.round(rng.gamma(2.0, 20.0, n_rows), 2),
    })


def pandas_reference(df: pd.DataFrame, end: np.datetime64) -> pd.DataFrame:
    """The same output with plain pandas: purchase days, first day, repeat days' mean."""
    daily = df.groupby(["CustomerID", "Date"], sort=True)["Amount"].sum().reset_index()
    g = daily.groupby("CustomerID", sort=False)
    first = g["Date"].transform("min")
    repeat = daily[daily["Date"] != first]
    out = g.agg(first=("Date", "min"), last=("Date", "max"), days=("Date", "size"))
    rep = repeat.groupby("CustomerID")["Amount"].mean()
    return pd.DataFrame({
        "frequency": out["days"] - 1,
        "recency": (out["last"] - out["first"]).dt.days / 7.0,
        "T": (end - out["first"]).dt.days / 7.0,
        "monetary_value": rep.reindex(out.index).fillna(0.0),
    })


def run(quick: bool = False) -> None:
    n_rows, n_cust = (200_000, 20_000) if quick else (1_000_000, 100_000)
    df = synthetic(n_rows, n_cust)
    end = df["Date"].max().to_datetime64().astype("datetime64[D]")
    end_day = int(end.astype(np.int64))

    def ours():
        log = TransactionLog.from_arrays(df["CustomerID"].to_numpy(), df["Date"].to_numpy(),
                                         df["Amount"].to_numpy())
        return repeat_summary(log, end_day, "weeks")

    t_ours, s = best_of(ours)
    t_ref, ref = best_of(lambda: pandas_reference(df, end))
    ref = ref.reindex(s["customer_id"].astype(int))
    assert (ref["frequency"].to_numpy() == s["frequency"].to_numpy()).all()
    assert np.allclose(ref["monetary_value"].to_numpy(), s["monetary_value"].to_numpy())
    report(f"repeat summary {n_rows:,} rows / {n_cust:,} customers", t_ours, t_ref,
           "pandas groupby", "<= 0.5x")
    # the public function as a user calls it (frame in, frame out, sorted by id), on text ids
    # of pandas' default string dtype and on integer ids; lifetimes' weeks of 7 days
    text = df.assign(CustomerID="C" + df["CustomerID"].astype(str).str.zfill(6))
    for label, frame in (("text", text), ("integer", df)):
        t_pub, pub = best_of(lambda frame=frame: summary_data_from_transaction_data(
            frame, "CustomerID", "Date", "Amount", freq="D", freq_multiplier=7), repeat=5)
        t_ref, ref = best_of(lambda frame=frame: pandas_reference(frame, end), repeat=5)
        assert pub.index.equals(ref.index)
        assert np.allclose(pub.to_numpy(), ref.to_numpy(dtype=float))
        report(f"summary_data_from_transaction_data, {label} ids", t_pub, t_ref,
               "pandas groupby", "<= 0.5x" if label == "text" else "")
    big_rows, big_cust = (2_000_000, 200_000) if quick else (10_000_000, 1_000_000)
    big = synthetic(big_rows, big_cust, seed=1)
    cust = big["CustomerID"].to_numpy()
    dates = big["Date"].to_numpy()
    amount = big["Amount"].to_numpy()
    del big
    input_bytes = cust.nbytes + dates.nbytes + amount.nbytes

    def big_run():
        log = TransactionLog.from_arrays(cust, dates, amount)
        return repeat_summary(log, int(dates.max().astype("datetime64[D]").astype(np.int64)))

    t_big, _ = best_of(big_run, repeat=1)
    peak, _ = peak_memory(big_run)
    print(f"repeat summary {big_rows:,} rows / {big_cust:,} customers: {t_big:.2f} s, peak "
          f"{peak / 1e6:,.0f} MB = {peak / input_bytes:.2f}x the input columns "
          f"({input_bytes / 1e6:,.0f} MB; target <= 2x)", flush=True)
