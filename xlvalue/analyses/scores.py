"""Weighted scores: indicator models with weights, directions, normalisation and penalties,
rank changes against the revenue rank and the biggest movers (METHODS section 7). Indicators
may be columns of xv_ScoreInputs or of RFM's and CLV's per-customer outputs (rfm.<column>,
clv.<column>), in which case those analyses run first."""

from __future__ import annotations

import pandas as pd

from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames, HeadlineRow
from xlvalue.analytics.scoring import biggest_movers, score_customers
from xlvalue.errors import InputError, Problem
from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.contract import indicator_source
from xlvalue.workbook.inputs import Inputs

__all__ = ["ANALYSIS", "headline", "needs", "run", "score_inputs"]


def score_inputs(inputs: Inputs, rfm: pd.DataFrame | None, clv: pd.DataFrame | None
                 ) -> pd.DataFrame:
    """Indicator values per customer: xv_ScoreInputs plus requested rfm.* / clv.* columns."""
    model = inputs.frame("xv_ScoreModel")
    assert model is not None
    base = inputs.frame("xv_ScoreInputs")
    if base is not None and base.empty:  # an empty template table: the indicators are derived
        base = None
    frame = base.set_index("CustomerID") if base is not None else None
    outputs = {"rfm": rfm, "clv": clv}
    for name in model["Indicator"].astype(str):
        found = indicator_source(name)
        if found is None:
            continue
        analysis, column = found
        source = outputs[analysis]
        if source is None or column not in source:
            raise InputError(Problem(f"indicator {name}: no such column in the {analysis} "
                                     "output", book=inputs.book, name="xv_ScoreModel"))
        values = source.set_index("customer_id")[column]
        frame = values.rename(name).to_frame() if frame is None else frame.join(
            values.rename(name), how="left" if base is not None else "outer")
    if frame is None:
        raise InputError(Problem("no indicator values: xv_ScoreInputs is absent or empty and "
                                 "xv_ScoreModel names no rfm./clv. indicator",
                                 book=inputs.book, name="xv_ScoreInputs"))
    return frame


def run(ctx: Context) -> Frames:
    """Weighted scores, rank changes against revenue, biggest movers."""
    inputs, s = ctx.inputs, ctx.settings
    model = inputs.frame("xv_ScoreModel")
    assert model is not None
    rfm = ctx.shared.get("rfm")
    values = score_inputs(inputs, rfm.table if rfm is not None else None, ctx.shared.get("clv"))
    result = score_customers(model, values, s["ScoreRevenue"] or None, s["ScoreMissing"],
                             s.floats("TierCuts"))
    ctx.warnings.extend(result.warnings)
    return {"xv_out_Scores": result.table, "xv_out_ScoreMovers": biggest_movers(result.table),
            "xv_out_ScoreWeights": result.weights}


def needs(inputs: Inputs) -> set[str]:
    """RFM and/or CLV when the score model names rfm.* / clv.* indicators."""
    return inputs.indicator_sources() | ({"rfm"} if inputs.indicator_sources() else set())


def headline(frames: Frames) -> list[HeadlineRow]:
    """The top-scored customer and the biggest mover."""
    rows: list[HeadlineRow] = []
    scores = frames.get("xv_out_Scores")
    if scores is not None and len(scores) and "rank" in scores:
        top = scores.sort_values("rank").iloc[0]
        rows.append(("top scored", str(top.iloc[0])))
        rows.append(("top score", float(top["score"])))
    movers = frames.get("xv_out_ScoreMovers")
    if movers is not None and len(movers) and {"rank_change", "revenue_rank"} <= set(movers):
        m = movers.iloc[0]
        rows.append(("biggest mover", f"{m.iloc[0]}: revenue rank {int(m['revenue_rank'])} -> "
                                      f"score rank {int(m['rank'])}", "text"))
    return rows


ANALYSIS = Analysis(
    name="scores",
    title="weighted scores",
    doc="weighted indicator scores, rank change against revenue rank, biggest movers",
    sheet="xv_Scores",
    reads=("xv_ScoreModel",),
    optional=("xv_ScoreInputs", "xv_Transactions", "xv_Customers", "xv_Segments"),
    settings=("ScoreRevenue", "ScoreMissing", "TierCuts"),
    needs=needs,
    run=run,
    headline=headline,
    button=Button("Scores", "SortUp", "Weighted indicator scores and rank changes"),
    blocks=(
        BlockSpec("xv_out_Scores", "Per customer: score, group subtotals, penalty, rank, "
                  "revenue rank, rank change, tier."),
        BlockSpec("xv_out_ScoreMovers", "The customers whose score rank moved most against "
                  "their revenue rank.",
                  empty_note="no customer moved between its score rank and its revenue rank",
                  charts=(ChartSpec("bar", "Biggest movers: rank change vs revenue rank",
                                    "customer_id", ("rank_change",)),)),
        BlockSpec("xv_out_ScoreWeights", "The score model as used (weights rescaled to 100 "
                  "where needed)."),
    ),
)
