"""Activity-based costing: cost pools allocated in stages (resources -> activities -> products
-> customer groups), fully-allocated and incremental profit, margins, revenue per marketing
cost and the profit whale curve (METHODS section 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames, HeadlineRow
from xlvalue.analytics.costing import allocate, profitability, revenue_per_marketing, yes_flags
from xlvalue.analytics.ranking import whale_curve
from xlvalue.errors import InputError, Problem
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "headline", "TABLE_OF_ARGUMENT", "run"]

# the core's problems name the argument they are about; these are the workbook's tables
TABLE_OF_ARGUMENT = {"pools": "xv_CostPools", "drivers": "xv_Drivers"}


def run(ctx: Context) -> Frames:
    """Allocation (all costs and incremental only), profitability, bands, profit whale curve."""
    inputs = ctx.inputs
    pools, drivers = inputs.frame("xv_CostPools"), inputs.frame("xv_Drivers")
    revenue = inputs.frame("xv_Revenue")
    assert pools is not None and drivers is not None and revenue is not None
    try:
        full = allocate(pools, drivers)
        incremental_mask = yes_flags(pools["Incremental"]) if "Incremental" in pools else \
            np.zeros(len(pools), bool)
        inc = allocate(pools, drivers, include=incremental_mask) if incremental_mask.any() else None
    except InputError as exc:
        raise InputError([Problem(p.message, book=inputs.book,
                                  name=TABLE_OF_ARGUMENT.get(p.name, p.name), count=p.count,
                                  column=p.column) for p in exc.problems]) from None
    ctx.warnings.extend(full.warnings)
    rev = revenue.set_index("Object")["Revenue"]
    rev.index = rev.index.astype(str)
    unknown = sorted(set(rev.index) - set(full.final.index))
    if unknown:
        ctx.warnings.append(f"xv_Revenue objects with no allocated cost: {', '.join(unknown[:5])}")
    incremental = inc.final if inc is not None else pd.Series(0.0, index=full.final.index)
    prof = profitability(rev, full.final, incremental)
    out = {"xv_out_Allocation": full.flows, "xv_out_Profitability": prof}
    if "MarketingCost" in revenue:
        out["xv_out_RevenueBands"] = revenue_per_marketing(
            revenue["Revenue"].to_numpy(), revenue["MarketingCost"].fillna(0).to_numpy())
    if prof["profit_fac"].sum() > 0:
        out["xv_out_ProfitWhale"] = whale_curve(prof["profit_fac"].to_numpy()).curve
    return out


def headline(frames: Frames) -> list[HeadlineRow]:
    """Total FAC profit and the losing objects, the profit whale's peak."""
    rows: list[HeadlineRow] = []
    prof = frames.get("xv_out_Profitability")
    if prof is not None and len(prof):
        rows.append(("profit (FAC)", float(prof["profit_fac"].sum())))
        rows.append(("cost objects", len(prof)))
        rows.append(("cost objects losing money", int((prof["profit_fac"] < 0).sum())))
    pw = frames.get("xv_out_ProfitWhale")
    if pw is not None and len(pw):
        i = int(pw["pct_profit"].to_numpy().argmax())
        rows.append(("profit whale peak: % of profit", float(pw["pct_profit"].iloc[i]), "pct"))
        rows.append(("profit whale peak: at % of objects", float(pw["pct_customers"].iloc[i]),
                     "pct"))
    return rows


ANALYSIS = Analysis(
    name="costing",
    title="activity-based cost allocation and profitability",
    doc="activity-based cost allocation, FAC and incremental profit, margins",
    sheet="xv_Costing",
    reads=("xv_CostPools", "xv_Drivers", "xv_Revenue"),
    run=run,
    headline=headline,
    button=Button("Costing", "CalculateSheet",
                  "Activity-based costing: allocation in stages, profitability, margins"),
    blocks=(
        BlockSpec("xv_out_Allocation", "Every allocation flow: stage, from, to, amount."),
        BlockSpec("xv_out_Profitability", "Per final object: revenue, FAC and incremental cost "
                  "and profit, margins, shares.",
                  charts=(ChartSpec("bar", "Profit by object (FAC and incremental)", "object",
                                    ("profit_fac", "profit_incremental")),)),
        BlockSpec("xv_out_RevenueBands", "Revenue per 100 of marketing cost by revenue band."),
        BlockSpec("xv_out_ProfitWhale", "Whale curve of the final objects ranked by FAC profit.",
                  empty_note="no whale curve: the objects' total profit is not positive",
                  charts=(ChartSpec("xyline", "Whale curve of profit", "pct_customers",
                                    ("pct_profit",), x_title="% of objects (ranked by profit)",
                                    y_title="% of total profit", x_min=0.0, x_max=100.0),),
                  formats={"pct_customers": "pct", "pct_profit": "pct"}),
    ),
)
