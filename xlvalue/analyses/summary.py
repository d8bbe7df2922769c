"""The report around the analyses: the xv_Summary sheet (headline figures, warnings, and a
contents table linking to every block and chart) and the run log (xv_RunLog)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xlvalue import __version__
from xlvalue.analyses.spec import Analysis, BlockSpec, Frames, HeadlineRow
from xlvalue.workbook.contract import SETTINGS
from xlvalue.workbook.inputs import Inputs
from xlvalue.workbook.layout import SheetPlan
from xlvalue.workbook.ooxml import col_letter, quote_sheet
from xlvalue.workbook.sheetxml import Block

__all__ = ["RUNLOG_SHEET", "RUN_LOG", "SUMMARY_BLOCKS", "SUMMARY_SHEET", "contents_block",
           "headline", "headline_text", "run_log", "summary_blocks"]

SUMMARY_SHEET = "xv_Summary"
RUNLOG_SHEET = "xv_RunLog"
SUMMARY_BLOCKS: tuple[BlockSpec, ...] = (
    BlockSpec("xv_out_Summary", "Headline figures of the run (the sheet the output opens on)."),
    BlockSpec("xv_out_Warnings", "Warnings of the run.", empty_note="no warnings"),
    BlockSpec("xv_out_Contents", "Where each result block and chart is, with links."),
)
RUN_LOG = BlockSpec("xv_out_RunLog", "Version, time, settings, input row counts and SHA-256 of "
                    "each input range.")


def headline(analyses: Sequence[Analysis], frames: Frames, warnings: Sequence[str],
             with_blocks: bool = True, as_of: int | None = None) -> pd.DataFrame:
    """Headline figures of a run, each analysis' in registry order (the console summary and
    the xv_out_Summary block), after the as-of date (days since 1970-01-01) when a log was
    analysed; with with_blocks also each block's row count.

    Returns item, value and kind: values are numbers, dates or text as they are (the sheet
    stores them with the number format of their kind; `headline_text` shows them)."""
    rows: list[HeadlineRow] = []
    if as_of is not None:
        rows.append(("as-of date", np.datetime64(int(as_of), "D"), "date"))
    for a in analyses:
        mine = {b.name: frames[b.name] for b in a.blocks if b.name in frames}
        if a.headline is not None and mine:
            rows.extend(a.headline(mine))
    if warnings:
        rows.append(("warnings (see xv_out_Warnings)", len(warnings)))
    if with_blocks:
        for name, frame in frames.items():
            rows.append((f"{name} rows", len(frame)))
    typed = [(r[0], r[1], r[2] if len(r) > 2 else _kind(r[1])) for r in rows]
    return pd.DataFrame({"item": [r[0] for r in typed],
                         "value": pd.Series([r[1] for r in typed], dtype=object),
                         "kind": [r[2] for r in typed]})


def _kind(value: object) -> str:
    """The cell kind of a headline value given without one."""
    if isinstance(value, bool | str) or value is None:
        return "text"
    if isinstance(value, int | np.integer):
        return "integer"
    if isinstance(value, float | np.floating):
        return "number"
    if isinstance(value, dt.date | np.datetime64):
        return "date"
    return "text"


_SHOWN = {"integer": "{:,.0f}", "number": "{:,.2f}", "share": "{:.1%}", "pct": "{:.1f}%"}


def headline_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The headline as the console shows it: item and value as text by its kind (2,357;
    244,091.94; 66.3%; 1998-06-30)."""
    shown = []
    for value, kind in zip(frame["value"], frame["kind"], strict=True):
        if kind == "date":
            shown.append(str(np.datetime64(value, "D")))
        elif kind in _SHOWN and value is not None and np.isfinite(float(value)):
            shown.append(_SHOWN[kind].format(float(value)))
        else:
            shown.append("" if value is None else str(value))
    return pd.DataFrame({"item": frame["item"], "value": shown})


def run_log(inputs: Inputs, analyses: Sequence[str], warnings: Sequence[str],
            started: dt.datetime) -> pd.DataFrame:
    """The RunLog block: version, time, settings, input row counts and hashes, warnings."""
    rows: list[tuple[str, str, str]] = [
        ("run", "xlvalue version", __version__),
        ("run", "started (UTC)", started.strftime("%Y-%m-%d %H:%M:%S")),
        ("run", "workbook", inputs.book),
        ("run", "analyses", ", ".join(analyses)),
    ]
    for spec in SETTINGS:
        value = inputs.settings[spec.key]
        if spec.key == "AsOfDate" and value is None and inputs.as_of:
            value = f"{np.datetime64(inputs.as_of, 'D')} (last transaction)"
        rows.append(("setting", spec.key, "" if value is None else str(value)))
    for rec in inputs.records:
        rows.append(("input", f"{rec.name} rows", str(rec.rows)))
        rows.append(("input", f"{rec.name} range", rec.address))
        rows.append(("input", f"{rec.name} sha256", rec.sha256))
    for w in warnings:
        rows.append(("warning", "", w))
    return pd.DataFrame(rows, columns=["kind", "item", "value"])


def _where(sheet: str, row: int, col: int) -> str:
    return f"{quote_sheet(sheet)}!{col_letter(col)}{row + 1}"


def contents_block(plans: Sequence[SheetPlan], docs: dict[str, str]) -> Block:
    """The contents table: a row per block (its title cell) and chart (its top-left cell) of
    the other sheets, with links, at the places their sheet plans give."""
    rows, links = [], []
    for plan in plans:
        for loc in plan.locations():
            name = loc.block.block.name
            where = f"{plan.name}!{col_letter(loc.col)}{loc.row + 1}"
            if loc.chart is None:
                rows.append((plan.name, name, len(loc.block.block.frame), where,
                             docs.get(name, "")))
            else:
                rows.append((plan.name, f"chart: {loc.chart.title}", None, where,
                             f"chart of {name}"))
            links.append(_where(plan.name, loc.row, loc.col))
    contents = pd.DataFrame(rows, columns=["sheet", "block", "rows", "go_to", "what"])
    contents["rows"] = contents["rows"].astype("Int64")
    spec = SUMMARY_BLOCKS[2]
    return Block(spec.name, SUMMARY_SHEET, contents,
                 title=f"{spec.name}: where each result is (click a go_to cell)",
                 links={"go_to": links})


def summary_blocks(analyses: Sequence[str], headline_frame: pd.DataFrame,
                   warnings: Sequence[str], contents: Block) -> list[Block]:
    """The xv_Summary sheet: headline figures, warnings, contents."""
    summary, warned = SUMMARY_BLOCKS[0], SUMMARY_BLOCKS[1]
    return [
        Block(summary.name, SUMMARY_SHEET, headline_frame[["item", "value"]],
              title=f"xlvalue results: {', '.join(analyses) or 'no analysis'}",
              formats={"value": tuple(headline_frame["kind"])}),
        Block(warned.name, SUMMARY_SHEET, pd.DataFrame({"warning": list(warnings)}, dtype=object),
              title=f"{warned.name}: {warned.doc}", empty_note=warned.empty_note),
        contents,
    ]
