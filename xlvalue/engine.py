"""Headless runs: read a workbook through the contract, analyse, write the outputs safely."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .contract import ANALYSES, INPUT_TABLES
from .errors import InputError, Problem
from .inputs import Inputs, available_analyses, read_inputs
from .pipeline import Progress, Results, analyse, parse_only, run_log, sheet_outputs
from .workbook.reader import WorkbookReader
from .workbook.writer import atomic_write, write_outputs

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


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
                 scheduler: str | None = None) -> RunReport:
    """Run the analyses on a workbook and write every xv_out_* block.

    The input is never modified unless in_place is set, in which case a .bak copy is kept first.
    """
    started = dt.datetime.now(dt.UTC)
    book = Path(book)
    if book.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise InputError(Problem(f"expected an .xlsx or .xlsm workbook, got '{book.suffix}'",
                                 book=book.name))
    if in_place and output is not None:
        raise InputError(Problem("give either --in-place or -o, not both", book=book.name))
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
    try:
        inputs, results, log = compute(reader, only, say, started, scheduler)
    finally:
        reader.close()
    backup = None
    if in_place:
        backup = book.with_name(book.name + ".bak")
        atomic_write(backup, lambda tmp: shutil.copy2(book, tmp))
    say(f"writing {target.name}")
    write_outputs(book, target, sheet_outputs(results, log))
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return RunReport(book, target, results, seconds, backup, headline(results))


def compute(reader, only: str | None, progress: Progress | None = None,
            started: dt.datetime | None = None, scheduler: str | None = None
            ) -> tuple[Inputs, Results, pd.DataFrame]:
    """Read inputs through any reader (openpyxl/calamine or xlwings), analyse, build the log.

    A plain run (only=None) does every analysis whose input ranges hold data; an explicit
    list fails clearly when its inputs are missing.
    """
    started = started or dt.datetime.now(dt.UTC)
    analyses = parse_only(only)
    say = progress or (lambda _m: None)
    skipped: list[str] = []
    if only is None:
        present = available_analyses(reader)
        skipped = [a for a in ANALYSES if a not in present]
        analyses = analyses & present
        if not analyses:
            empty = [t.name for t in INPUT_TABLES if reader.has(t.name)
                     and t.required_for and not reader.has_data(t.name)]
            if empty:
                raise InputError(Problem(f"{', '.join(empty)} hold(s) no data rows; nothing "
                                         "to analyse", book=reader.book))
            raise InputError(Problem(
                "the workbook has none of the input ranges of any analysis (xv_Transactions, "
                "xv_ScoreModel, xv_CostPools, xv_Elasticity ...)", book=reader.book))
    inputs = read_inputs(reader, analyses, scheduler)
    results = analyse(inputs, analyses, say, explicit=only is not None, release_log=True)
    if skipped:
        results.warnings.append(f"skipped (their input ranges are absent): {', '.join(skipped)}")
    return inputs, results, run_log(inputs, results, started)


def headline(results: Results) -> pd.DataFrame:
    """A short summary table for the console."""
    rows = []
    rfm = results.frames.get("xv_out_RFM")
    if rfm is not None:
        rows.append(("customers", f"{len(rfm):,}"))
        rows.append(("total spend", f"{rfm['total_spend'].sum():,.2f}"))
        top = rfm["segment"].value_counts().head(3)
        rows.append(("largest segments", ", ".join(f"{k} {v:,}" for k, v in top.items())))
    pareto = results.frames.get("xv_out_Pareto")
    if pareto is not None:
        a = pareto.iloc[0]
        rows.append(("class A", f"{a['share_of_customers']:.1%} of customers, "
                                f"{a['share_of_value']:.1%} of value"))
    peak = results.frames.get("xv_out_WhalePeak")
    if peak is not None:
        p = peak.iloc[0]
        rows.append(("whale curve peak", f"{p['peak_pct_profit']:.1f}% of profit at "
                                         f"{p['at_pct_customers']:.1f}% of customers"))
    for name, frame in results.frames.items():
        rows.append((name, f"{len(frame):,} rows"))
    return pd.DataFrame(rows, columns=["item", "value"])
