"""One computation path: a TransactionsFile read in parts on a Dask cluster gives every
output block of a local run, column for column (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlvalue.datasets import load_cdnow_sample
from xlvalue.pipeline import compute
from xlvalue.workbook.reader import WorkbookReader

from .conftest import write_tables

pytest.importorskip("dask.distributed", reason="the dask extra is part of make test")


def _log_file(tmp_path, suffix: str):
    """CDNOW with what the old cluster path ignored: Cost on some rows, a Margin rate on
    others, an alias header (Customer), Excel serial dates (Parquet) or yyyymmdd text (CSV),
    ids with spaces, returns."""
    df = load_cdnow_sample()[["CustomerID", "Date", "Amount"]].copy()
    n = len(df)
    rng = np.random.default_rng(7)
    cost = np.where(np.arange(n) % 3 == 0, df["Amount"] * 0.9, np.nan)
    margin = np.where(np.arange(n) % 3 == 1, 0.25, np.nan)
    ids = df["CustomerID"].astype(str)
    ids = np.where(np.arange(n) % 5 == 0, " " + ids + " ", ids)  # the same customers, padded
    if suffix == ".csv":
        date = np.where(np.arange(n) % 2 == 0, df["Date"].dt.strftime("%Y%m%d"),
                        df["Date"].dt.strftime("%Y-%m-%d"))
    else:
        date = (df["Date"] - pd.Timestamp("1899-12-30")).dt.days.astype(float).to_numpy()
    amount = df["Amount"].to_numpy().copy()
    amount[rng.choice(n, 40, replace=False)] *= -0.5  # some returns
    out = pd.DataFrame({"Customer": ids, "Date": date, "Amount": amount, "Cost": cost,
                        "Margin": margin})
    path = tmp_path / f"log{suffix}"
    if suffix == ".csv":
        out.to_csv(path, index=False)
    else:
        out.to_parquet(path, row_group_size=1500)
    return path


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client

    with Client(processes=False, n_workers=2, threads_per_worker=1,
                dashboard_address=":0") as c:
        yield c


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cluster_equals_local_on_every_column_of_every_block(tmp_path, client, suffix):
    from xlvalue.cluster.dask_rfm import cluster_file_reader

    path = _log_file(tmp_path, suffix)
    book = write_tables(tmp_path / "book.xlsx", {}, {
        "TransactionsFile": path.name, "AsOfDate": "1998-06-30",
        "CalibrationEnd": "1997-09-30", "FrequencyMode": "days", "MonetaryMode": "total"})
    reader = WorkbookReader.open(book)
    try:
        _, local, _ = compute(reader, "rfm,ranking,clv")
        # parts of ~20 kB: the file is read in several parts, a customer's days span parts
        inputs, cluster, _ = compute(reader, "rfm,ranking,clv",
                                     read_file=cluster_file_reader(client, part_bytes=20_000))
    finally:
        reader.close()
    assert inputs.days is not None and len(inputs.log) == 0  # no rows came to this process
    assert set(local.frames) == set(cluster.frames)
    assert {"xv_out_RFM", "xv_out_Repeat", "xv_out_CLV", "xv_out_Holdout",
            "xv_out_Models", "xv_out_Deciles"} <= set(local.frames)
    for name, a in local.frames.items():
        b = cluster.frames[name]
        assert list(a.columns) == list(b.columns), name
        assert len(a) == len(b), name
        for col in a.columns:
            x, y = a[col].to_numpy(), b[col].to_numpy()
            if x.dtype.kind == "f":
                np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9, err_msg=f"{name}.{col}")
            else:
                assert (x == y).all(), f"{name}.{col}"
    rfm = local.frames["xv_out_RFM"]
    # the margin uses Cost and Margin (a flat 0.3 everywhere would give 0.3 x spend)
    assert rfm["total_margin"].sum() < 0.25 * rfm["total_spend"].sum()
    # padded ids are the same customers (a few whose only purchase became a return drop out)
    assert 2340 < len(rfm) <= 2357 and not rfm["customer_id"].str.contains(" ").any()
    assert sorted(local.warnings) == sorted(cluster.warnings)


def test_cluster_reports_bad_rows_by_their_line(tmp_path, client):
    from xlvalue.cluster.dask_rfm import cluster_file_reader
    from xlvalue.errors import InputError

    lines = ["CustomerID,Date,Amount"] + [f"{i % 50},2024-01-{i % 28 + 1:02d},{i}"
                                          for i in range(3000)]
    lines[2000] = "7,2024-01-05,\"12,5\""  # line 2001 of the file
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    book = write_tables(tmp_path / "book.xlsx", {}, {"TransactionsFile": "log.csv"})
    reader = WorkbookReader.open(book)
    try:
        with pytest.raises(InputError) as err:
            compute(reader, "rfm", read_file=cluster_file_reader(client, part_bytes=4000))
    finally:
        reader.close()
    assert "log.csv: line 2001 (TransactionsFile): Amount '12,5' is not a number" in str(err.value)



NOISY_RUN = """
import logging, sys
import dask.distributed
from xlvalue.cli.main import main
from xlvalue.cluster import dask_rfm

reader_for = dask_rfm.cluster_file_reader

def noisy_reader(client, *args, **kwargs):
    read = reader_for(client, *args, **kwargs)
    def read_noisily(*a, **k):
        for name in ("distributed.nanny", "distributed.worker", "distributed.scheduler"):
            logging.getLogger(name).warning("Worker process still alive after 3 seconds")
        return read(*a, **k)
    return read_noisily

dask_rfm.client_for = lambda _s: dask.distributed.Client(
    processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0")
dask_rfm.cluster_file_reader = noisy_reader
sys.exit(main(sys.argv[1:]))
"""


def test_dask_log_lines_stay_out_of_the_console(tmp_path):
    """A --scheduler run keeps Dask's own log lines (worker restarts, slow shutdowns: warnings
    of distributed's loggers, which print to stderr by default) out of the console, in a
    process of its own as the CLI runs; the run's own lines stay."""
    import subprocess
    import sys
    from pathlib import Path

    _log_file(tmp_path, ".csv")
    book = write_tables(tmp_path / "book.xlsx", {}, {"TransactionsFile": "log.csv",
                                                     "AsOfDate": "1998-06-30"})
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", NOISY_RUN, "run", str(book), "--only", "rfm",
                           "--scheduler", "local", "-o", str(tmp_path / "out.xlsx")],
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "results written to" in done.stdout and "reading book.xlsx" in done.stderr
    assert "still alive" not in done.stdout + done.stderr
