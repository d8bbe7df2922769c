"""BG/BB: the beta-geometric/beta-Bernoulli model on discrete transaction opportunities
(yearly donations, events): P(alive), expected transactions, DERT (METHODS section 10)."""

from __future__ import annotations

from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames
from xlvalue.analytics.retention import bgbb_analysis
from xlvalue.errors import InputError, ModelError, Problem
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "run"]


def run(ctx: Context) -> Frames:
    """BG/BB fitted on xv_Opportunities, its per-history predictions and counts check."""
    s = ctx.settings
    histories = ctx.inputs.frame("xv_Opportunities")
    assert histories is not None
    try:
        out = bgbb_analysis(histories, int(s["OpportunitiesAhead"]), s["OpportunityDiscountRate"])
    except ModelError as exc:
        raise InputError(Problem(f"BG/BB: {exc}", book=ctx.inputs.book, name="xv_Opportunities")
                         ) from None
    return {"xv_out_BGBB": out.scores, "xv_out_BGBBFit": out.fit, "xv_out_BGBBCounts": out.counts}


ANALYSIS = Analysis(
    name="bgbb",
    title="BG/BB on the transaction opportunities",
    doc="BG/BB on discrete opportunities: P(alive), expected transactions, DERT",
    sheet="xv_Retention",
    reads=("xv_Opportunities",),
    settings=("OpportunitiesAhead", "OpportunityDiscountRate"),
    run=run,
    button=Button("BG/BB", "CalendarMonthDetailsSplitButton",
                  "BG/BB on discrete transaction opportunities: P(alive), DERT"),
    blocks=(
        BlockSpec("xv_out_BGBB", "BG/BB per history: P(alive) at the next opportunity, expected "
                  "transactions in the next OpportunitiesAhead, DERT (discounted expected "
                  "residual transactions).", formats={"p_alive_next": "share"}),
        BlockSpec("xv_out_BGBBFit", "BG/BB parameters alpha, beta, gamma, delta with standard "
                  "errors and fit statistics."),
        BlockSpec("xv_out_BGBBCounts", "Customers by number of transactions in the most common "
                  "number of opportunities: actual vs BG/BB.",
                  charts=(ChartSpec("bar", "BG/BB: customers by number of transactions, actual "
                                    "vs model", "transactions", ("actual", "model"),
                                    x_title="opportunities with a transaction",
                                    y_title="customers"),)),
    ),
)
