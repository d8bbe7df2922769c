"""The one computation path: validated inputs -> analyses -> output blocks.

The CLI, batch runs, ribbon macros and UDFs all end in the functions of this module (or the
core functions they call); adapters only translate workbooks to and from these frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xlvalue import __version__
from xlvalue.analytics.clv_analysis import analyse_clv
from xlvalue.analytics.costing import allocate, elasticity, profitability, revenue_per_marketing, yes_flags
from xlvalue.analytics.customer_value import DAYS_PER_PERIOD, MarginHistory, margin_history
from xlvalue.analytics.memory import release_memory
from xlvalue.analytics.ranking import (
    abc_classes,
    decile_groups,
    decile_table,
    pareto_table,
    tier_table,
    value_tiers,
    whale_curve,
)
from xlvalue.analytics.retention import bgbb_analysis, sbg_analysis
from xlvalue.analytics.rfm import repeat_summary, rfm_summary, score_rfm, segment_summary
from xlvalue.analytics.scoring import biggest_movers, score_customers
from xlvalue.analytics.transactions import purchase_days
from xlvalue.errors import InputError, ModelError, Problem
from xlvalue.workbook.charts import ChartSpec
from xlvalue.workbook.contract import (
    ANALYSES,
    INPUT_TABLES,
    OUTPUTS,
    SETTINGS,
    SHEET_LAYOUT,
    indicator_source,
    output_sheets,
)
from xlvalue.workbook.inputs import FileReader, Inputs, available_analyses, read_inputs
from xlvalue.workbook.sheetxml import Block
from xlvalue.workbook.writer import SheetOutput

__all__ = ["CHARTS", "COLOUR_SCALES", "Progress", "Results", "add_ranking_columns", "alive_chart",
           "analyse", "analyse_bgbb", "analyse_costing", "analyse_elasticity", "analyse_ranking",
           "analyse_rfm", "analyse_sbg", "analyse_scores", "compute", "customer_value", "headline",
           "parse_only", "plan", "run_log", "score_inputs", "sheet_outputs", "survival_chart"]

Progress = Callable[[str], None]


@dataclass
class Results:
    """Output frames by block name, plus warnings and the per-customer RFM table."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    charts: dict[str, list[ChartSpec]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    analyses: list[str] = field(default_factory=list)


def parse_only(only: str | None) -> set[str]:
    """The analyses named by --only ('rfm,ranking'); all of them when None."""
    if not only:
        return set(ANALYSES)
    wanted = {a.strip().lower() for a in only.split(",") if a.strip()}
    unknown = wanted - set(ANALYSES)
    if unknown:
        raise InputError(Problem(f"unknown analysis {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(ANALYSES)}"))
    return wanted


def customer_value(inputs: Inputs, rfm: pd.DataFrame) -> np.ndarray:
    """The value ranked by deciles, Pareto and tiers: total spend or total margin."""
    column = "total_margin" if inputs.settings["RankBy"] == "margin" else "total_spend"
    return rfm[column].to_numpy(dtype=float)


def analyse_rfm(inputs: Inputs, release_log: bool = False, with_history: bool = False
                ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], MarginHistory | None]:
    """RFM scoring summary, scores, segments and the repeat-purchase summary.

    release_log drops the log's rows once its purchase days are made (a one-shot run whose
    later analyses do not read the rows): on a 10M-row log that is 160 MB less at the peak.
    with_history also returns CLV's margin history, made from the same purchase days while
    they are at hand (CLV would otherwise sort the log again).
    """
    s = inputs.settings
    if inputs.log_released:
        raise RuntimeError("the transaction rows were released by an earlier analyse()")
    assert inputs.log is not None
    # one sort of the log to purchase days serves both summaries, then is released; a log
    # reduced where it was read (a cluster) brings its purchase days along
    if inputs.days is not None:
        days = inputs.days.until(inputs.as_of)
    else:
        window = [inputs.log.until(inputs.as_of)]
        if release_log:  # hand the rows over: they are freed while purchase days are made
            inputs.log = inputs.log.customers_only()
            inputs.log_released = True
        days = purchase_days(window)
    summary = rfm_summary(inputs.log, inputs.as_of, s["PeriodUnit"], s["FrequencyMode"],
                          s["MonetaryMode"], days=days)
    repeat = repeat_summary(inputs.log, inputs.as_of, s["TimeUnit"], days=days)
    history = margin_history(inputs.log, inputs.as_of, s["PeriodUnit"], days=days) \
        if with_history else None
    del days
    weights = s.floats("RFMWeights")
    if len(weights) != 3:
        raise InputError(Problem(f"RFMWeights must hold 3 numbers (R, F, M), got {weights}",
                                 book=inputs.book, name="xv_Settings"))
    scored = score_rfm(summary, s["RFMBins"], tuple(weights), inputs.segments)
    table = scored.table
    if inputs.customers is not None and not inputs.customers.empty:
        extra = inputs.customers.set_index("CustomerID")
        for pos, col in enumerate(c for c in ("Name", "Group") if c in extra):
            table.insert(1 + pos, col.lower(),
                         extra[col].reindex(table["customer_id"]).fillna("").to_numpy())
    unmatched = int((table["segment"] == "Unclassified").sum())
    if unmatched:
        inputs.warnings.append(f"{unmatched} customer(s) match no rule of xv_Segments "
                               "(segment 'Unclassified')")
    frames = {
        "xv_out_RFMBins": scored.bins,
        "xv_out_Segments": segment_summary(table, inputs.segments if inputs.segments is not None
                                           else None),
        "xv_out_Repeat": repeat,
    }
    return table, frames, history


def add_ranking_columns(inputs: Inputs, table: pd.DataFrame) -> None:
    """Decile, ABC class and tier of each customer (in place)."""
    s = inputs.settings
    value = customer_value(inputs, table)
    table["decile"] = decile_groups(value)
    table["abc_class"] = abc_classes(value, s["ParetoA"], s["ParetoB"])
    table["tier"] = value_tiers(value, s.floats("TierCuts"))


def analyse_ranking(inputs: Inputs, table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Decile table, Pareto classes, whale curve and tiers (METHODS section 3)."""
    s = inputs.settings
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


CHARTS: dict[str, list[ChartSpec]] = {
    "xv_out_Deciles": [ChartSpec("bar", "Share of spend by decile", "group", ("share_of_spend",),
                                 x_title="decile (1 = most valuable)")],
    "xv_out_Pareto": [ChartSpec("bar+line", "Pareto classes", "class", ("share_of_value",),
                                ("cumulative_value",))],
    "xv_out_Whale": [ChartSpec("xyline", "Whale curve", "pct_customers", ("pct_profit",),
                               x_title="% of customers (ranked by profit)",
                               y_title="% of total profit")],
    "xv_out_Segments": [ChartSpec("bar", "Customers per segment", "segment", ("customers",))],
    "xv_out_CLV": [ChartSpec("scatter", "Value matrix: actual vs potential value", "clv",
                             ("potential_value",), x_title="actual value (CLV)",
                             y_title="potential value")],
    "xv_out_Forecast": [ChartSpec("bar", "CRM gross margin by period", "period", ("crm_margin",))],
    "xv_out_ScoreMovers": [ChartSpec("bar", "Biggest movers: rank change vs revenue rank",
                                     "customer_id", ("rank_change",))],
    "xv_out_Profitability": [ChartSpec("bar", "Profit by object (FAC and incremental)", "object",
                                       ("profit_fac", "profit_incremental"))],
    "xv_out_ProfitWhale": [ChartSpec("xyline", "Whale curve of profit", "pct_customers",
                                     ("pct_profit",), x_title="% of objects (ranked by profit)",
                                     y_title="% of total profit")],
    "xv_out_Elasticity": [ChartSpec("bar", "Arc price elasticity", "Group", ("arc_elasticity",))],
    "xv_out_Holdout": [ChartSpec("line", "Conditional expectations: holdout purchases by "
                                 "calibration frequency, actual vs model",
                                 "frequency_cal", ("actual_holdout", "expected_holdout"),
                                 x_title="repeat purchases in calibration",
                                 y_title="mean repeat purchases in holdout")],
    "xv_out_Tracking": [ChartSpec("line", "Tracking: cumulative repeat purchases per week, "
                                  "actual vs model (calibration, then holdout)", "week",
                                  ("actual", "model"), x_title="week",
                                  y_title="cumulative repeat purchases")],
    "xv_out_BGBBCounts": [ChartSpec("bar", "BG/BB: customers by number of transactions, actual "
                                    "vs model", "transactions", ("actual", "model"),
                                    x_title="opportunities with a transaction",
                                    y_title="customers")],
    "xv_out_PeriodTransactions": [ChartSpec("bar", "Customers by number of repeat purchases, "
                                            "actual vs model", "repeat_purchases",
                                            ("actual", "model"), x_title="repeat purchases",
                                            y_title="customers")],
}
# blocks whose numbers get a colour scale (conditional formatting), from this column on
COLOUR_SCALES: dict[str, str] = {"xv_out_AliveMatrix": "x=0"}


def alive_chart(matrix: pd.DataFrame) -> ChartSpec:
    """P(alive) against recency for a few frequencies (the matrix's columns, as present)."""
    wanted = [c for c in ("x=1", "x=2", "x=5", "x=10", "x=20") if c in matrix.columns]
    return ChartSpec("line", "P(alive) by recency, for customers with x repeat purchases",
                     "recency", tuple(wanted or [c for c in matrix.columns[1:2]]),
                     x_title="recency (at the largest age T)", y_title="P(alive)")


def analyse(inputs: Inputs, analyses: set[str], progress: Progress | None = None,
            explicit: bool = True, release_log: bool = False) -> Results:
    """Run the requested analyses on validated inputs.

    When the analyses were not asked for by name (a plain `run`), a CLV model that cannot be
    fitted (too few customers, ...) skips the CLV blocks with a warning instead of failing.
    release_log (one-shot runs) lets the RFM step drop the log's rows when CLV won't need them.
    """
    say = progress or (lambda _msg: None)
    results = Results(analyses=[a for a in ANALYSES if a in analyses])
    table = None
    clv_table = None
    history = None  # CLV's margin history, made by the RFM step from its purchase days
    frames: dict[str, pd.DataFrame] = {}
    derived = inputs.indicator_sources() if "scores" in analyses else set()
    scores_need_rfm = bool(derived)  # CLV's indicators need the RFM step too
    scores_need_clv = "clv" in derived
    if analyses & {"rfm", "ranking", "clv"} or scores_need_rfm:
        say("RFM summaries and scores")
        # with the purchase days handed on, CLV reads raw rows only for the holdout check
        clv_runs = "clv" in analyses or scores_need_clv
        needs_rows = clv_runs and inputs.settings["CalibrationEnd"] is not None
        table, frames, history = analyse_rfm(inputs, release_log=release_log and not needs_rows,
                                             with_history=clv_runs)
        release_memory()  # the purchase days' memory, before the next step allocates
        add_ranking_columns(inputs, table)
        if "rfm" in analyses:
            results.frames["xv_out_RFM"] = table
            results.frames.update(frames)
        if "ranking" in analyses:
            say("deciles, Pareto classes, whale curve, tiers")
            results.frames.update(analyse_ranking(inputs, table))
    if "clv" in analyses or scores_need_clv:
        say(f"fitting {inputs.settings['Model']} and gamma-gamma, forecasting CLV")
        assert inputs.log is not None and table is not None
        try:
            clv = analyse_clv(inputs.log, inputs.as_of, inputs.settings, table, inputs.customers,
                              repeat=frames.get("xv_out_Repeat"), history=history,
                              days=inputs.days)
            release_memory()
        except ModelError as exc:
            if explicit:
                raise InputError(Problem(f"CLV: {exc}", book=inputs.book)) from None
            results.warnings.append(f"CLV skipped: {exc}")
            clv = None
        if clv is not None:
            clv_table = clv.customers
            if "clv" in analyses:
                results.frames["xv_out_CLV"] = clv.customers
                results.frames["xv_out_Models"] = clv.models
                results.frames["xv_out_Forecast"] = clv.forecast
                results.frames["xv_out_ValueMatrix"] = clv.matrix
                if clv.holdout is not None:
                    results.frames["xv_out_Holdout"] = clv.holdout
                results.frames.update(clv.diagnostics)
            results.warnings.extend(clv.warnings)
    if "scores" in analyses:
        say("weighted scores")
        results.frames.update(analyse_scores(inputs, table, clv_table, results.warnings))
    if "costing" in analyses:
        say("activity-based cost allocation and profitability")
        results.frames.update(analyse_costing(inputs, results.warnings))
    if "elasticity" in analyses:
        results.frames["xv_out_Elasticity"] = analyse_elasticity(inputs)
    if "bgbb" in analyses:
        say("BG/BB on the transaction opportunities")
        results.frames.update(analyse_bgbb(inputs))
    if "sbg" in analyses:
        say("shifted-beta-geometric retention of the cohorts")
        results.frames.update(analyse_sbg(inputs))
    results.warnings.extend(inputs.warnings)
    results.charts = {k: v for k, v in CHARTS.items() if k in results.frames}
    if "xv_out_AliveMatrix" in results.frames:
        results.charts["xv_out_AliveMatrix"] = [alive_chart(results.frames["xv_out_AliveMatrix"])]
    if "xv_out_SBG" in results.frames:
        results.charts["xv_out_SBG"] = [survival_chart(results.frames["xv_out_SBG"])]
    return results


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


def analyse_scores(inputs: Inputs, rfm: pd.DataFrame | None, clv: pd.DataFrame | None,
                   warnings: list[str]) -> dict[str, pd.DataFrame]:
    """Weighted scores, rank changes against revenue, biggest movers (METHODS section 7)."""
    s = inputs.settings
    model = inputs.frame("xv_ScoreModel")
    assert model is not None
    values = score_inputs(inputs, rfm, clv)
    result = score_customers(model, values, s["ScoreRevenue"] or None, s["ScoreMissing"],
                             s.floats("TierCuts"))
    warnings.extend(result.warnings)
    return {"xv_out_Scores": result.table, "xv_out_ScoreMovers": biggest_movers(result.table),
            "xv_out_ScoreWeights": result.weights}


def analyse_costing(inputs: Inputs, warnings: list[str]) -> dict[str, pd.DataFrame]:
    """Allocation (all costs and incremental only), profitability, bands, profit whale curve."""
    pools, drivers = inputs.frame("xv_CostPools"), inputs.frame("xv_Drivers")
    revenue = inputs.frame("xv_Revenue")
    assert pools is not None and drivers is not None and revenue is not None
    try:
        full = allocate(pools, drivers)
        incremental_mask = yes_flags(pools["Incremental"]) if "Incremental" in pools else \
            np.zeros(len(pools), bool)
        inc = allocate(pools, drivers, include=incremental_mask) if incremental_mask.any() else None
    except InputError as exc:
        raise InputError([Problem(p.message, book=inputs.book, name=p.name) for p in exc.problems]
                         ) from None
    warnings.extend(full.warnings)
    rev = revenue.set_index("Object")["Revenue"]
    rev.index = rev.index.astype(str)
    unknown = sorted(set(rev.index) - set(full.final.index))
    if unknown:
        warnings.append(f"xv_Revenue objects with no allocated cost: {', '.join(unknown[:5])}")
    incremental = inc.final if inc is not None else pd.Series(0.0, index=full.final.index)
    prof = profitability(rev, full.final, incremental)
    out = {"xv_out_Allocation": full.flows, "xv_out_Profitability": prof}
    if "MarketingCost" in revenue:
        out["xv_out_RevenueBands"] = revenue_per_marketing(
            revenue["Revenue"].to_numpy(), revenue["MarketingCost"].fillna(0).to_numpy())
    if prof["profit_fac"].sum() > 0:
        whale = whale_curve(prof["profit_fac"].to_numpy())
        out["xv_out_ProfitWhale"] = whale.curve
    return out


def analyse_elasticity(inputs: Inputs) -> pd.DataFrame:
    table = inputs.frame("xv_Elasticity")
    assert table is not None
    e = elasticity(table["P1"], table["Q1"], table["P2"], table["Q2"])
    return pd.concat([table.reset_index(drop=True), e], axis=1)


def analyse_bgbb(inputs: Inputs) -> dict[str, pd.DataFrame]:
    """BG/BB on xv_Opportunities (analytics.retention.bgbb_analysis)."""
    s = inputs.settings
    histories = inputs.frame("xv_Opportunities")
    assert histories is not None
    try:
        return bgbb_analysis(histories, int(s["OpportunitiesAhead"]), s["OpportunityDiscountRate"])
    except ModelError as exc:
        raise InputError(Problem(f"BG/BB: {exc}", book=inputs.book, name="xv_Opportunities")
                         ) from None


def analyse_sbg(inputs: Inputs) -> dict[str, pd.DataFrame]:
    """Shifted-beta-geometric on xv_Survivors (analytics.retention.sbg_analysis)."""
    s = inputs.settings
    survivors = inputs.frame("xv_Survivors")
    assert survivors is not None
    try:
        return sbg_analysis(survivors, int(s["RetentionHorizon"]), s["OpportunityDiscountRate"])
    except ModelError as exc:
        raise InputError(Problem(f"sBG: {exc}", book=inputs.book, name="xv_Survivors")) from None


def survival_chart(table: pd.DataFrame) -> ChartSpec:
    """Each cohort's actual and model survival curves (the columns present)."""
    ys = tuple(c for c in table.columns if c.endswith((" actual", " model")))
    return ChartSpec("xyline", "Survival by period since acquisition: actual vs sBG", "period",
                     ys, x_title="periods since acquisition", y_title="share still active")


def run_log(inputs: Inputs, results: Results, started: dt.datetime) -> pd.DataFrame:
    """The RunLog block: version, time, settings, input row counts and hashes, warnings."""
    rows: list[tuple[str, str, str]] = [
        ("run", "xlvalue version", __version__),
        ("run", "started (UTC)", started.strftime("%Y-%m-%d %H:%M:%S")),
        ("run", "workbook", inputs.book),
        ("run", "analyses", ", ".join(results.analyses)),
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
    for w in results.warnings:
        rows.append(("warning", "", w))
    return pd.DataFrame(rows, columns=["kind", "item", "value"])


def sheet_outputs(results: Results, log: pd.DataFrame) -> list[SheetOutput]:
    """Group result frames into xlvalue's sheets, in contract order."""
    frames = dict(results.frames)
    frames["xv_out_RunLog"] = log
    by_sheet: dict[str, list[Block]] = {}
    for spec in OUTPUTS:
        if spec.name in frames:
            by_sheet.setdefault(spec.sheet, []).append(
                Block(spec.name, spec.sheet, frames[spec.name], title=f"{spec.name}: {spec.doc}",
                      charts=results.charts.get(spec.name, []),
                      colour_scale_from=COLOUR_SCALES.get(spec.name)))
    return [SheetOutput(name, by_sheet[name], SHEET_LAYOUT.get(name, "vertical"))
            for name in output_sheets() if name in by_sheet]


def plan(reader, only: str | None) -> tuple[set[str], list[str]]:
    """The analyses a run does, and those a plain run skips for want of input ranges.

    A plain run (only=None) does every analysis whose input ranges hold data; an explicit
    list is taken as it is (and fails clearly when its inputs are missing or empty).
    """
    analyses = parse_only(only)
    if only is not None:
        return analyses, []
    present = available_analyses(reader)
    skipped = [a for a in ANALYSES if a not in present]
    analyses = analyses & present
    if not analyses:
        empty = [t.name for t in INPUT_TABLES if reader.has(t.name)
                 and t.required_for and not reader.has_data(t.name)]
        if empty:
            raise InputError(Problem(f"{', '.join(empty)} hold(s) no data rows; nothing "
                                     "to analyse", book=reader.book))
        raise InputError(Problem(
            "the workbook has none of the input ranges of any analysis (xv_Transactions, "
            "xv_ScoreModel, xv_CostPools, xv_Elasticity ...)", book=reader.book))
    return analyses, skipped


def compute(reader, only: str | None, progress: Progress | None = None,
            started: dt.datetime | None = None, read_file: FileReader | None = None,
            file_roots: Sequence[Path] = ()) -> tuple[Inputs, Results, pd.DataFrame]:
    """Read inputs through any reader (openpyxl/calamine or xlwings), analyse, build the log.

    This is also what `check` runs (without writing), so check and run always agree.
    `read_file` reads a TransactionsFile elsewhere (a cluster door); `file_roots` are
    folders besides the workbook's that a TransactionsFile may come from.
    """
    started = started or dt.datetime.now(dt.UTC)
    say = progress or (lambda _m: None)
    analyses, skipped = plan(reader, only)
    inputs = read_inputs(reader, analyses, read_file, file_roots)
    results = analyse(inputs, analyses, say, explicit=only is not None, release_log=True)
    if skipped:
        results.warnings.append(f"skipped (their input ranges are absent): {', '.join(skipped)}")
    return inputs, results, run_log(inputs, results, started)


def headline(results: Results) -> pd.DataFrame:
    """A short summary table for the console."""
    rows = []
    rfm = results.frames.get("xv_out_RFM")
    if rfm is not None:
        rows.append(("customers", f"{len(rfm):,}"))
        rows.append(("total spend", f"{rfm['total_spend'].sum():,.2f}"))
        top = rfm["segment"].value_counts().head(3)
        rows.append(("largest segments", ", ".join(f"{k} {v:,}" for k, v in top.items())))
    pareto = results.frames.get("xv_out_Pareto")
    if pareto is not None:
        a = pareto.iloc[0]
        rows.append(("class A", f"{a['share_of_customers']:.1%} of customers, "
                                f"{a['share_of_value']:.1%} of value"))
    peak = results.frames.get("xv_out_WhalePeak")
    if peak is not None:
        p = peak.iloc[0]
        rows.append(("whale curve peak", f"{p['peak_pct_profit']:.1f}% of profit at "
                                         f"{p['at_pct_customers']:.1f}% of customers"))
    for name, frame in results.frames.items():
        rows.append((name, f"{len(frame):,} rows"))
    return pd.DataFrame(rows, columns=["item", "value"])
