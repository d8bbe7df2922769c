"""The one computation path: read and validate the inputs, run the registry's analyses in
dependency order, and lay their blocks out as the output sheets.

The CLI, batch runs, ribbon macros, Lite scripts and UDFs all end here (or in the core
functions the analyses call); what an analysis reads, computes and shows is declared in its
module (xlvalue/analyses), so this module only orchestrates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from xlvalue.analyses import registry
from xlvalue.analyses.spec import Analysis, Context, Progress
from xlvalue.analyses.summary import (
    SUMMARY_SHEET,
    contents_block,
    run_log,
    summary_blocks,
)
from xlvalue.analyses.summary import headline as headline_frame
from xlvalue.errors import InputError, Problem
from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.contract import INPUT_TABLES
from xlvalue.workbook.inputs import FileReader, Inputs, available_analyses, read_inputs
from xlvalue.workbook.layout import SheetOutput, SheetPlan, plan_sheet
from xlvalue.workbook.sheetxml import Block

__all__ = ["MAX_BARS", "BookRun", "Progress", "Results", "Sink", "analyse", "compute",
           "headline", "new_template", "parse_only", "plan", "run_book", "sheet_outputs"]


@dataclass
class Results:
    """Output frames by block name, plus warnings and the analyses that ran.

    `not_run` maps each analysis a plain run left out because its inputs are faulty to the
    first problem found (also among the warnings, as '<analysis> not run: <problem>'):
    `check` fails on them, `batch` reports the book as partial."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    charts: dict[str, list[ChartSpec]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    analyses: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    as_of: int | None = None  # AsOfDate of the analysed log (days since 1970-01-01), if any

    def not_run_lines(self) -> list[str]:
        """The warnings that say analyses were not run: each problem once, with every
        analysis it stops ('scores, costing not run: <problem>')."""
        order = registry.analysis_names()
        stopped: dict[str, list[str]] = {}
        for name, problem in sorted(self.not_run.items(),
                                    key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
            stopped.setdefault(problem, []).append(name)
        return [f"{', '.join(names)} not run: {problem}" for problem, names in stopped.items()]


def parse_only(only: str | None) -> set[str]:
    """The analyses named by --only ('rfm,ranking'); all of them when None."""
    names = registry.analysis_names()
    if not only:
        return set(names)
    wanted = {a.strip().lower() for a in only.split(",") if a.strip()}
    unknown = wanted - set(names)
    if unknown:
        raise InputError(Problem(f"unknown analysis {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(names)}"))
    return wanted


def _running(wanted: set[str], inputs: Inputs) -> set[str]:
    """The analyses asked for and every analysis they need (for these inputs)."""
    running: set[str] = set()
    todo = list(wanted)
    while todo:
        a = registry.analysis(todo.pop())
        if a.name in running:
            continue
        running.add(a.name)
        todo.extend(a.depends_on)
        if a.needs is not None:
            todo.extend(a.needs(inputs))
    return running


MAX_BARS = 60  # a bar chart of more categories is unreadable: the block says it all


def _charts(analysis: Analysis, frames: dict[str, pd.DataFrame]) -> dict[str, list[ChartSpec]]:
    """The charts of an analysis' blocks for these frames: fixed specs and the rules' charts;
    bar charts only for blocks of up to MAX_BARS rows (a bar per customer is not readable)."""
    mine = {b.name: frames[b.name] for b in analysis.blocks if b.name in frames}
    out: dict[str, list[ChartSpec]] = {}
    for block in analysis.blocks:
        if block.name not in mine:
            continue
        specs = [c if isinstance(c, ChartSpec) else c(mine) for c in block.charts]
        out[block.name] = [c for c in specs if c is not None and (
            c.kind not in ("bar", "bar+line") or len(mine[block.name]) <= MAX_BARS)]
    return out


def analyse(inputs: Inputs, analyses: set[str], progress: Progress | None = None,
            explicit: bool = True, release_log: bool = False,
            left_out: Mapping[str, str] | None = None) -> Results:
    """Run the requested analyses (and those they need) on validated inputs, in registry order.

    When the analyses were not asked for by name (a plain `run`), an analysis whose inputs
    turn out faulty is left out (`Results.not_run`) and the others go on; a CLV model that
    cannot be fitted skips the CLV blocks with a warning. release_log (one-shot runs) lets RFM
    drop the log's rows when CLV won't need them. `left_out` are analyses the caller already
    left out (their inputs could not be read), with their problem: said with the others.
    """
    say = progress or (lambda _msg: None)
    running = _running(analyses, inputs)
    ctx = Context(inputs, frozenset(analyses), frozenset(running), explicit, release_log)
    results = Results(analyses=[a for a in registry.analysis_names() if a in analyses],
                      not_run=dict(left_out or {}))
    ctx.warnings = results.warnings
    first_error: InputError | None = None
    for a in registry.all_analyses():
        if a.name not in running:
            continue
        failed = [d for d in a.depends_on if d in results.not_run and d not in (left_out or {})]
        if failed:  # what it needs could not run: it cannot either
            _left_out(results, a.name, f"needs {', '.join(failed)}, which did not run")
            continue
        say(a.title)
        try:
            frames = a.run(ctx)
        except InputError as exc:
            if explicit:  # asked for by name (--only): its failure fails the run
                raise
            first_error = first_error or exc
            _left_out(results, a.name, _first_problem(exc))
            continue
        if a.name in analyses:
            results.frames.update(frames)
            results.charts.update(_charts(a, frames))
    if first_error is not None and not results.analyses:
        raise first_error  # nothing could run: the run fails on its first problem
    results.warnings.extend(inputs.warnings)
    if inputs.log is not None:
        results.as_of = inputs.as_of
    results.warnings.extend(results.not_run_lines())
    return results


def _left_out(results: Results, name: str, why: str) -> None:
    results.not_run[name] = why
    if name in results.analyses:
        results.analyses.remove(name)


def sheet_outputs(results: Results, log: pd.DataFrame) -> list[SheetPlan]:
    """Group result frames into xlvalue's sheets, in contract order, behind an xv_Summary
    sheet (headline figures, warnings, links to every block and chart) that the workbook
    opens on; each sheet is laid out once, and the contents links, the OOXML writer and the
    xlwings adapter all use that plan."""
    frames = dict(results.frames)
    frames["xv_out_RunLog"] = log
    specs = {a.name: a for a in registry.all_analyses()}
    by_sheet: dict[str, list[Block]] = {}
    for out in registry.output_blocks():
        if out.name not in frames:
            continue
        spec = specs[out.analysis].block(out.name) if out.analysis in specs else None
        by_sheet.setdefault(out.sheet, []).append(
            Block(out.name, out.sheet, frames[out.name], title=f"{out.name}: {out.doc}",
                  charts=results.charts.get(out.name, []),
                  empty_note=spec.empty_note if spec else "",
                  colour_scale_from=spec.colour_scale_from if spec else None,
                  formats=spec.formats_for(frames[out.name]) if spec else {}))
    plans = [plan_sheet(SheetOutput(name, by_sheet[name])) for name in registry.output_sheets()
             if name in by_sheet]
    docs = {o.name: o.doc for o in registry.output_blocks()}
    summary = summary_blocks(results.analyses, headline(results, with_blocks=False),
                             results.warnings, contents_block(plans, docs))
    return [plan_sheet(SheetOutput(SUMMARY_SHEET, summary, active=True)), *plans]


def headline(results: Results, with_blocks: bool = True) -> pd.DataFrame:
    """Headline figures of a run (the console summary and the xv_out_Summary block); with
    with_blocks also each block's row count."""
    return headline_frame(registry.all_analyses(), results.frames, results.warnings, with_blocks,
                          results.as_of)


def _skipped(reader, skipped: list[str]) -> list[str]:
    """Why a plain run skips analyses, one line per reason: the input range each lacks (absent,
    or without data rows)."""
    reasons: dict[str, list[str]] = {}
    for name in skipped:
        reads = registry.analysis(name).reads
        absent = [t for t in reads if not reader.has(t)]
        empty = [t for t in reads if reader.has(t) and not reader.has_data(t)]
        why = (f"no {', '.join(absent)} range in the workbook" if absent else
               f"{', '.join(empty)} hold(s) no data rows")
        reasons.setdefault(why, []).append(name)
    return [f"{', '.join(names)} skipped: {why}" for why, names in reasons.items()]


def plan(reader, only: str | None) -> tuple[set[str], list[str]]:
    """The analyses a run does, and why a plain run skips the others (for want of input
    ranges, one line per reason).

    A plain run (only=None) does every analysis whose input ranges hold data; an explicit
    list is taken as it is (and fails clearly when its inputs are missing or empty).
    """
    analyses = parse_only(only)
    if only is not None:
        return analyses, []
    present = available_analyses(reader, registry.input_use())
    skipped = _skipped(reader, [a for a in registry.analysis_names() if a not in present])
    analyses = analyses & present
    if not analyses:
        required = {t for reads, _ in registry.input_use().values() for t in reads}
        empty = [t.name for t in INPUT_TABLES if t.name in required and reader.has(t.name)
                 and not reader.has_data(t.name)]
        if empty:
            raise InputError(Problem(f"{', '.join(empty)} hold(s) no data rows; nothing "
                                     "to analyse", book=reader.book))
        raise InputError(Problem(
            "the workbook has none of the input ranges of any analysis (xv_Transactions, "
            "xv_ScoreModel, xv_CostPools, xv_Elasticity ...)", book=reader.book))
    return analyses, skipped


def compute(reader, only: str | None, progress: Progress | None = None,
            started: dt.datetime | None = None, read_file: FileReader | None = None,
            file_roots: Sequence[Path] = ()) -> tuple[Inputs, Results, pd.DataFrame]:
    """Read inputs through any reader (openpyxl/calamine or xlwings), analyse, build the log.

    This is also what `check` runs (without writing), so check and run always agree.
    `read_file` reads a TransactionsFile elsewhere (a cluster door); `file_roots` are
    folders besides the workbook's that a TransactionsFile may come from.
    """
    started = started or dt.datetime.now(dt.UTC)
    say = progress or (lambda _m: None)
    analyses, skipped = plan(reader, only)
    use = registry.input_use()
    failed: dict[str, InputError] = {}
    try:
        inputs = read_inputs(reader, analyses, use, read_file, file_roots)
    except InputError as exc:
        if only is not None or len(analyses) < 2:
            raise
        # a plain run: find the analyses whose own inputs are at fault, run the others
        base: set[str] = set()  # the log's analyses, which scores on rfm./clv. lean on
        for analysis in sorted(analyses, key=lambda a: a != "rfm"):
            try:
                read_inputs(reader, {analysis} | base, use, read_file, file_roots)
                if analysis == "rfm":
                    base = {"rfm"}
            except InputError as one:
                failed[analysis] = one
        if len(failed) == len(analyses) or not failed:
            raise exc from None
        analyses = analyses - set(failed)
        inputs = read_inputs(reader, analyses, use, read_file, file_roots)
    results = analyse(inputs, analyses, say, explicit=only is not None, release_log=True,
                      left_out={a: _first_problem(exc) for a, exc in failed.items()})
    results.warnings.extend(skipped)
    return inputs, results, run_log(inputs, results.analyses, results.warnings, started)


def _first_problem(exc: InputError) -> str:
    """The first problem of an error, and how many more there are (per column)."""
    return exc.brief()


def new_template(path: str | Path, demo: bool = False, preset: str | None = None) -> Path:
    """The template (or demo) workbook with the registry's output sheets as placeholders."""
    from xlvalue.workbook.template import build_template  # openpyxl: loaded when used

    return build_template(path, demo, preset, registry.output_sheets())


class Sink(Protocol):
    """Where a door writes the output sheets (the xlwings adapter)."""

    def write_sheets(self, sheets: list[SheetPlan]) -> None: ...

    def warnings(self) -> list[str]:
        """What the writes could not show as the headless file does (said after the run's)."""
        ...


@dataclass
class BookRun:
    """What run_book did: the results and every line a door should show the user."""

    results: Results
    messages: list[str]  # the run's warnings, then what the sink could not show

    @property
    def written(self) -> str:
        return "\n".join(f"{name}: {len(frame):,} rows" for name, frame in
                         self.results.frames.items())


def run_book(source: Any, sink: Sink, only: str | None = None,
             progress: Callable[[str], None] | None = None) -> BookRun:
    """The one flow behind the ribbon and the Lite scripts: read the open book (`source`),
    run the analyses, write the sheets (`sink`), and collect what to tell the user. Errors
    (XlvalueError) reach the door, which shows them its way."""
    _, results, log = compute(source, only, progress)
    sink.write_sheets(sheet_outputs(results, log))
    return BookRun(results, [*results.warnings, *sink.warnings()])
