"""Worker processes of `xlvalue batch` that stop with the batch and never outlive it.

Three rules, each for a way a batch used to go wrong (issue 23):

- A worker dies with the batch process. On Linux the kernel sends it SIGTERM when its parent
  dies (prctl PR_SET_PDEATHSIG); everywhere a watcher thread sees the parent gone within a
  second, stops the book, and ends the process a few seconds later even if the book is stuck
  in native code. (Orphaned workers used to run every remaining book, then wait forever on
  a queue nobody read, holding their memory.)
- SIGTERM or SIGINT to a worker stops the book it runs (BookStopped unwinds it: the temporary
  file is removed, nothing is written) and the worker takes the next book: the batch reports
  that one book and goes on. A worker between books just ends (the pool reruns what it had).
- When the batch itself is stopped (SIGTERM, Ctrl-C), `StoppablePool.stop` sets an event that
  keeps workers from starting another book, sends SIGTERM to each worker, collects what
  finishes within STOP_GRACE seconds and kills what is left: the batch ends within seconds,
  with every book finished before the stop kept.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures

__all__ = ["STOP_GRACE", "BookStopped", "StoppablePool", "book_running", "parent_gone",
           "start_worker", "stopping"]

STOP_GRACE = 5.0  # seconds a stopped batch waits for its workers' books to unwind

_STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), signal.SIGINT) if s)
_state = {"parent": 0, "direct": False, "in_book": False}
_stop_event = None  # the batch's event, in a worker: set when the batch stops


class BookStopped(BaseException):
    """A signal (SIGTERM, SIGINT) stopped the book a worker was running. A BaseException, so
    no `except Exception` on the way can swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _on_stop_signal(signum: int, _frame) -> None:
    if _state["in_book"]:
        raise BookStopped(signum)
    os._exit(128 + signum)  # between books: nothing to unwind


def parent_gone(settle: float = 0.0) -> bool:
    """The batch process that started this worker has ended, or is ending: its main thread
    is a zombie. (A killed process's threads end one by one; the kernel sends the
    parent-death signal as the forking thread ends, which may be before this worker is
    handed to init.) `settle` seconds are given for that to show."""
    parent = _state["parent"]
    if not parent:
        return False
    end = time.monotonic() + settle
    while True:
        if _state["direct"] and os.getppid() != parent:
            return True
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        if _dying(parent):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


def _dying(pid: int) -> bool:
    """Linux: the process's main thread has ended (state Z or X in /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in (b"Z", b"X")


def start_worker(parent: int, stop) -> None:
    """The initializer of each worker process: stop signals stop the book, and the worker
    ends with the batch process `parent`; `stop` is the batch's stop event."""
    global _stop_event
    _stop_event = stop
    _state.update(parent=parent, direct=os.getppid() == parent, in_book=False)
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _on_stop_signal)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    if parent_gone():  # the batch died before the line above
        os._exit(1)
    threading.Thread(target=_watch_parent, name="xlvalue-parent-watch", daemon=True).start()


def _watch_parent() -> None:
    while not parent_gone():
        time.sleep(1.0)
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)  # unwind the book, if one runs
    time.sleep(STOP_GRACE)
    os._exit(1)  # a book stuck in native code never got to the handler


def stopping() -> bool:
    """In a worker: the batch is stopping (start no new book)."""
    return _stop_event is not None and _stop_event.is_set()


@contextlib.contextmanager
def book_running() -> Iterator[None]:
    """While a book runs, a stop signal raises BookStopped in it (between books it ends the
    worker)."""
    _state["in_book"] = True
    try:
        yield
    finally:
        _state["in_book"] = False


class StoppablePool:
    """A ProcessPoolExecutor whose workers run start_worker, and that can be stopped at once."""

    def __init__(self, jobs: int) -> None:
        context = multiprocessing.get_context()
        self.event = context.Event()
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                        initializer=start_worker,
                                        initargs=(os.getpid(), self.event))

    def submit(self, fn: Callable, *args) -> Future:
        return self.pool.submit(fn, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def stop(self, pending: list[Future], collect: Callable[[Future], None]) -> None:
        """Stop now: no worker starts another book, each running book gets SIGTERM (and
        unwinds, writing nothing unless its rename was done), `collect` is called for every
        future of `pending` that finishes within STOP_GRACE seconds, and workers still alive
        then are killed. Further stop signals are ignored meanwhile (the stop is bounded)."""
        with _signals_ignored():
            self.event.set()
            for f in pending:
                f.cancel()  # not yet handed to a worker
            # the executor's own table of its worker processes: the only handle on them
            workers = list((getattr(self.pool, "_processes", None) or {}).values())
            for process in workers:
                with contextlib.suppress(OSError, ValueError):
                    process.terminate()  # SIGTERM
            finished, _ = wait_futures(pending, timeout=STOP_GRACE)
            for f in pending:
                if f in finished and not f.cancelled() and f.exception() is None:
                    collect(f)
            for process in workers:
                with contextlib.suppress(OSError, ValueError):
                    if process.is_alive():  # stuck in native code
                        process.kill()
            self.pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Stop signals ignored in this (main) thread's process while the block runs."""
    previous = {}
    try:
        for signum in _STOP_SIGNALS:
            previous[signum] = signal.signal(signum, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to ignore
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
