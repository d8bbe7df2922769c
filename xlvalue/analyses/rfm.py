"""RFM: per-customer recency, frequency and monetary summaries, quantile scores, segments and
the repeat-purchase summary (METHODS sections 1-2). It hands its per-customer table, the
repeat summary and CLV's margin history to the analyses that depend on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames, HeadlineRow
from xlvalue.analytics.customer_value import MarginHistory, margin_history
from xlvalue.analytics.lifecycle import SpendWindows, spend_windows, window_days
from xlvalue.analytics.memory import release_memory
from xlvalue.analytics.ranking import abc_classes, decile_groups, value_tiers
from xlvalue.analytics.rfm import repeat_summary, rfm_summary, score_rfm, segment_summary
from xlvalue.analytics.transactions import PurchaseDays, purchase_days
from xlvalue.errors import InputError, Problem
from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.inputs import Inputs

__all__ = ["ANALYSIS", "headline", "RFMResult", "customer_value", "line_item_hint", "run"]


@dataclass
class RFMResult:
    """What RFM hands on: the per-customer table (with decile, ABC class and tier), the
    repeat-purchase summary, when CLV runs its margin history, and when lifecycle runs each
    customer's spend in its recent window and before (by customer code of the log)."""

    table: pd.DataFrame
    repeat: pd.DataFrame
    history: MarginHistory | None
    windows: SpendWindows | None = None


def customer_value(inputs: Inputs, rfm: pd.DataFrame) -> np.ndarray:
    """The value ranked by deciles, Pareto and tiers: total spend or total margin (RankBy)."""
    column = "total_margin" if inputs.settings["RankBy"] == "margin" else "total_spend"
    return rfm[column].to_numpy(dtype=float)


def line_item_hint(days: PurchaseDays, mode: str, warnings: list[str]) -> None:
    """A log of order lines (several rows per customer and day) counted row by row inflates
    frequency: say so, and how to count purchase days instead."""
    if mode != "purchases" or not len(days.purchases):
        return
    rows, n_days = int(days.purchases.sum()), len(days.purchases)
    if rows >= 1.5 * n_days and rows - n_days >= 100:
        warnings.append(f"{rows:,} purchase rows fall on {n_days:,} customer-days: if a row is "
                        "an order line rather than an order, set FrequencyMode=days in "
                        "xv_Settings to count purchase days")


def run(ctx: Context) -> Frames:
    """RFM scoring summary, scores, segments and the repeat-purchase summary.

    With release_log the log's rows are dropped once its purchase days are made, unless CLV
    or the model comparison reads them again for a holdout check (on a 10M-row log that is
    160 MB less at the peak). When CLV runs, its margin history is made from the same purchase
    days while they are at hand (CLV would otherwise sort the log again); so are lifecycle's
    spend windows (two sums per customer) when lifecycle runs."""
    inputs, s = ctx.inputs, ctx.settings
    if inputs.log_released:
        raise RuntimeError("the transaction rows were released by an earlier run")
    assert inputs.log is not None
    clv_runs = "clv" in ctx.running
    # the holdout checks (CLV's, the model comparison's) read the rows again
    keep_rows = bool({"clv", "compare"} & ctx.running) and s["CalibrationEnd"] is not None
    # one sort of the log to purchase days serves both summaries, then is released; a log
    # reduced where it was read (a cluster) brings its purchase days along
    if inputs.days is not None:
        days = inputs.days.until(inputs.as_of)
    else:
        window = [inputs.log.until(inputs.as_of)]
        if ctx.release_log and not keep_rows:  # rows freed while purchase days are made
            inputs.log = inputs.log.customers_only()
            inputs.log_released = True
        days = purchase_days(window)
        line_item_hint(days, s["FrequencyMode"], inputs.warnings)
    summary = rfm_summary(inputs.log, inputs.as_of, s["PeriodUnit"], s["FrequencyMode"],
                          s["MonetaryMode"], days=days)
    repeat = repeat_summary(inputs.log, inputs.as_of, s["TimeUnit"], days=days)
    history = margin_history(inputs.log, inputs.as_of, s["PeriodUnit"], days=days) \
        if clv_runs else None
    windows = spend_windows(days, inputs.log.n_customers, inputs.as_of,
                            window_days(s["LifecycleWindow"], s["PeriodUnit"])) \
        if "lifecycle" in ctx.running else None
    del days
    weights = s.floats("RFMWeights")
    if len(weights) != 3:
        raise InputError(Problem(f"RFMWeights must hold 3 numbers (R, F, M), got {weights}",
                                 book=inputs.book, name="xv_Settings"))
    scored = score_rfm(summary, s["RFMBins"], tuple(weights), inputs.segments)
    table = scored.table
    if inputs.customers is not None and not inputs.customers.empty:
        extra = inputs.customers.set_index("CustomerID")
        for pos, col in enumerate(c for c in ("Name", "Group")  # columns that hold something
                                  if c in extra and extra[c].fillna("").astype(str).str.strip()
                                  .ne("").any()):
            table.insert(1 + pos, col.lower(),
                         extra[col].reindex(table["customer_id"]).fillna("").to_numpy())
    unmatched = int((table["segment"] == "Unclassified").sum())
    if unmatched:
        inputs.warnings.append(f"{unmatched} customer(s) match no rule of xv_Segments "
                               "(segment 'Unclassified')")
    release_memory()  # the purchase days' memory, before the next step allocates
    value = customer_value(inputs, table)
    table["decile"] = decile_groups(value)
    table["abc_class"] = abc_classes(value, s["ParetoA"], s["ParetoB"])
    table["tier"] = value_tiers(value, s.floats("TierCuts"))
    ctx.shared["rfm"] = RFMResult(table, repeat, history, windows)
    return {
        "xv_out_RFM": table,
        "xv_out_RFMBins": scored.bins,
        "xv_out_Segments": segment_summary(table, inputs.segments),
        "xv_out_Repeat": repeat,
    }


def headline(frames: Frames) -> list[HeadlineRow]:
    """Customers, total spend and the largest segments."""
    rfm = frames["xv_out_RFM"]
    top = rfm["segment"].value_counts().head(3)
    return [("customers", len(rfm)),
            ("total spend", float(rfm["total_spend"].sum())),
            ("largest segments", ", ".join(f"{k} {v:,}" for k, v in top.items()))]


def _bin_kinds(bins: pd.DataFrame) -> dict[str, list[str]]:
    """Bin edges of recency days and frequencies are counts; of monetary, amounts."""
    kinds = ["number" if v == "monetary" else "integer" for v in bins["variable"].astype(str)]
    return {"min_value": kinds, "max_value": kinds}


ANALYSIS = Analysis(
    name="rfm",
    title="RFM summaries and scores",
    doc="RFM scores and segments, repeat-purchase summary",
    sheet="xv_RFM",
    reads=("xv_Transactions",),
    optional=("xv_Customers", "xv_Segments"),
    settings=("AsOfDate", "PeriodUnit", "TimeUnit", "FrequencyMode", "MonetaryMode", "RFMBins",
              "RFMWeights", "RankBy", "ParetoA", "ParetoB", "TierCuts", "MarginRate"),
    run=run,
    headline=headline,
    button=Button("RFM", "ChartTypeColumnInsertGallery",
                  "RFM scores and segments, then deciles, Pareto classes, whale curve and tiers "
                  "(runs RFM and ranking)"),
    also_runs=("ranking",),
    blocks=(
        BlockSpec("xv_out_RFM", "Per customer: RFM scoring summary, scores, cell code, segment, "
                  "class, tier."),
        BlockSpec("xv_out_RFMBins", "Bin edges used for the R, F and M scores and customers per "
                  "bin.", formats=_bin_kinds),
        BlockSpec("xv_out_Segments", "Customers and value per segment.",
                  charts=(ChartSpec("bar", "Customers per segment", "segment", ("customers",)),)),
        BlockSpec("xv_out_Repeat", "Per customer: repeat-purchase summary (frequency, recency, "
                  "T, monetary_value)."),
    ),
)
