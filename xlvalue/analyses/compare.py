"""Model comparison: every purchase model (BG/NBD, MBG/NBD, Pareto/NBD, NBD) fitted on the
calibration period and judged on the holdout (with CalibrationEnd), or compared by
log-likelihood, AIC and BIC on the full period (without); the comparison `Model = auto` takes
its CLV model from (docs/models.md, M6)."""

from __future__ import annotations

from xlvalue.analyses.rfm import RFMResult
from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames, HeadlineRow
from xlvalue.analytics.model_comparison import ModelComparison, compare_on_log
from xlvalue.analytics.models import PURCHASE_MODELS
from xlvalue.analytics.models.covariates import covariate_columns, design_frame
from xlvalue.analytics.transactions import PurchaseDays, day_number, purchase_days
from xlvalue.errors import InputError, ModelError, Problem
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "comparison", "headline", "holdout_chart", "holdout_days", "run"]


def holdout_days(ctx: Context) -> PurchaseDays:
    """The log's purchase days to AsOfDate for the holdout checks, made once per run and
    shared by the comparison and CLV (a cluster-reduced log brings its own)."""
    inputs = ctx.inputs
    if inputs.days is not None:
        return inputs.days
    days = ctx.shared.get("holdout_days")
    if days is None:
        assert inputs.log is not None
        days = ctx.shared["holdout_days"] = purchase_days(inputs.log.until(inputs.as_of),
                                                          with_margin=False)
    return days


def comparison(ctx: Context) -> ModelComparison:
    """The run's model comparison, made once whether the comparison or CLV (Model = auto)
    asks first; with the Covariates setting every model that takes covariates is fitted with
    them, as CLV fits its model."""
    done = ctx.shared.get("comparison")
    if done is not None:
        return done
    inputs, s = ctx.inputs, ctx.settings
    rfm: RFMResult = ctx.shared["rfm"]
    assert inputs.log is not None
    cal = s["CalibrationEnd"]
    names = covariate_columns(s.get("Covariates"))
    covariates_of = (lambda ids: design_frame(inputs.customers, names, ids, "CustomerID",
                                              "xv_Customers")) if names else None
    if cal is None:
        result = compare_on_log(inputs.log, inputs.as_of, s["TimeUnit"], summary=rfm.repeat,
                                covariates_of=covariates_of)
    else:
        result = compare_on_log(inputs.log, inputs.as_of, s["TimeUnit"], day_number(cal),
                                days=holdout_days(ctx), covariates_of=covariates_of)
    ctx.shared["comparison"] = result
    return result


def run(ctx: Context) -> Frames:
    """The comparison table and, with CalibrationEnd, the holdout by calibration frequency.
    Covariates that cannot be used fail a run that asked for the comparison by name; a plain
    run goes on without it, with a warning (as CLV)."""
    try:
        result = comparison(ctx)
    except ModelError as exc:
        if ctx.explicit:
            raise InputError(Problem(f"model comparison: {exc}", book=ctx.inputs.book)) from None
        ctx.warnings.append(f"model comparison skipped: {exc}")
        return {}
    frames = {"xv_out_ModelComparison": result.table}
    if result.by_frequency is not None:
        frames["xv_out_ModelHoldout"] = result.by_frequency
    return frames


def holdout_chart(frames: Frames) -> ChartSpec | None:
    """Mean holdout purchases by calibration frequency: each fitted model, and the actual
    line drawn last, on top (the best model's line would otherwise hide it)."""
    table = frames.get("xv_out_ModelHoldout")
    if table is None:
        return None
    models = tuple(c for c in table.columns if c in PURCHASE_MODELS)
    return ChartSpec("line", "Holdout purchases by calibration frequency: actual vs each model",
                     "frequency_cal", (*models, "actual"),
                     x_title="repeat purchases in calibration",
                     y_title="mean repeat purchases in holdout", y_format="0.0",
                     width_cols=10, height_rows=18)


def headline(frames: Frames) -> list[HeadlineRow]:
    """The best model by the comparison's criterion and its aggregate holdout error."""
    table = frames.get("xv_out_ModelComparison")
    if table is None or not len(table):
        return []
    best = table[table["rank"] == 1]
    if not len(best):
        return [("best purchase model", "none: no model could be fitted and converged",
                 "text")]
    row = best.iloc[0]
    if "holdout_rmse" not in table:  # no CalibrationEnd: in sample, by BIC
        return [("best purchase model (BIC, no holdout)", row["model"], "text")]
    return [("best purchase model (holdout RMSE)", row["model"], "text"),
            ("its aggregate holdout error", float(row["holdout_error_pct"]), "pct")]


ANALYSIS = Analysis(
    name="compare",
    title="comparing the purchase models",
    doc="BG/NBD, MBG/NBD, Pareto/NBD and NBD compared: log-likelihood, AIC/BIC, holdout errors",
    sheet="xv_Compare",
    reads=("xv_Transactions",),
    # RFM's, whose repeat summary it takes (a fault in them leaves both out, as with
    # ranking); xv_Customers also holds the Covariates columns
    optional=("xv_Customers", "xv_Segments"),
    settings=("TimeUnit", "CalibrationEnd", "Covariates"),
    depends_on=("rfm",),
    run=run,
    headline=headline,
    button=Button("Compare", "ChartTypeBarInsertGallery",
                  "BG/NBD, MBG/NBD, Pareto/NBD and NBD fitted on the calibration period and "
                  "judged on the holdout (Model = auto takes the best)"),
    blocks=(
        BlockSpec("xv_out_ModelComparison", "Per purchase model: log-likelihood of the purchase "
                  "times (the NBD's made comparable), AIC, BIC and, with CalibrationEnd, the "
                  "holdout errors of the calibration fit (per-customer MAE and RMSE, aggregate "
                  "%); rank 1 is what Model = auto takes (lowest holdout RMSE; without "
                  "CalibrationEnd lowest BIC).",
                  formats={"holdout_error_pct": "pct", "rmse_vs_best_pct": "pct"}),
        BlockSpec("xv_out_ModelHoldout", "Holdout check of every model (with CalibrationEnd): "
                  "mean holdout repeat purchases by calibration frequency, actual and as each "
                  "calibration fit predicts.", charts=(holdout_chart,)),
    ),
)
