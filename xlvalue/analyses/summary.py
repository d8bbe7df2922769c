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
from xlvalue.workbook.ooxml import col_letter, quote_sheet
from xlvalue.workbook.sheetxml import Block, place_blocks
from xlvalue.workbook.writer import SheetOutput

__all__ = ["RUNLOG_SHEET", "RUN_LOG", "SUMMARY_BLOCKS", "SUMMARY_SHEET", "contents_block",
           "headline", "run_log", "summary_blocks"]

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
             with_blocks: bool = True) -> pd.DataFrame:
    """Headline figures of a run, each analysis' in registry order (the console summary and
    the xv_out_Summary block); with with_blocks also each block's row count."""
    rows: list[HeadlineRow] = []
    for a in analyses:
        mine = {b.name: frames[b.name] for b in a.blocks if b.name in frames}
        if a.headline is not None and mine:
            rows.extend(a.headline(mine))
    if warnings:
        rows.append(("warnings", f"{len(warnings)} (see xv_out_Warnings)"))
    if with_blocks:
        for name, frame in frames.items():
            rows.append((name, f"{len(frame):,} row{'' if len(frame) == 1 else 's'}"))
    return pd.DataFrame(rows, columns=["item", "value"])


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


def contents_block(sheets: Sequence[SheetOutput], docs: dict[str, str]) -> Block:
    """The contents table: a row per block (its title cell) and chart (its top-left cell) of
    the other sheets, with links."""
    rows, links = [], []
    for out in sheets:
        for pb in place_blocks(out.blocks):
            frame = pb.block.frame
            rows.append((out.name, pb.block.name, len(frame),
                         f"{out.name}!{col_letter(pb.first_col)}{pb.header_row}",
                         docs.get(pb.block.name, "")))
            links.append(_where(out.name, pb.header_row - 1, pb.first_col))
            if not len(frame):
                continue
            for spec, (r, c) in zip(pb.block.charts, pb.chart_cells, strict=True):
                rows.append((out.name, f"chart: {spec.title}", None,
                             f"{out.name}!{col_letter(c)}{r + 1}", f"chart of {pb.block.name}"))
                links.append(_where(out.name, r, c))
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
        Block(summary.name, SUMMARY_SHEET, headline_frame,
              title=f"xlvalue results: {', '.join(analyses) or 'no analysis'}"),
        Block(warned.name, SUMMARY_SHEET, pd.DataFrame({"warning": list(warnings)}, dtype=object),
              title=f"{warned.name}: {warned.doc}", empty_note=warned.empty_note),
        contents,
    ]
