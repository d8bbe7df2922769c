"""sBG: the shifted-beta-geometric retention model on contractual cohorts' survivors per
renewal period: survival curves, retention rates, DERL (METHODS section 10)."""

from __future__ import annotations

from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames
from xlvalue.analytics.retention import sbg_analysis
from xlvalue.errors import InputError, ModelError, Problem
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "run", "survival_chart"]


def run(ctx: Context) -> Frames:
    """One sBG fit per cohort of xv_Survivors, projected to RetentionHorizon."""
    s = ctx.settings
    survivors = ctx.inputs.frame("xv_Survivors")
    assert survivors is not None
    try:
        out = sbg_analysis(survivors, int(s["RetentionHorizon"]), s["OpportunityDiscountRate"])
    except ModelError as exc:
        raise InputError(Problem(f"sBG: {exc}", book=ctx.inputs.book, name="xv_Survivors")
                         ) from None
    return {"xv_out_SBG": out.survival, "xv_out_SBGFit": out.fit}


def survival_chart(frames: Frames) -> ChartSpec | None:
    """Each cohort's actual and model survival curves (the columns present)."""
    table = frames.get("xv_out_SBG")
    if table is None:
        return None
    ys = tuple(c for c in table.columns if c.endswith((" actual", " model")))
    return ChartSpec("xyline", "Survival by period since acquisition: actual vs sBG", "period",
                     ys, x_title="periods since acquisition", y_title="share still active",
                     y_format="0%", y_min=0.0, y_max=1.0)


ANALYSIS = Analysis(
    name="sbg",
    title="shifted-beta-geometric retention of the cohorts",
    doc="shifted-beta-geometric retention of contractual cohorts: survival, DERL",
    sheet="xv_Retention",
    reads=("xv_Survivors",),
    settings=("RetentionHorizon", "OpportunityDiscountRate"),
    run=run,
    button=Button("Retention", "ChartTypeLineInsertGallery",
                  "Shifted-beta-geometric retention of contractual cohorts: survival, DERL"),
    blocks=(
        BlockSpec("xv_out_SBG", "Survival per period and cohort: actual share, sBG model "
                  "(projected to RetentionHorizon) and the model's retention rate.",
                  charts=(survival_chart,),
                  formats=lambda t: {c: "share" for c in t.columns if c != "period"}),
        BlockSpec("xv_out_SBGFit", "sBG parameters gamma, delta per cohort with standard errors, "
                  "fit statistics and DERL of a customer up for the first renewal."),
    ),
)
