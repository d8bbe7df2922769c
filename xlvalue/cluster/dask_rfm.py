"""Dask clients, and a TransactionsFile read in parts on a cluster.

There is one computation path: the workers read their parts of the file with the ordinary
TransactionsFile reader and reduce them to purchase days (partial sums per customer and
day); the pipeline finishes with the same core reductions as a local run (RFM, repeat
summary, margin history, CLV), so every output block is the same, column for column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xlvalue.analytics.transactions import ReducedLog, merge_purchase_days, purchase_days
from xlvalue.errors import InputError, Problem
from xlvalue.workbook.transactions_file import (
    FilePart,
    RowProblems,
    file_parts,
    file_sha256,
    read_part,
)

__all__ = ["LOCAL_CLUSTER_CONFIG", "client_for", "cluster_file_reader"]


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


def _reduce_part(part: FilePart, default_margin_rate: float):
    """On a worker: one part of the file read by the TransactionsFile reader (same
    conversions and checks as a local run) and reduced to its purchase days."""
    log, rows, found = read_part(part, default_margin_rate)
    if log is None:
        return None, None, rows, found
    days = purchase_days([log])
    return log.customer_ids, days, rows, found


def cluster_file_reader(client, part_bytes: int = 64 << 20
                        ) -> Callable[[Path, float], tuple[ReducedLog, int, str]]:
    """A TransactionsFile reader for read_inputs that reads the file's parts on the cluster.

    Each worker reads its part (CSV lines or Parquet row groups) with the same reader as a
    local run and reduces it to purchase days, partial sums per (customer, day); this
    process merges them and the core reductions finish every summary, exactly as locally.
    Only one row per (customer, purchase day) comes back, never the rows.
    """
    def read(path: Path, default_margin_rate: float) -> tuple[ReducedLog, int, str]:
        parts = file_parts(path, part_bytes)
        futures = client.map(_reduce_part, parts, default_margin_rate=default_margin_rate,
                             pure=False)
        found = RowProblems()
        reduced = []
        offset = 0
        for ids, days, rows, part_found in client.gather(futures):
            found.merge(part_found, offset)
            offset += rows
            if days is not None:
                reduced.append((ids, days))
        if found:
            raise InputError(found.located(path.name, parts[0].csv))
        merged = merge_purchase_days(reduced, default_margin_rate)
        return merged, offset, file_sha256(path)

    return read
