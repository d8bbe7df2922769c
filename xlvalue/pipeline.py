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
    SUMMARY_SHEET,
    indicator_source,
    output_sheets,
)
from xlvalue.workbook.inputs import FileReader, Inputs, available_analyses, read_inputs
from xlvalue.workbook.ooxml import col_letter, quote_sheet
from xlvalue.workbook.sheetxml import Block, place_blocks
from xlvalue.workbook.writer import SheetOutput

__all__ = ["CHARTS", "COLOUR_SCALES", "MAX_BARS", "Progress", "Results", "add_ranking_columns", "alive_chart",
           "analyse", "analyse_bgbb", "analyse_costing", "analyse_elasticity", "analyse_ranking",
           "analyse_rfm", "analyse_sbg", "analyse_scores", "compute", "customer_value", "headline",
           "parse_only", "plan", "run_log", "score_inputs", "sheet_outputs", "summary_blocks",
           "survival_chart", "value_matrix_chart"]

Progress = Callable[[str], None]


@dataclass
class Results:
    """Output frames by block name, plus warnings and the per-customer RFM table.

    `not_run` maps each analysis a plain run left out because its inputs are faulty to the
    first problem found (also among the warnings, as '<analysis> not run: <problem>'):
    `check` fails on them, `batch` reports the book as partial."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    charts: dict[str, list[ChartSpec]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    analyses: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)

    def not_run_lines(self) -> list[str]:
        """The warnings that say an analysis was not run, '<analysis> not run: <problem>'."""
        return [f"{name} not run: {problem}" for name, problem in self.not_run.items()]


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
        _line_item_hint(days, s["FrequencyMode"], inputs.warnings)
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
        for pos, col in enumerate(c for c in ("Name", "Group")  # columns that hold something
                                  if c in extra and extra[c].fillna("").astype(str).str.strip()
                                  .ne("").any()):
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


def _line_item_hint(days, mode: str, warnings: list[str]) -> None:
    """A log of order lines (several rows per customer and day) counted row by row inflates
    frequency: say so, and how to count purchase days instead."""
    if mode != "purchases" or not len(days.purchases):
        return
    rows, n_days = int(days.purchases.sum()), len(days.purchases)
    if rows >= 1.5 * n_days and rows - n_days >= 100:
        warnings.append(f"{rows:,} purchase rows fall on {n_days:,} customer-days: if a row is "
                        "an order line rather than an order, set FrequencyMode=days in "
                        "xv_Settings to count purchase days")


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
                                 x_title="decile (1 = most valuable)", y_format="0%")],
    "xv_out_Pareto": [ChartSpec("bar+line", "Pareto classes", "class", ("share_of_value",),
                                ("cumulative_value",), y_format="0%", y2_format="0%",
                                y_min=0.0, y_max=1.0, y2_min=0.0, y2_max=1.0)],
    "xv_out_Whale": [ChartSpec("xyline", "Whale curve", "pct_customers", ("pct_profit",),
                               x_title="% of customers (ranked by value)",
                               y_title="% of total value", x_min=0.0, x_max=100.0)],
    "xv_out_Segments": [ChartSpec("bar", "Customers per segment", "segment", ("customers",))],
    "xv_out_CLV": [ChartSpec("scatter", "Value matrix (actual vs potential)", "clv",
                             ("potential_value",), x_title="actual value (CLV)",
                             y_title="potential value")],
    "xv_out_Forecast": [ChartSpec("bar", "CRM gross margin by period", "period", ("crm_margin",))],
    "xv_out_ScoreMovers": [ChartSpec("bar", "Biggest movers: rank change vs revenue rank",
                                     "customer_id", ("rank_change",))],
    "xv_out_Profitability": [ChartSpec("bar", "Profit by object (FAC and incremental)", "object",
                                       ("profit_fac", "profit_incremental"))],
    "xv_out_ProfitWhale": [ChartSpec("xyline", "Whale curve of profit", "pct_customers",
                                     ("pct_profit",), x_title="% of objects (ranked by profit)",
                                     y_title="% of total profit", x_min=0.0, x_max=100.0)],
    "xv_out_Elasticity": [ChartSpec("bar", "Arc price elasticity", "Group", ("arc_elasticity",),
                                    y_format="0.0")],
    "xv_out_Holdout": [ChartSpec("line", "Conditional expectations: holdout purchases by "
                                 "calibration frequency, actual vs model",
                                 "frequency_cal", ("actual_holdout", "expected_holdout"),
                                 x_title="repeat purchases in calibration",
                                 y_title="mean repeat purchases in holdout", y_format="0.0")],
    "xv_out_Tracking": [ChartSpec("line", "Tracking: cumulative repeat purchases, actual vs "
                                  "model", "week", ("actual", "model"),
                                  x_title="week (calibration period, then holdout)",
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
                     x_title="recency (at the largest age T)", y_title="P(alive)",
                     y_format="0%", y_min=0.0, y_max=1.0)


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
    steps = (("scores", "weighted scores",
              lambda: analyse_scores(inputs, table, clv_table, results.warnings)),
             ("costing", "activity-based cost allocation and profitability",
              lambda: analyse_costing(inputs, results.warnings)),
             ("elasticity", "price elasticity",
              lambda: {"xv_out_Elasticity": analyse_elasticity(inputs)}),
             ("bgbb", "BG/BB on the transaction opportunities", lambda: analyse_bgbb(inputs)),
             ("sbg", "shifted-beta-geometric retention of the cohorts",
              lambda: analyse_sbg(inputs)))
    for name, message, step in steps:
        if name not in analyses:
            continue
        say(message)
        try:
            results.frames.update(step())
        except InputError as exc:
            if explicit:  # asked for by name (--only): its failure fails the run
                raise
            results.not_run[name] = _first_problem(exc)
            results.warnings.append(f"{name} not run: {results.not_run[name]}")
            results.analyses.remove(name)
    results.warnings.extend(inputs.warnings)
    results.charts = {k: [c for c in v if _readable(c, results.frames[k])]
                      for k, v in CHARTS.items() if k in results.frames}
    if "xv_out_CLV" in results.frames and "xv_out_ValueMatrix" in results.frames:
        matrix = value_matrix_chart(results.frames["xv_out_CLV"],
                                    results.frames["xv_out_ValueMatrix"])
        results.charts["xv_out_CLV"] = [matrix if c.title == matrix.title else c
                                        for c in results.charts.get("xv_out_CLV", [])]
    if "xv_out_AliveMatrix" in results.frames:
        results.charts["xv_out_AliveMatrix"] = [alive_chart(results.frames["xv_out_AliveMatrix"])]
    if "xv_out_SBG" in results.frames:
        results.charts["xv_out_SBG"] = [survival_chart(results.frames["xv_out_SBG"])]
    return results


MAX_BARS = 60  # a bar chart of more categories is unreadable: the block says it all


def _readable(spec: ChartSpec, frame: pd.DataFrame) -> bool:
    """Bar charts are drawn for blocks of up to MAX_BARS rows (a bar per customer is not)."""
    return spec.kind not in ("bar", "bar+line") or len(frame) <= MAX_BARS


def _nice(x: float) -> float:
    """x rounded up to a round axis bound (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of 10)."""
    if not x > 0 or not np.isfinite(x):
        return 0.0
    p = 10.0 ** np.floor(np.log10(x))
    steps = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
    return float(next((m * p for m in steps if m * p >= x * (1 - 1e-12)), x))


def value_matrix_chart(clv: pd.DataFrame, matrix: pd.DataFrame) -> ChartSpec:
    """The value matrix as a scatter of actual (CLV) against potential value whose axes cross
    at the two thresholds (the quadrant lines), each class labelled at one of its customers
    towards the outer corner of its region (MVC, MGC, BZ; where the points thin out, so the
    label stays readable) or, for the Migrators, the middle of theirs.

    The axes end at a round number above the 99th percentile, so that a few giants do not
    squeeze every other customer into one corner; the axis title says how many lie beyond."""
    a = clv["clv"].to_numpy(dtype=float)
    p = np.nan_to_num(clv["potential_value"].to_numpy(dtype=float), nan=0.0)
    ta = float(matrix["actual_threshold"].iloc[0])
    tp = float(matrix["potential_threshold"].iloc[0])
    x_hi = _nice(max(float(np.quantile(a, 0.99)), ta) * 1.1) if len(a) else 1.0
    x_lo = -_nice(-float(np.quantile(a, 0.005)) * 1.1) if len(a) and a.min() < 0 else 0.0
    y_hi = _nice(max(float(np.quantile(p, 0.99)), tp) * 1.1) if len(p) else 1.0
    x_hi, y_hi = x_hi or 1.0, y_hi or 1.0
    centres = {"MVC": (ta + 0.8 * (x_hi - ta), tp + 0.8 * (y_hi - tp)),
               "MGC": (ta / 2, tp + 0.8 * (y_hi - tp)), "Migrator": (ta / 2, tp / 2),
               "BZ": (0.8 * x_lo, tp + 0.5 * (y_hi - tp))}
    classes = clv["value_class"].to_numpy()
    labels = []
    for name, (cx, cy) in centres.items():
        rows = np.flatnonzero((classes == name) & (a >= x_lo) & (a <= x_hi) & (p <= y_hi))
        if len(rows):  # the class's customer nearest its label's place
            d = ((a[rows] - cx) / (x_hi - x_lo)) ** 2 + ((p[rows] - cy) / y_hi) ** 2
            labels.append((int(rows[np.argmin(d)]), "value_class"))
    beyond = int(np.sum((a < x_lo) | (a > x_hi) | (p > y_hi)))
    note = f"; {beyond:,} customer(s) beyond the axes" if beyond else ""
    return ChartSpec("scatter", "Value matrix (actual vs potential)", "clv",
                     ("potential_value",), width_cols=10, height_rows=20,
                     x_title=f"actual value (CLV); dashed: the thresholds{note}",
                     y_title="potential value", cross_x=ta, cross_y=tp, labels=tuple(labels),
                     x_min=x_lo, x_max=x_hi, y_min=0.0, y_max=y_hi)


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
                     ys, x_title="periods since acquisition", y_title="share still active",
                     y_format="0%", y_min=0.0, y_max=1.0)


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
    """Group result frames into xlvalue's sheets, in contract order, behind an xv_Summary
    sheet (headline figures, warnings, links to every block and chart) that the workbook
    opens on."""
    frames = dict(results.frames)
    frames["xv_out_RunLog"] = log
    by_sheet: dict[str, list[Block]] = {}
    for spec in OUTPUTS:
        if spec.name in frames:
            frame = frames[spec.name]
            charts = results.charts.get(spec.name, [])
            by_sheet.setdefault(spec.sheet, []).append(
                Block(spec.name, spec.sheet, frame, title=f"{spec.name}: {spec.doc}",
                      charts=charts, empty_note=EMPTY_NOTES.get(spec.name, ""),
                      colour_scale_from=COLOUR_SCALES.get(spec.name)))
    sheets = [SheetOutput(name, by_sheet[name]) for name in output_sheets() if name in by_sheet]
    return [SheetOutput(SUMMARY_SHEET, summary_blocks(results, sheets), active=True),
            *sheets]


# what an empty block says instead of data rows (and instead of a chart)
EMPTY_NOTES = {
    "xv_out_Holdout": "no holdout rows: no customer bought in both calibration and holdout",
    "xv_out_ScoreMovers": "no customer moved between its score rank and its revenue rank",
    "xv_out_ProfitWhale": "no whale curve: the objects' total profit is not positive",
}


def _where(sheet: str, row: int, col: int) -> str:
    return f"{quote_sheet(sheet)}!{col_letter(col)}{row + 1}"


def summary_blocks(results: Results, sheets: list[SheetOutput]) -> list[Block]:
    """The xv_Summary sheet: headline figures, warnings, and a contents table whose links go
    to every block (its title cell) and chart (its top-left cell)."""
    docs = {o.name: o.doc for o in OUTPUTS}
    rows, links = [], []
    for out in sheets:
        for pb in place_blocks(out.blocks):
            frame = pb.block.frame
            rows.append((out.name, pb.block.name, len(frame),
                         f"{out.name}!{col_letter(pb.first_col)}{pb.header_row}",
                         docs.get(pb.block.name, "")))
            links.append(_where(out.name, pb.header_row - 1, pb.first_col))
            if not len(frame):
                continue
            for spec, (r, c) in zip(pb.block.charts, pb.chart_cells, strict=True):
                rows.append((out.name, f"chart: {spec.title}", None,
                             f"{out.name}!{col_letter(c)}{r + 1}", f"chart of {pb.block.name}"))
                links.append(_where(out.name, r, c))
    contents = pd.DataFrame(rows, columns=["sheet", "block", "rows", "go_to", "what"])
    contents["rows"] = contents["rows"].astype("Int64")
    warnings = pd.DataFrame({"warning": results.warnings}, dtype=object)
    docs_of = {o.name: o.doc for o in OUTPUTS}
    return [
        Block("xv_out_Summary", SUMMARY_SHEET, headline(results, with_blocks=False),
              title=f"xlvalue results: {', '.join(results.analyses) or 'no analysis'}"),
        Block("xv_out_Warnings", SUMMARY_SHEET, warnings, title="xv_out_Warnings: "
              f"{docs_of['xv_out_Warnings']}", empty_note="no warnings"),
        Block("xv_out_Contents", SUMMARY_SHEET, contents,
              title="xv_out_Contents: where each result is (click a go_to cell)",
              links={"go_to": links}),
    ]


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
    failed: dict[str, InputError] = {}
    try:
        inputs = read_inputs(reader, analyses, read_file, file_roots)
    except InputError as exc:
        if only is not None or len(analyses) < 2:
            raise
        # a plain run: find the analyses whose own inputs are at fault, run the others
        base: set[str] = set()  # the log's analyses, which scores on rfm./clv. lean on
        for analysis in sorted(analyses, key=lambda a: a != "rfm"):
            try:
                read_inputs(reader, {analysis} | base, read_file, file_roots)
                if analysis == "rfm":
                    base = {"rfm"}
            except InputError as one:
                failed[analysis] = one
        if len(failed) == len(analyses) or not failed:
            raise exc from None
        analyses = analyses - set(failed)
        inputs = read_inputs(reader, analyses, read_file, file_roots)
    results = analyse(inputs, analyses, say, explicit=only is not None, release_log=True)
    for analysis, exc in failed.items():
        results.not_run[analysis] = _first_problem(exc)
        results.warnings.append(f"{analysis} not run: {results.not_run[analysis]}")
    if skipped:
        results.warnings.append(f"skipped (their input ranges are absent or empty): "
                                f"{', '.join(skipped)}")
    return inputs, results, run_log(inputs, results, started)


def _first_problem(exc: InputError) -> str:
    """The first problem of an error, and how many more there are (per column)."""
    return exc.brief()


def headline(results: Results, with_blocks: bool = True) -> pd.DataFrame:
    """Headline figures of a run (the console summary and the xv_out_Summary block); with
    with_blocks also each block's row count."""
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
        rows.append(("whale curve peak", f"{p['peak_pct_profit']:.1f}% of value at "
                                         f"{p['at_pct_customers']:.1f}% of customers"))
    rows.extend(_more_figures(results))
    if with_blocks:
        for name, frame in results.frames.items():
            rows.append((name, f"{len(frame):,} row{'' if len(frame) == 1 else 's'}"))
    return pd.DataFrame(rows, columns=["item", "value"])


def _more_figures(results: Results) -> list[tuple[str, str]]:
    """Headline figures of CLV, scores, costing and elasticity."""
    rows = []
    f = results.frames
    clv = f.get("xv_out_CLV")
    if clv is not None and len(clv):
        rows.append(("total CLV", f"{clv['clv'].sum():,.2f} over the horizon, "
                                  f"mean P(alive) {clv['p_alive'].mean():.1%}"))
    matrix = f.get("xv_out_ValueMatrix")
    if matrix is not None:
        rows.append(("value classes", ", ".join(f"{c} {int(n):,}" for c, n in
                                                 zip(matrix["value_class"], matrix["customers"],
                                                     strict=True))))
    scores = f.get("xv_out_Scores")
    if scores is not None and len(scores) and "rank" in scores:
        top = scores.sort_values("rank").iloc[0]
        rows.append(("top score", f"{top.iloc[0]} (score {top['score']:,.1f})"))
    movers = f.get("xv_out_ScoreMovers")
    if movers is not None and len(movers) and {"rank_change", "revenue_rank"} <= set(movers):
        m = movers.iloc[0]
        rows.append(("biggest mover", f"{m.iloc[0]}: revenue rank {int(m['revenue_rank'])} -> "
                                      f"score rank {int(m['rank'])}"))
    prof = f.get("xv_out_Profitability")
    if prof is not None and len(prof):
        losing = int((prof["profit_fac"] < 0).sum())
        rows.append(("profit (FAC)", f"{prof['profit_fac'].sum():,.2f} on {len(prof):,} objects, "
                                     f"{losing:,} losing money"))
    pw = f.get("xv_out_ProfitWhale")
    if pw is not None and len(pw):
        i = int(pw["pct_profit"].to_numpy().argmax())
        rows.append(("profit whale peak", f"{pw['pct_profit'].iloc[i]:.1f}% of profit at "
                                          f"{pw['pct_customers'].iloc[i]:.1f}% of objects"))
    el = f.get("xv_out_Elasticity")
    if el is not None and len(el) and "arc_elasticity" in el:
        elastic = int((el["arc_elasticity"].abs() > 1).sum())
        rows.append(("price elasticity", f"{elastic} of {len(el)} group(s) elastic (|E| > 1)"))
    if results.warnings:
        rows.append(("warnings", f"{len(results.warnings)} (see xv_out_Warnings)"))
    return rows
