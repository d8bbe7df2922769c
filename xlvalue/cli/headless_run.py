"""Headless runs: read a workbook through the contract, analyse, write the outputs safely."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xlvalue.errors import InputError, Problem
from xlvalue.pipeline import Progress, Results, compute, headline, sheet_outputs
from xlvalue.workbook.ooxml import WORKBOOK_SUFFIXES
from xlvalue.workbook.reader import WorkbookReader
from xlvalue.workbook.writer import atomic_write, write_outputs

__all__ = ["WORKBOOK_SUFFIXES", "RunReport", "default_output", "run_workbook"]



@dataclass
class RunReport:
    """What a run did: where the results went and a few headline figures."""

    book: Path
    output: Path
    results: Results
    seconds: float
    backup: Path | None = None
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)


def default_output(book: Path) -> Path:
    return book.with_name(f"{book.stem}_xlvalue{book.suffix}")


def run_workbook(book: str | Path, output: str | Path | None = None, only: str | None = None,
                 in_place: bool = False, progress: Progress | None = None,
                 scheduler: str | None = None, file_roots: Sequence[Path] = ()) -> RunReport:
    """Run the analyses on a workbook and write every xv_out_* block.

    The input is never modified unless in_place is set, in which case a .bak copy is kept first
    (a workbook that is a symbolic link is refused: the rename would replace the link).
    With a Dask `scheduler`, the TransactionsFile is read in parts on the cluster (the same
    reader and core reductions; see xlvalue.cluster.dask_rfm). `file_roots` are folders
    besides the workbook's that a TransactionsFile may come from.
    """
    started = dt.datetime.now(dt.UTC)
    book = Path(book)
    if book.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise InputError(Problem(f"expected an .xlsx or .xlsm workbook, got '{book.suffix}'",
                                 book=book.name))
    if in_place and output is not None:
        raise InputError(Problem("give either --in-place or -o, not both", book=book.name))
    if in_place and book.is_symlink():  # the rename would replace the link, not the book
        raise InputError(Problem(
            f"is a symbolic link (to {os.readlink(book)}); --in-place rewrites a file, not a "
            "link: run on the linked workbook itself, or write a copy with -o",
            book=str(book)))
    target = book if in_place else Path(output) if output else default_output(book)
    if not in_place and target.resolve() == book.resolve():
        raise InputError(Problem("the output would overwrite the input; use --in-place to "
                                 "rewrite the workbook itself", book=book.name))
    if target.suffix.lower() != book.suffix.lower():
        raise InputError(Problem(f"the output must keep the input's type ({book.suffix})",
                                 book=str(target)))
    if not target.parent.exists():
        raise InputError(Problem("the output folder does not exist", book=str(target)))
    say = progress or (lambda _m: None)
    say(f"reading {book.name}")
    reader = WorkbookReader.open(book)
    client = None
    try:
        read_file = None
        if scheduler:
            from xlvalue.cluster.dask_rfm import client_for, cluster_file_reader

            client = client_for(scheduler)
            read_file = cluster_file_reader(client)
        inputs, results, log = compute(reader, only, say, started, read_file, file_roots)
    finally:
        reader.close()
        if client is not None:
            client.close()
    backup = None
    if in_place:
        backup = book.with_name(book.name + ".bak")
        if not backup.exists():  # a second --in-place run keeps the pristine original
            atomic_write(backup, lambda tmp: shutil.copy2(book, tmp))
    say(f"writing {target.name}")
    write_outputs(book, target, sheet_outputs(results, log))
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return RunReport(book, target, results, seconds, backup, headline(results))
