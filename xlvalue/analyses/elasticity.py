"""Price elasticity: point and arc elasticity per group from prices and quantities before and
after a price change (METHODS section 9)."""

from __future__ import annotations

import pandas as pd

from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames, HeadlineRow
from xlvalue.analytics.costing import elasticity
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "headline", "run"]


def run(ctx: Context) -> Frames:
    """xv_Elasticity's rows with their point and arc elasticities."""
    table = ctx.inputs.frame("xv_Elasticity")
    assert table is not None
    e = elasticity(table["P1"], table["Q1"], table["P2"], table["Q2"])
    return {"xv_out_Elasticity": pd.concat([table.reset_index(drop=True), e], axis=1)}


def headline(frames: Frames) -> list[HeadlineRow]:
    """How many groups are elastic."""
    el = frames["xv_out_Elasticity"]
    if not len(el) or "arc_elasticity" not in el:
        return []
    return [("price elasticity: groups", len(el)),
            ("price elasticity: elastic groups (|E| > 1)",
             int((el["arc_elasticity"].abs() > 1).sum()))]


ANALYSIS = Analysis(
    name="elasticity",
    title="price elasticity",
    doc="point and arc price elasticity per group",
    sheet="xv_Elasticity",
    reads=("xv_Elasticity",),
    run=run,
    headline=headline,
    button=Button("Elasticity", "CurrencyGallery", "Point and arc price elasticity per group"),
    blocks=(
        BlockSpec("xv_out_Elasticity", "Point and arc price elasticity per group, elastic or "
                  "inelastic.",
                  charts=(ChartSpec("bar", "Arc price elasticity", "Group", ("arc_elasticity",),
                                    y_format="0.0"),)),
    ),
)
