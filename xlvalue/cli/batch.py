"""Many workbooks at once: a local process pool, or a Dask cluster, one summary at the end.

Each book runs the ordinary headless engine in its own process; one bad book never stops the
others. Results come back as small dicts (book, status, seconds, rows, output, error).
"""

from __future__ import annotations

import glob
import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from xlvalue.errors import InputError, Problem, XlvalueError

__all__ = ["SUMMARY_COLUMNS", "expand", "output_paths", "run_batch", "run_one", "write_table"]

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


def output_paths(books: list[Path], out_dir: Path) -> list[Path]:
    """Where each book's results go under `out_dir`: the books' folders relative to their
    deepest common folder are mirrored, so same-named books from different folders never
    overwrite each other (books of one folder land directly in `out_dir`)."""
    from xlvalue.cli.headless_run import default_output

    folders = [b.resolve().parent for b in books]
    common = Path(os.path.commonpath(folders)) if folders else Path(".")
    outs = [out_dir / f.relative_to(common) / default_output(b).name
            for b, f in zip(books, folders, strict=True)]
    seen: dict[Path, Path] = {}
    for b, o in zip(books, outs, strict=True):  # cannot happen after mirroring; never overwrite
        if o in seen:
            raise InputError(Problem(f"{b} and {seen[o]} would both write {o}"))
        seen[o] = b
    return outs


def run_one(book: str, output: str | None, only: str | None,
            file_roots: tuple[str, ...] = ()) -> dict:
    """Run one workbook into `output` (None: beside it); never raises for the book's own
    problems (they go into the dict)."""
    from xlvalue.cli.headless_run import run_workbook

    started = time.perf_counter()
    path = Path(book)
    try:
        if output is not None:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
        report = run_workbook(path, output, only, file_roots=[Path(r) for r in file_roots])
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
              progress: bool = True, client=None, file_roots=()) -> pd.DataFrame:
    """Run every book, in parallel; returns the summary frame (one row per book, in order).

    `client` reuses a running dask.distributed Client (a long-lived cluster) instead of
    connecting to `scheduler`.
    """
    roots = tuple(str(r) for r in file_roots)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        args = [(str(b), str(o), only, roots) for b, o in zip(books, output_paths(books, out_dir),
                                                             strict=True)]
    else:
        args = [(str(b), None, only, roots) for b in books]
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
