"""What an analysis declares, once: the inputs and settings it reads, what it needs, how it
runs, and what it shows (blocks with formats, charts, empty notes, headline lines, its button).

The pipeline, the workbook contract's outputs and reference doc, `--only`, the ribbon and the
Lite scripts are all generated from these declarations (xlvalue.analyses.registry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.inputs import Inputs

__all__ = ["Analysis", "BlockSpec", "Button", "ChartRule", "Context", "Frames", "HeadlineRow",
           "Progress"]

Frames = dict[str, pd.DataFrame]
Progress = Callable[[str], None]
# a headline figure: (item, value) or (item, value, kind). The value is stored as it is, a
# number (or a date) with the number format of its kind (cells.FORMATS: integer, number,
# share for 0..1, pct for 0..100, date), never as formatted text; without a kind it is
# inferred (int integer, float number, date date, else text)
HeadlineRow = tuple[str, Any] | tuple[str, Any, str]
# a chart drawn from the analysis' frames (None: not drawn for these frames)
ChartRule = Callable[[Frames], "ChartSpec | None"]


@dataclass(frozen=True)
class BlockSpec:
    """One output block (an anchored name `xv_out_*`) and how it is shown.

    `formats` declares a column's cell kind (integer, number, percent, pct, date, text; see
    workbook.cells.FORMATS), or one kind per row, where the column's dtype and name do not say
    it; a callable makes that mapping from the block's frame (columns named by the data).
    `charts` are fixed chart specs or rules that make a chart from the analysis' frames
    (data-dependent axes, the columns present)."""

    name: str
    doc: str
    charts: tuple[ChartSpec | ChartRule, ...] = ()
    empty_note: str = ""  # what an empty block says instead of data rows (and of a chart)
    colour_scale_from: str | None = None  # this column and those after it get a colour scale
    formats: Mapping[str, Any] | Callable[[pd.DataFrame], Mapping[str, Any]] = field(
        default_factory=dict)

    def formats_for(self, frame: pd.DataFrame) -> dict[str, Any]:
        """The declared kinds of this frame's columns (those it has)."""
        found = self.formats(frame) if callable(self.formats) else self.formats
        return {k: v for k, v in found.items() if k in frame.columns}


@dataclass(frozen=True)
class Button:
    """The analysis' ribbon button and Lite script: a label, an Office icon, a tip."""

    label: str
    image: str
    tip: str


@dataclass
class Context:
    """What an analysis runs on: the validated inputs, the analyses asked for, and what the
    analyses before it handed on (by analysis name)."""

    inputs: Inputs
    wanted: frozenset[str]  # the analyses whose blocks are written
    running: frozenset[str]  # those and the analyses they need
    explicit: bool = True  # asked for by name (--only): a failure fails the run
    release_log: bool = False  # a one-shot run: the log's rows may be dropped after use
    shared: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def settings(self):
        return self.inputs.settings


@dataclass(frozen=True)
class Analysis:
    """One analysis, declared in one place (its module in xlvalue/analyses)."""

    name: str  # as in --only
    title: str  # the progress line while it runs
    sheet: str  # the output sheet of its blocks
    reads: tuple[str, ...]  # input tables it cannot run without (contract names)
    run: Callable[[Context], Frames]
    blocks: tuple[BlockSpec, ...]
    optional: tuple[str, ...] = ()  # input tables it reads when present
    settings: tuple[str, ...] = ()  # keys of xv_Settings it reads
    depends_on: tuple[str, ...] = ()  # analyses that run first and hand it their results
    # analyses it needs for these inputs only (scores on rfm./clv. indicators)
    needs: Callable[[Inputs], set[str]] | None = None
    headline: Callable[[Frames], list[HeadlineRow]] | None = None
    button: Button | None = None
    also_runs: tuple[str, ...] = ()  # analyses its button runs with it (RFM's runs ranking)
    doc: str = ""  # one line for --help and the reference

    def block(self, name: str) -> BlockSpec:
        return next(b for b in self.blocks if b.name == name)
