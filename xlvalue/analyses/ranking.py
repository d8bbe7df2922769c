"""Ranking: decile table, Pareto/ABC classes, the whale curve and value tiers of RFM's
customers (METHODS section 3)."""

from __future__ import annotations

from xlvalue.analyses.rfm import RFMResult, customer_value
from xlvalue.analyses.spec import Analysis, BlockSpec, Context, Frames, HeadlineRow
from xlvalue.analytics.customer_value import DAYS_PER_PERIOD
from xlvalue.analytics.ranking import decile_table, pareto_table, tier_table, whale_curve
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "headline", "run"]


def run(ctx: Context) -> Frames:
    """Deciles (with average yearly spend over the log's years), Pareto classes, whale curve
    and its peak, tiers."""
    inputs, s = ctx.inputs, ctx.settings
    rfm: RFMResult = ctx.shared["rfm"]
    table = rfm.table
    value = customer_value(inputs, table)
    days_per_year = DAYS_PER_PERIOD["year"]
    years = max((inputs.as_of - inputs.first_day + 1) / days_per_year, 1 / days_per_year)
    whale = whale_curve(table["total_margin"].to_numpy(dtype=float))
    return {
        "xv_out_Deciles": decile_table(value, table["total_spend"].to_numpy(dtype=float),
                                       table["frequency"].to_numpy(dtype=float), years),
        "xv_out_Pareto": pareto_table(value, s["ParetoA"], s["ParetoB"]),
        "xv_out_Whale": whale.curve,
        "xv_out_WhalePeak": whale.peak_frame(),
        "xv_out_Tiers": tier_table(value, table["tier"].to_numpy()),
    }


def headline(frames: Frames) -> list[HeadlineRow]:
    """Class A's share of customers and value, the whale curve's peak."""
    a = frames["xv_out_Pareto"].iloc[0]
    p = frames["xv_out_WhalePeak"].iloc[0]
    return [("class A: share of customers", float(a["share_of_customers"]), "share"),
            ("class A: share of value", float(a["share_of_value"]), "share"),
            ("whale curve peak: % of value", float(p["peak_pct_profit"]), "pct"),
            ("whale curve peak: at % of customers", float(p["at_pct_customers"]), "pct")]


PCT = {"pct_customers": "pct", "pct_profit": "pct", "peak_pct_profit": "pct",
       "at_pct_customers": "pct"}  # percentages stored 0..100


ANALYSIS = Analysis(
    name="ranking",
    title="deciles, Pareto classes, whale curve, tiers",
    doc="deciles, Pareto/ABC classes, whale curve, value tiers",
    sheet="xv_Ranking",
    reads=("xv_Transactions",),
    optional=("xv_Customers", "xv_Segments"),
    settings=("RankBy", "ParetoA", "ParetoB", "TierCuts"),
    depends_on=("rfm",),
    run=run,
    headline=headline,
    button=None,  # RFM's button runs ranking too (and says so)
    blocks=(
        BlockSpec("xv_out_Deciles", "Decile table in the seed's layout (group 1 = most "
                  "valuable).",
                  charts=(ChartSpec("bar", "Share of spend by decile", "group",
                                    ("share_of_spend",), x_title="decile (1 = most valuable)",
                                    y_format="0%"),)),
        BlockSpec("xv_out_Pareto", "Pareto / ABC classes.",
                  charts=(ChartSpec("bar+line", "Pareto classes", "class", ("share_of_value",),
                                    ("cumulative_value",), y_format="0%", y2_format="0%",
                                    y_min=0.0, y_max=1.0, y2_min=0.0, y2_max=1.0),)),
        BlockSpec("xv_out_Whale", "Whale curve: cumulative % of value vs cumulative % of "
                  "customers.",
                  charts=(ChartSpec("xyline", "Whale curve", "pct_customers", ("pct_profit",),
                                    x_title="% of customers (ranked by value)",
                                    y_title="% of total value", x_min=0.0, x_max=100.0),),
                  formats=PCT),
        BlockSpec("xv_out_WhalePeak", "Peak of the whale curve: height and where it occurs.",
                  formats=PCT),
        BlockSpec("xv_out_Tiers", "Value pyramid tiers."),
    ),
)
