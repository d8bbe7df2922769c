"""One sheet plan per output sheet: where every block, its title and its charts go.

A run lays each xlvalue sheet out once (plan_sheet, which runs sheetxml.place_blocks) and
hands the same plans to everything that needs the places: the xv_Summary contents links
(SheetPlan.locations), the OOXML writer (writer.write_outputs) and the xlwings adapter
(XlwingsWorkbook.write_sheets). Both writers still take unplanned SheetOutputs and plan them
themselves (plan_sheets), so a caller that needs no places need not plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.sheetxml import Block, PlacedBlock, place_blocks

__all__ = ["Location", "SheetOutput", "SheetPlan", "plan_sheet", "plan_sheets"]


@dataclass(frozen=True)
class SheetOutput:
    """One xlvalue-owned sheet: its blocks, in the order they are laid out (plan_sheet)."""

    name: str
    blocks: list[Block]
    active: bool = False  # the tab the workbook opens on


@dataclass(frozen=True)
class Location:
    """A place on a planned sheet that a contents table links to: a block's title cell, or
    the top-left cell of one of its charts (row and col 0-based)."""

    sheet: str
    block: PlacedBlock
    row: int
    col: int
    chart: ChartSpec | None = None  # None: the block itself


@dataclass(frozen=True)
class SheetPlan:
    """One xlvalue sheet laid out: its placed blocks (sheetxml.PlacedBlock: header row, first
    column, chart cells, column widths and kinds) and whether the workbook opens on it."""

    name: str
    placed: list[PlacedBlock]
    active: bool = False

    @property
    def blocks(self) -> list[Block]:
        """The blocks of the sheet, in their order."""
        return [pb.block for pb in self.placed]

    def block(self, name: str) -> PlacedBlock:
        """The placed block of this name (KeyError if the sheet has none)."""
        for pb in self.placed:
            if pb.block.name == name:
                return pb
        raise KeyError(f"sheet {self.name} has no block {name}")

    def locations(self) -> list[Location]:
        """Every block's title cell (the row above its header), each followed by the top-left
        cells of its charts; an empty block draws no chart, so it has none."""
        out = []
        for pb in self.placed:
            out.append(Location(self.name, pb, pb.header_row - 1, pb.first_col))
            if not len(pb.block.frame):
                continue
            for spec, (r, c) in zip(pb.block.charts, pb.chart_cells, strict=True):
                out.append(Location(self.name, pb, r, c, spec))
        return out


def plan_sheet(sheet: SheetOutput) -> SheetPlan:
    """Lay one sheet out (sheetxml.place_blocks, run once here)."""
    return SheetPlan(sheet.name, place_blocks(sheet.blocks), sheet.active)


def plan_sheets(sheets: Sequence[SheetPlan | SheetOutput]) -> list[SheetPlan]:
    """Plans of the given sheets: plans as they are, outputs laid out (plan_sheet)."""
    return [s if isinstance(s, SheetPlan) else plan_sheet(s) for s in sheets]
