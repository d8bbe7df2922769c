"""Lifecycle: each customer's stage on the relationship curve of seed 003 (exploration,
formation, stability, decline; lost apart) from its tenure, its spend trend and CLV's P(alive),
and customers, spend and CLV per stage (docs/methods.md, "Customer lifecycle stages")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlvalue.analyses.rfm import RFMResult
from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames, HeadlineRow
from xlvalue.analytics.customer_value import DAYS_PER_PERIOD
from xlvalue.analytics.lifecycle import (
    STAGES,
    StageRule,
    lifecycle_stages,
    spend_trend,
    stage_summary,
    window_days,
)
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "headline", "rule", "run"]

SKIPPED = ("lifecycle skipped: the stages need CLV's P(alive), and CLV was skipped "
           "(see the CLV warning)")


def rule(settings) -> StageRule:
    """The stage rule of the LifecycleWindow, LifecycleExplore, LifecycleTrend and
    LifecycleLost settings, the lengths turned from PeriodUnit periods into days."""
    unit = settings["PeriodUnit"]
    return StageRule(window_days(settings["LifecycleWindow"], unit),
                     float(settings["LifecycleExplore"]) * DAYS_PER_PERIOD[unit],
                     float(settings["LifecycleTrend"]), float(settings["LifecycleLost"]))


def run(ctx: Context) -> Frames:
    """Stage CLV's customers. Without CLV's results (a plain run whose model could not be
    fitted skips CLV with a warning) there is no P(alive): the stages are skipped, saying so."""
    clv: pd.DataFrame | None = ctx.shared.get("clv")
    if clv is None:
        ctx.warnings.append(SKIPPED)
        return {}
    rfm: RFMResult = ctx.shared["rfm"]
    inputs = ctx.inputs
    assert rfm.windows is not None and inputs.log is not None
    s = ctx.settings
    stage_rule = rule(s)
    ids = clv["customer_id"]
    first = rfm.table.set_index("customer_id")[["first_purchase", "total_spend"]].reindex(ids)
    tenure_days = inputs.as_of - first["first_purchase"].to_numpy().astype(
        "datetime64[D]").astype(np.int64)
    codes = pd.Index(inputs.log.customer_ids).get_indexer(ids)
    recent = rfm.windows.recent[codes]
    earlier, trend = spend_trend(recent, rfm.windows.before[codes], tenure_days,
                                 stage_rule.window_days)
    p_alive = clv["p_alive"].to_numpy(dtype=float)
    stage = lifecycle_stages(tenure_days, trend, p_alive, stage_rule)
    value = clv["clv"].to_numpy(dtype=float)
    table = pd.DataFrame({
        "customer_id": ids.to_numpy(),
        "stage": stage,
        "tenure": tenure_days / DAYS_PER_PERIOD[s["PeriodUnit"]],
        "recent_spend": recent,
        "earlier_spend": earlier,
        "trend": trend,
        "p_alive": p_alive,
        "clv": value,
    })
    spend = first["total_spend"].to_numpy(dtype=float)
    return {"xv_out_Lifecycle": table,
            "xv_out_LifecycleStages": stage_summary(stage, spend, value, p_alive)}


def headline(frames: Frames) -> list[HeadlineRow]:
    """Customers per stage (the stages that hold any)."""
    stages = frames.get("xv_out_LifecycleStages")
    if stages is None:
        return []
    held = stages[stages["customers"] > 0]
    return [("lifecycle stages", ", ".join(f"{s} {int(n):,}" for s, n in
                                           zip(held["stage"], held["customers"], strict=True)))]


ANALYSIS = Analysis(
    name="lifecycle",
    title="customer lifecycle stages",
    doc="lifecycle stages (exploration, formation, stability, decline, lost) from tenure, "
        "spend trend and P(alive)",
    sheet="xv_Lifecycle",
    reads=("xv_Transactions",),
    optional=("xv_Customers", "xv_Segments"),
    settings=("PeriodUnit", "LifecycleWindow", "LifecycleExplore", "LifecycleTrend",
              "LifecycleLost"),
    depends_on=("rfm", "clv"),
    run=run,
    headline=headline,
    button=Button("Lifecycle", "ChartTypeAreaInsertGallery",
                  "Lifecycle stages: exploration, formation, stability, decline, lost "
                  "(runs RFM and CLV first)"),
    blocks=(
        BlockSpec("xv_out_Lifecycle", "Per customer: lifecycle stage, tenure (periods since the "
                  "first purchase), spend in the recent window and per window before it, trend "
                  "(-1 stopped .. +1 all recent), P(alive), CLV.",
                  formats={"tenure": "number", "trend": "number", "p_alive": "share"}),
        BlockSpec("xv_out_LifecycleStages", "Per lifecycle stage: customers, spend so far, CLV, "
                  f"their shares, mean P(alive) (stages: {', '.join(STAGES)}).",
                  formats={"customers": "integer", "mean_p_alive": "share"},
                  charts=(ChartSpec("bar", "Lifecycle stages: share of customers, spend and "
                                    "CLV", "stage",
                                    ("share_of_customers", "share_of_spend", "share_of_clv"),
                                    y_title="share of the total", y_format="0%"),)),
    ),
)
