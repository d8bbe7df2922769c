"""Server use: batch runs (process pool and Dask), transactions from CSV/Parquet files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from xlvalue.cli.batch import expand, run_batch
from xlvalue.cli.headless_run import run_workbook
from xlvalue.cli.main import main
from xlvalue.datasets import load_cdnow_sample

from .conftest import write_tables


@pytest.fixture
def folder(demo_book, tmp_path):
    for name in ("a", "b", "c"):
        shutil.copy(demo_book, tmp_path / f"{name}.xlsx")
    (tmp_path / "broken.xlsx").write_text("not a workbook")
    return tmp_path


def test_batch_with_a_process_pool(folder, capsys, demo_run):
    out = folder / "results"
    code = main(["batch", str(folder / "*.xlsx"), "--jobs", "2", "-o", str(out),
                 "--summary", str(folder / "summary.json")])
    captured = capsys.readouterr()
    assert code == 2  # one book failed
    assert "3 of 4 workbook(s) done, 1 failed" in captured.out
    # the per-book error line goes to stderr (the table on stdout names it too)
    assert "error: broken.xlsx: is not an Excel" in captured.err
    assert "error: broken.xlsx" not in captured.out
    summary = json.loads((folder / "summary.json").read_text())
    status = {p["book"].rsplit("/", 1)[-1]: p for p in summary}
    assert status["broken.xlsx"]["status"] == "error"
    assert "not an Excel" in status["broken.xlsx"]["error"]
    largest = max(len(f) for f in demo_run[0].results.frames.values())  # the biggest block
    assert all(status[f"{n}.xlsx"]["status"] == "ok" and status[f"{n}.xlsx"]["rows"] == largest
               for n in "abc")
    assert sorted(p.name for p in out.iterdir()) == ["a_xlvalue.xlsx", "b_xlvalue.xlsx",
                                                     "c_xlvalue.xlsx"]


@pytest.mark.slow
def test_batch_on_a_dask_local_cluster(folder):
    pytest.importorskip("dask.distributed", reason="the dask extra is part of make test")
    books = expand([str(folder / "*.xlsx")])
    summary = run_batch(books, jobs=2, out_dir=folder / "dask", scheduler="local",
                        progress=False)
    assert summary["status"].tolist() == ["ok", "ok", "error", "ok"]  # a, b, broken, c
    pool = run_batch(books, jobs=1, out_dir=folder / "pool", progress=False)
    # identical numbers whichever executor ran them
    a = pd.read_excel(folder / "dask" / "a_xlvalue.xlsx", sheet_name="xv_CLV", header=1, engine="calamine")
    b = pd.read_excel(folder / "pool" / "a_xlvalue.xlsx", sheet_name="xv_CLV", header=1, engine="calamine")
    pd.testing.assert_frame_equal(a, b)
    assert pool["rows"].tolist() == summary["rows"].tolist()


def test_local_cluster_workers_run_without_the_profiler():
    """The local cluster's workers get LOCAL_CLUSTER_CONFIG (no 10 ms stack sampling, a 1 s
    event-loop tick) and no memory limit."""
    pytest.importorskip("dask.distributed", reason="the dask extra is part of make test")
    from xlvalue.cluster.dask_rfm import client_for

    def chores():
        import dask

        return (dask.config.get("distributed.worker.profile.enabled"),
                dask.config.get("distributed.admin.tick.interval"))

    with client_for("local", 1) as client:
        seen = client.run(chores)
        limits = [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]
    assert list(seen.values()) == [(False, "1s")]
    assert limits == [0]


def test_expand_patterns(folder):
    assert [p.name for p in expand([str(folder / "*.xlsx")])] == ["a.xlsx", "b.xlsx",
                                                                 "broken.xlsx", "c.xlsx"]
    with pytest.raises(Exception, match="no .xlsx/.xlsm workbook matches"):
        expand([str(folder / "*.nothing")])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_transactions_from_a_file(tmp_path, suffix, demo_run):
    df = load_cdnow_sample()[["CustomerID", "Date", "Amount"]]
    path = tmp_path / f"log{suffix}"
    if suffix == ".csv":
        df.assign(Date=df["Date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    else:
        df.to_parquet(path)
    book = write_tables(tmp_path / "book.xlsx", {}, {"TransactionsFile": path.name,
                                                     "AsOfDate": "1998-06-30"})
    report = run_workbook(book, only="rfm")
    rfm = report.results.frames["xv_out_RFM"]
    assert len(rfm) == 2357 and rfm["customer_id"].iloc[0] == "00004"  # leading zeros kept
    in_book = demo_run[0].results.frames  # the same log read from the demo workbook
    pd.testing.assert_series_equal(in_book["xv_out_RFM"]["monetary"], rfm["monetary"])
    assert rfm["frequency"].sum() == 6919


def test_bad_transactions_file(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("CustomerID,Date,Amount\n1,2024-01-01,3\n2,someday,4\n3,2024-01-02,x\n")
    book = write_tables(tmp_path / "book.xlsx", {}, {"TransactionsFile": "log.csv"})
    assert main(["run", str(book), "-q"]) == 2
    err = capsys.readouterr().err
    assert "log.csv: line 3 (TransactionsFile): Date 'someday' is not a date" in err
    assert "log.csv: line 4 (TransactionsFile): Amount 'x' is not a number" in err
    assert "xv_Transactions" not in err  # the named file replaces the range, read or not
    book = write_tables(tmp_path / "b2.xlsx", {}, {"TransactionsFile": "missing.parquet"})
    assert main(["run", str(book), "-q"]) == 2
    assert "TransactionsFile not found" in capsys.readouterr().err


@pytest.mark.slow
def test_rfm_of_a_file_on_a_dask_cluster(tmp_path):
    """The cluster path gives the same RFM table as the in-memory path."""
    pytest.importorskip("dask.distributed", reason="the dask extra is part of make test")
    df = load_cdnow_sample()[["CustomerID", "Date", "Amount"]]
    df.to_parquet(tmp_path / "log.parquet")
    book = write_tables(tmp_path / "book.xlsx", {}, {"TransactionsFile": "log.parquet",
                                                     "AsOfDate": "1998-06-30"})
    local = run_workbook(book, tmp_path / "local.xlsx", only="rfm,ranking").results.frames
    cluster = run_workbook(book, tmp_path / "cluster.xlsx", only="rfm,ranking",
                           scheduler="local").results.frames
    a = local["xv_out_RFM"].set_index("customer_id").sort_index()
    b = cluster["xv_out_RFM"].set_index("customer_id").sort_index()
    for col in ("recency_days", "frequency", "total_spend", "periods_active", "r1", "R", "F",
                "M", "segment", "decile", "abc_class"):
        if a[col].dtype.kind == "f":
            np.testing.assert_allclose(b[col].to_numpy(), a[col].to_numpy(), rtol=1e-9)
        else:
            assert (b[col].to_numpy() == a[col].to_numpy()).all(), col
    pd.testing.assert_frame_equal(local["xv_out_Deciles"], cluster["xv_out_Deciles"])
    pd.testing.assert_frame_equal(local["xv_out_Repeat"], cluster["xv_out_Repeat"])


def test_transactions_file_cleaning_and_located_errors(tmp_path):
    """Ids are trimmed (' A' and 'A' are one customer), whole-number ids lose '.0', yyyymmdd
    and BOM-prefixed CSVs read, and each bad cell is named by its line or row."""
    from xlvalue.errors import InputError
    from xlvalue.workbook.transactions_file import read_transactions_file

    csv = tmp_path / "log.csv"
    csv.write_text("\ufeffCustomerID,Date,Amount\nA,20240105,10\n A ,2024-01-07,5.5\nB,2024-01-06,1\n",
                   encoding="utf-8")
    log, rows, _ = read_transactions_file(csv)
    assert rows == 3 and list(log.customer_ids) == ["A", "B"]
    assert log.code.tolist() == [0, 0, 1]
    assert (log.day.astype("datetime64[D]").astype(str)).tolist() == [
        "2024-01-05", "2024-01-07", "2024-01-06"]

    pq = tmp_path / "log.parquet"
    pd.DataFrame({"CustomerID": [7.0, 8.0, 7.0],
                  "Date": pd.to_datetime(["2024-01-01 23:30", "2024-01-02 00:00", "2024-01-03 00:00"])
                  .tz_localize("Europe/Berlin"),
                  "Amount": [1.0, 2.0, 3.0]}).to_parquet(pq)
    log, _, _ = read_transactions_file(pq)
    assert list(log.customer_ids) == ["7", "8"]
    assert str(log.day[0].astype("datetime64[D]")) == "2024-01-01"  # local wall time

    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"CustomerID": ["x", None, "z"],
                  "Date": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
                  "Amount": [1.0, 2.0, None]}).to_parquet(bad)
    with pytest.raises(InputError) as err:
        read_transactions_file(bad)
    text = str(err.value)
    assert "bad.parquet: row 2 (TransactionsFile): CustomerID is blank" in text
    assert "bad.parquet: row 2 (TransactionsFile): Date is blank" in text
    assert "bad.parquet: row 3 (TransactionsFile): Amount is blank" in text


def test_one_shot_runs_release_the_rows_and_refuse_reuse(demo_book):
    """compute() lets RFM drop the log's rows when no CLV follows (memory on big logs); the
    inputs then refuse a second analysis instead of computing on an empty log."""
    from xlvalue.cli.headless_run import compute
    from xlvalue.pipeline import analyse
    from xlvalue.workbook.reader import WorkbookReader

    reader = WorkbookReader.open(demo_book)
    try:
        inputs, results, _ = compute(reader, "rfm,ranking")
        kept, _, _ = compute(reader, "rfm,clv")
    finally:
        reader.close()
    assert inputs.log_released and len(inputs.log) == 0 and inputs.log.n_customers == 2357
    assert len(results.frames["xv_out_RFM"]) == 2357
    assert not kept.log_released and len(kept.log) == 6919
    with pytest.raises(RuntimeError, match="released"):
        analyse(inputs, {"rfm"})


@pytest.mark.slow
def test_batch_timeout_stops_one_book_cleanly_and_the_rest_run(demo_book, tmp_path, capsys,
                                                                monkeypatch):
    """--timeout stops a book that hangs while its output is being written: it is reported,
    its temporary file is removed, nothing is written for it, and the other books run.
    (The pool's workers are forked, so they inherit the hang planted here.)"""
    import multiprocessing
    import time

    from xlvalue.workbook import writer

    assert multiprocessing.get_start_method() == "fork"  # else the hang stays here
    save = writer._Package.save

    def hanging_save(self, path):
        if "slow" in path.name:
            try:  # a step that turns its failures into warnings must not swallow the stop
                time.sleep(600)
            except Exception:
                pass
        return save(self, path)

    monkeypatch.setattr(writer._Package, "save", hanging_save)
    for name in ("fast", "slow"):
        shutil.copy(demo_book, tmp_path / f"{name}.xlsx")
    out = tmp_path / "results"
    code = main(["batch", str(tmp_path / "*.xlsx"), "-j", "2", "-o", str(out),
                 "--timeout", "10", "-q"])
    printed = capsys.readouterr().out
    assert code == 2 and "1 of 2 workbook(s) done, 1 failed" in printed
    assert sorted(p.name for p in out.iterdir()) == ["fast_xlvalue.xlsx"]  # no temp file
    summary = run_batch([tmp_path / "slow.xlsx"], out_dir=out, timeout=1, progress=False)
    assert summary["error"][0] == ("slow.xlsx: stopped after 1 s (--timeout); nothing was "
                                   "written for it")
    assert sorted(p.name for p in out.iterdir()) == ["fast_xlvalue.xlsx"]
    assert main(["batch", str(tmp_path / "fast.xlsx"), "--timeout", "0"]) == 2
    assert main(["batch", str(tmp_path / "fast.xlsx"), "--timeout", "5",
                 "--scheduler", "local"]) == 2
    err = capsys.readouterr().err
    assert "--timeout must be a positive number of seconds" in err
    assert "leave out --timeout or --scheduler" in err


def test_batch_reports_a_book_with_an_analysis_left_out_as_partial(tmp_path, capsys):
    """A book whose plain run left an analysis out for faulty inputs is 'partial' (results
    written, the reason in the error column), not 'ok'; the batch exits 3 (written, but not
    everything), as a partial `run` does. Books
    of the same name in two folders are told apart by their relative paths."""
    import datetime as dt

    d = dt.date
    log = pd.DataFrame([("A", d(2024, 12, 30), 100.0), ("A", d(2024, 12, 1), 80.0),
                        ("B", d(2024, 12, 20), 50.0), ("C", d(2024, 11, 1), 500.0)],
                       columns=["CustomerID", "Date", "Amount"])
    bad = pd.DataFrame([["g1", 10, 100, 12, "lots"]], columns=["Group", "P1", "Q1", "P2", "Q2"])
    for region in ("north", "south"):
        (tmp_path / region).mkdir()
    write_tables(tmp_path / "north" / "sales.xlsx", {"xv_Transactions": log})
    write_tables(tmp_path / "south" / "sales.xlsx", {"xv_Transactions": log,
                                                     "xv_Elasticity": bad})
    reason = ("sales.xlsx: Elasticity!E2 (xv_Elasticity): Q2 'lots' is not a number")
    for summary in ("s.csv", "s.json"):
        code = main(["batch", str(tmp_path / "*" / "*.xlsx"), "-o", str(tmp_path / "res"),
                     "--summary", str(tmp_path / summary)])
        out, err = capsys.readouterr()
        assert code == 3
        assert out.strip().splitlines()[-1] == "2 of 2 workbook(s) done (1 partial), 0 failed"
        table = out.splitlines()
        north = next(line for line in table if "north/sales.xlsx" in line)
        south = next(line for line in table if "south/sales.xlsx" in line)
        assert " ok " in north and " partial " in south and reason in south
        assert err.count(f"warning: elasticity not run: {reason}") == 1
        frame = pd.read_csv(tmp_path / summary) if summary.endswith(".csv") else \
            pd.DataFrame(json.loads((tmp_path / summary).read_text()))
        status = dict(zip(frame["book"].map(lambda b: b.split("/")[-2]), frame["status"],
                          strict=True))
        assert status == {"north": "ok", "south": "partial"}
        assert frame.loc[frame["status"] == "partial", "error"].tolist() == [
            f"elasticity not run: {reason}"]
    assert (tmp_path / "res" / "south" / "sales_xlvalue.xlsx").exists()  # written all the same


def test_batch_help_explains_partial_and_the_exit_code(capsys):
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "partial results written, but an analysis was left out for faulty inputs" in text
    assert "exit code: 2 when a workbook failed, else 3 when one is partial, else 0" in text
