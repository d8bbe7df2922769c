"""Many workbooks at once: a local process pool, or a Dask cluster, one summary at the end.

Each book runs the ordinary headless engine in its own process; one bad book never stops the
others. Results come back as small dicts (book, status, seconds, rows, output, error).
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from xlvalue.errors import InputError, Problem, XlvalueError

__all__ = ["SUMMARY_COLUMNS", "expand", "run_batch", "run_one", "write_table"]

SUMMARY_COLUMNS = ["book", "status", "seconds", "rows", "output", "error"]


def expand(patterns: Iterable[str]) -> list[Path]:
    """Workbooks matched by glob patterns (recursive ** allowed), sorted, without duplicates."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        matches = glob.glob(pattern, recursive=True) or ([pattern] if Path(pattern).exists() else [])
        for m in matches:
            p = Path(m)
            if p.is_file() and p.suffix.lower() in (".xlsx", ".xlsm") and "_xlvalue" not in p.stem \
                    and not p.name.startswith((".", "~$")):
                found[str(p.resolve())] = p
    if not found:
        raise InputError(Problem(f"no .xlsx/.xlsm workbook matches {' '.join(patterns)}"))
    return [found[k] for k in sorted(found)]


def run_one(book: str, out_dir: str | None, only: str | None) -> dict:
    """Run one workbook; never raises for the book's own problems (they go into the dict)."""
    from xlvalue.cli.headless_run import default_output, run_workbook

    started = time.perf_counter()
    path = Path(book)
    output = Path(out_dir) / default_output(path).name if out_dir else None
    try:
        report = run_workbook(path, output, only)
        rows = max((len(f) for f in report.results.frames.values()), default=0)
        return {"book": book, "status": "ok", "seconds": time.perf_counter() - started,
                "rows": rows, "output": str(report.output), "error": ""}
    except XlvalueError as exc:
        message = str(exc).splitlines()[0]
    except Exception as exc:  # a crash in one book must not stop the batch
        message = f"internal error: {type(exc).__name__}: {exc}"
    return {"book": book, "status": "error", "seconds": time.perf_counter() - started,
            "rows": 0, "output": "", "error": message}


def run_batch(books: list[Path], jobs: int = 1, out_dir: Path | None = None,
              only: str | None = None, scheduler: str | None = None,
              progress: bool = True, client=None) -> pd.DataFrame:
    """Run every book, in parallel; returns the summary frame (one row per book, in order).

    `client` reuses a running dask.distributed Client (a long-lived cluster) instead of
    connecting to `scheduler`.
    """
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    args = [(str(b), str(out_dir) if out_dir else None, only) for b in books]
    bar = tqdm(total=len(args), unit="book", disable=not progress, desc="xlvalue batch")
    results: list[dict] = []

    def done(result: dict) -> None:
        results.append(result)
        bar.update(1)
        if result["status"] != "ok":
            bar.write(f"error: {result['error']}")

    try:
        if client is not None:
            _submit_all(client, args, done)
        elif scheduler:
            _run_dask(args, jobs, scheduler, done)
        elif jobs <= 1:
            for a in args:
                done(run_one(*a))
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(run_one, *a) for a in args]
                for f in as_completed(futures):
                    done(f.result())
    finally:
        bar.close()
    order = {a[0]: i for i, a in enumerate(args)}
    results.sort(key=lambda r: order[r["book"]])
    return pd.DataFrame(results, columns=SUMMARY_COLUMNS)


def _run_dask(args: list[tuple], jobs: int, scheduler: str, done: Callable[[dict], None]) -> None:
    from xlvalue.cluster.dask_rfm import client_for

    client = client_for(scheduler, jobs)
    try:
        _submit_all(client, args, done)
    finally:
        client.close()


def _submit_all(client, args: list[tuple], done: Callable[[dict], None]) -> None:
    from dask.distributed import as_completed as dask_completed

    futures = [client.submit(run_one, *a, pure=False) for a in args]
    for f in dask_completed(futures):
        done(f.result())


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """A machine-readable report, CSV or JSON by the file's extension, written atomically."""
    from xlvalue.workbook.writer import atomic_write

    if path.suffix.lower() == ".json":
        atomic_write(path, lambda tmp: tmp.write_text(
            json.dumps(frame.to_dict(orient="records"), indent=1, default=str)))
    else:
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
