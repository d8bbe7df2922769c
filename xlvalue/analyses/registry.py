"""The analyses in dependency order, and everything generated from them: the analysis names
of --only, the output blocks and sheets of the workbook contract, and which analyses read
which input tables.

A new analysis is a module declaring an `Analysis` (xlvalue.analyses.spec) and one line in
BUILT_IN below; `register` adds one from elsewhere (a plugin, a test) at run time.
"""

from __future__ import annotations

from xlvalue.analyses import (
    bgbb,
    clv,
    compare,
    costing,
    elasticity,
    lifecycle,
    ranking,
    rfm,
    sbg,
    scores,
    summary,
)
from xlvalue.analyses.spec import Analysis, BlockSpec
from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.contract import INPUT_TABLES, OutputBlock

__all__ = ["BUILT_IN", "all_analyses", "analysis", "analysis_names", "fixed_charts", "input_use",
           "output_blocks", "output_sheets", "register", "unregister"]

BUILT_IN: tuple[Analysis, ...] = (rfm.ANALYSIS, ranking.ANALYSIS, clv.ANALYSIS,
                                  compare.ANALYSIS, lifecycle.ANALYSIS, scores.ANALYSIS,
                                  costing.ANALYSIS, elasticity.ANALYSIS, bgbb.ANALYSIS,
                                  sbg.ANALYSIS)
_registry: list[Analysis] = list(BUILT_IN)


def all_analyses() -> tuple[Analysis, ...]:
    """Every registered analysis, each after the analyses it depends on."""
    return tuple(_registry)


def analysis_names() -> tuple[str, ...]:
    return tuple(a.name for a in _registry)


def analysis(name: str) -> Analysis:
    """The registered analysis of that name (KeyError when there is none)."""
    for a in _registry:
        if a.name == name:
            return a
    raise KeyError(name)


def register(new: Analysis) -> None:
    """Add an analysis after the ones it depends on (its name, blocks and sheet must be new
    or its own; the input tables it reads must be the contract's)."""
    names = analysis_names()
    if new.name in names:
        raise ValueError(f"an analysis named {new.name!r} is registered already")
    missing = [d for d in new.depends_on if d not in names]
    if missing:
        raise ValueError(f"{new.name} depends on unknown analyses {missing}")
    taken = {b.name for b in _blocks_of_all()}
    clash = [b.name for b in new.blocks if b.name in taken]
    if clash:
        raise ValueError(f"{new.name}: output blocks {clash} belong to another analysis")
    tables = {t.name for t in INPUT_TABLES}
    unknown = [t for t in (*new.reads, *new.optional) if t not in tables]
    if unknown:
        raise ValueError(f"{new.name} reads input tables the contract does not declare: {unknown}")
    if not all(b.name.startswith("xv_out_") for b in new.blocks):
        raise ValueError(f"{new.name}: output block names start with xv_out_")
    _registry.append(new)


def unregister(name: str) -> None:
    """Remove an analysis added by `register` (the built-in ones stay)."""
    if any(a.name == name for a in BUILT_IN):
        raise ValueError(f"{name} is built in")
    _registry[:] = [a for a in _registry if a.name != name]


def _blocks_of_all() -> list[BlockSpec]:
    return [*summary.SUMMARY_BLOCKS, *(b for a in _registry for b in a.blocks), summary.RUN_LOG]


def output_blocks() -> list[OutputBlock]:
    """Every output block in the order of the output: the summary sheet's, each analysis'
    (registry order), the run log."""
    out = [OutputBlock(b.name, summary.SUMMARY_SHEET, "summary", b.doc)
           for b in summary.SUMMARY_BLOCKS]
    for a in _registry:
        out.extend(OutputBlock(b.name, a.sheet, a.name, b.doc) for b in a.blocks)
    out.append(OutputBlock(summary.RUN_LOG.name, summary.RUNLOG_SHEET, "summary",
                           summary.RUN_LOG.doc))
    return out


def output_sheets() -> list[str]:
    """Sheets owned by xlvalue, in the order they are created."""
    seen: list[str] = []
    for o in output_blocks():
        if o.sheet not in seen:
            seen.append(o.sheet)
    return seen


def fixed_charts() -> dict[str, list[ChartSpec]]:
    """Block name -> its fixed chart specs (the charts made by rules depend on the frames)."""
    return {b.name: [c for c in b.charts if isinstance(c, ChartSpec)]
            for a in _registry for b in a.blocks}


def input_use() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Analysis name -> (input tables it requires, input tables it reads when present)."""
    return {a.name: (a.reads, a.optional) for a in _registry}
