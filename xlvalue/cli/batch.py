"""Many workbooks at once: a local process pool, or a Dask cluster, one summary at the end.

Each book runs the ordinary headless engine in a worker process, also with `--jobs 1`: a book
that kills its process (a native library's abort, the out-of-memory killer) takes only that
process down. The books the broken pool had not finished are then run again one per fresh
process, so the one that fails is named and every other book still runs. A book that runs
longer than `timeout` seconds is stopped (a timer signal in its worker process: the run
unwinds, its temporary file is removed, nothing is written) and reported, and the batch goes
on. Results come back as small dicts (book, status, seconds, rows, output, error); status is
'ok', 'partial' (written, but an analysis was left out for faulty inputs: the error column
says which and why) or 'error' (nothing written).

Signals (xlvalue.cli.workers): workers end with the batch process; SIGTERM to one worker stops
only its book (reported, the batch goes on); SIGTERM or Ctrl-C to the batch stops it within
seconds, keeps every book finished before the stop, lists the others as not done, and the
summary says so (`summary.attrs["interrupted"]`; the command line writes it and exits 130).
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from xlvalue.cli.limits import OUT_OF_MEMORY
from xlvalue.cli.workers import BookStopped, StoppablePool, book_running, parent_gone, stopping
from xlvalue.errors import InputError, Problem, XlvalueError

__all__ = ["SUMMARY_COLUMNS", "BookTimeout", "console_table", "expand", "output_paths",
           "relative_names", "run_batch", "run_one", "write_table"]

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


def relative_names(books: list[str]) -> list[str]:
    """Each book's path relative to the books' deepest common folder (north/sales.xlsx and
    south/sales.xlsx, not sales.xlsx twice; just the names when they share one folder)."""
    paths = [Path(b).resolve() for b in books]
    if not paths:
        return []
    common = Path(os.path.commonpath([p.parent for p in paths]))
    return [p.relative_to(common).as_posix() for p in paths]


def console_table(summary: pd.DataFrame) -> str:
    """The summary as the console shows it: books relative to their common folder, text
    columns read from the left, numbers from the right."""
    cells = [["book", "status", "seconds", "rows", "error"]]
    cells += [[name, r.status, f"{r.seconds:.2f}", f"{r.rows:,}", r.error]
              for name, r in zip(relative_names(summary["book"].tolist()),
                                 summary.itertuples(), strict=True)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                   row[3].rjust(widths[3]), row[4]]).rstrip() for row in cells)


def output_paths(books: list[Path], out_dir: Path) -> list[Path]:
    """Where each book's results go under `out_dir`: the books' folders relative to their
    deepest common folder are mirrored, so same-named books from different folders never
    overwrite each other (books of one folder land directly in `out_dir`). Folders are taken
    as the books were named (links not followed): a link `a.xlsx` beside a file `sub/a.xlsx`
    writes `a_xlvalue.xlsx` and `sub/a_xlvalue.xlsx`, as the names say."""
    from xlvalue.cli.headless_run import default_output

    folders = [Path(os.path.abspath(b)).parent for b in books]
    common = Path(os.path.commonpath(folders)) if folders else Path(".")
    outs = [out_dir / f.relative_to(common) / default_output(b).name
            for b, f in zip(books, folders, strict=True)]
    seen: dict[str, Path] = {}
    for b, o in zip(books, outs, strict=True):  # normcase: one file on Windows, whatever the case
        key = os.path.normcase(str(o))
        if key in seen:
            raise InputError(Problem(f"{b} and {seen[key]} would both write {o}"))
        seen[key] = b
    return outs


class BookTimeout(BaseException):
    """A book ran longer than the batch's --timeout. A BaseException, like KeyboardInterrupt,
    so that no `except Exception` on the way (a step that turns its failures into warnings)
    can swallow it and let the book run on."""


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise BookTimeout in this process's main thread after `seconds` (None: no limit)."""
    if not seconds:
        yield
        return

    def expire(_signum, _frame):
        raise BookTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_one(book: str, output: str | None, only: str | None,
            file_roots: tuple[str, ...] = (), timeout: float | None = None) -> dict:
    """Run one workbook into `output` (None: beside it), stopped after `timeout` seconds or
    by a stop signal to its worker; never raises for the book's own problems (they go into
    the dict)."""
    from xlvalue.cli.headless_run import default_output, run_workbook
    from xlvalue.cli.targets import writable

    started = time.perf_counter()
    since = time.monotonic()
    path = Path(book)
    target = Path(output) if output is not None else default_output(path)
    if stopping():  # the batch is being stopped: this book is not started
        return _not_done(book, f"{path.name}: not run, the batch was stopped first; nothing "
                         "was written for it")
    try:
        with book_running():
            if output is not None:
                Path(output).parent.mkdir(parents=True, exist_ok=True)
            writable(target)  # before computing, not after
            with _time_limit(timeout):
                report = run_workbook(path, output, only,
                                      file_roots=[Path(r) for r in file_roots])
            rows = max((len(f) for f in report.results.frames.values()), default=0)
            not_run = report.results.not_run_lines()
            return {"book": book, "status": "partial" if not_run else "ok",
                    "seconds": time.perf_counter() - started, "rows": rows,
                    "output": str(report.output),
                    "error": "; ".join(line if path.name in line else f"{path.name}: {line}"
                                       for line in not_run)}
    except BookStopped as stop:
        if parent_gone(settle=0.3):  # the batch is gone: nobody to report to (book unwound)
            os._exit(1)
        from xlvalue.workbook.writer import written_since

        if target in written_since(since):  # the signal came after the rename: it is whole
            return {"book": book, "status": "ok", "seconds": time.perf_counter() - started,
                    "rows": 0, "output": str(target), "error": f"{path.name}: {stop.name} "
                    "came after its results were written (complete)"}
        message = f"{path.name}: stopped by {stop.name}; nothing was written for it"
    except BookTimeout:
        message = (f"{path.name}: stopped after {timeout:g} s (--timeout); nothing was written "
                   "for it")
    except XlvalueError as exc:
        message = str(exc).splitlines()[0]
    except MemoryError:
        message = f"{path.name}: {OUT_OF_MEMORY}"
    except Exception as exc:  # a crash in one book must not stop the batch
        message = f"internal error: {type(exc).__name__}: {exc}"
    return {"book": book, "status": "error", "seconds": time.perf_counter() - started,
            "rows": 0, "output": "", "error": message}


def _not_done(book: str, message: str) -> dict:
    return {"book": book, "status": "error", "seconds": 0.0, "rows": 0, "output": "",
            "error": message}


def run_batch(books: list[Path], jobs: int = 1, out_dir: Path | None = None,
              only: str | None = None, scheduler: str | None = None,
              progress: bool = True, client=None, file_roots=(),
              timeout: float | None = None) -> pd.DataFrame:
    """Run every book, in parallel; returns the summary frame (one row per book, in order).

    `client` reuses a running dask.distributed Client (a long-lived cluster) instead of
    connecting to `scheduler`. `timeout` (seconds per book) needs local worker processes:
    a Dask worker runs books in threads, where no timer signal can stop them.
    """
    if timeout is not None and (scheduler or client is not None):
        raise InputError(Problem("--timeout stops books in local worker processes (-j); a Dask "
                                 "cluster runs them in worker threads: leave out --timeout "
                                 "or --scheduler"))
    if timeout is not None and not hasattr(signal, "setitimer"):
        raise InputError(Problem("--timeout needs a Unix system (a timer signal stops the book)"))
    if timeout is not None and not timeout > 0:
        raise InputError(Problem(f"--timeout must be a positive number of seconds, not {timeout:g}"))
    roots = tuple(str(r) for r in file_roots)
    if out_dir is not None:  # made once nothing can refuse the batch: none left behind empty
        outs = output_paths(books, out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        args = [(str(b), str(o), only, roots, timeout)
                for b, o in zip(books, outs, strict=True)]
    else:
        args = [(str(b), None, only, roots, timeout) for b in books]
    bar = tqdm(total=len(args), unit="book", disable=not progress, desc="xlvalue batch")
    results: dict[str, dict] = {}

    def done(result: dict) -> None:
        if result["book"] in results:
            return
        results[result["book"]] = result
        bar.update(1)
        if result["status"] != "ok":  # on stderr, above the bar, as it goes
            kind = "warning" if result["status"] == "partial" else "error"
            bar.write(f"{kind}: {result['error']}", file=sys.stderr)

    try:
        if client is not None:
            interrupted = _submit_all(client, args, done)
        elif scheduler:
            interrupted = _run_dask(args, jobs, scheduler, done)
        else:
            interrupted = _run_local(args, max(jobs, 1), done)
    finally:
        bar.close()
    rows = [results.get(a[0]) or _not_done(a[0], f"{Path(a[0]).name}: not done, the batch was "
                                           "stopped first; nothing was written for it")
            for a in args]
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    summary.attrs["interrupted"] = interrupted
    return summary


def _run_local(args: list[tuple], jobs: int, done: Callable[[dict], None]) -> bool:
    """Run the books in a pool of worker processes; the books left over when a worker dies
    run again one per fresh process (see the module docstring). True when the batch was
    stopped (SIGTERM, Ctrl-C: KeyboardInterrupt here) before every book was done."""
    left: list[tuple] = []
    pool = StoppablePool(jobs)
    futures: dict[Future, tuple] = {}
    handled: set[Future] = set()
    try:
        for a in args:
            futures[pool.submit(run_one, *a)] = a
        for f in as_completed(futures):
            try:
                done(f.result())
            except BrokenProcessPool:
                left.append(futures[f])
            except BookStopped as stop:  # the signal came just outside the book's own handling
                done(_not_done(futures[f][0], f"{Path(futures[f][0]).name}: stopped by "
                               f"{stop.name}; nothing was written for it"))
            handled.add(f)
    except KeyboardInterrupt:
        pool.stop([f for f in futures if f not in handled], lambda f: done(f.result()))
        return True
    pool.close()
    for a in sorted(left, key=args.index):
        try:
            _isolated(a, done)
        except KeyboardInterrupt:
            return True
    return False


def _isolated(a: tuple, done: Callable[[dict], None]) -> None:
    """One book in a process of its own: its result, or an error saying the process died,
    handed to `done`. A stop (KeyboardInterrupt) stops that process (the book's result still
    counts if it comes within the grace) and goes on up."""
    started = time.perf_counter()
    pool = StoppablePool(1)
    future = None
    try:
        future = pool.submit(run_one, *a)
        result = future.result()
        pool.close()
        done(result)
        return
    except KeyboardInterrupt:
        pool.stop([future] if future is not None else [], lambda f: done(f.result()))
        raise
    except BookStopped as stop:
        pool.close()
        message = f"{Path(a[0]).name}: stopped by {stop.name}; nothing was written for it"
    except BrokenProcessPool:
        pool.close()
        message = (f"{Path(a[0]).name}: the process reading this workbook ended abnormally "
                   "(a crash in a native reader, or out of memory); the other books were not "
                   "affected. Re-save the workbook in Excel, or report it")
    done({"book": a[0], "status": "error", "seconds": time.perf_counter() - started,
          "rows": 0, "output": "", "error": message})


def _run_dask(args: list[tuple], jobs: int, scheduler: str, done: Callable[[dict], None]
              ) -> bool:
    from xlvalue.cluster.dask_rfm import client_for

    client = client_for(scheduler, jobs)
    try:
        return _submit_all(client, args, done)
    finally:
        client.close()


def _submit_all(client, args: list[tuple], done: Callable[[dict], None]) -> bool:
    """Run the books on a Dask client; True when stopped (KeyboardInterrupt) before the end:
    the books not finished are cancelled."""
    from dask.distributed import as_completed as dask_completed

    futures = {client.submit(run_one, *a, pure=False): a for a in args}
    try:
        for f in dask_completed(list(futures)):
            try:
                done(f.result())
            except Exception as exc:  # a worker killed while running the book (KilledWorker)
                done({"book": futures[f][0], "status": "error", "seconds": 0.0, "rows": 0,
                      "output": "", "error": f"{Path(futures[f][0]).name}: the worker running "
                      f"this workbook failed ({type(exc).__name__}); the other books were not "
                      "affected"})
    except KeyboardInterrupt:
        client.cancel([f for f in futures if not f.done()])
        return True
    return False


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """The summary, CSV or JSON by the file's extension, written atomically; in a CSV, text
    that a spreadsheet would take for a formula (a book named `=1+1.xlsx`) gets a leading
    apostrophe (xlvalue.workbook.reports, as `eval --report`)."""
    from xlvalue.workbook.reports import write_table as write_report

    write_report(frame, path)
