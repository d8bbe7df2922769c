"""CLV: the purchase model (BG/NBD, MBG/NBD, Pareto/NBD or NBD) and gamma-gamma, expected
purchases, P(alive), discounted lifetime value, the CRM gross-margin forecast, the value matrix
and the BTYD diagnostics (METHODS sections 4-6)."""

from __future__ import annotations

import numpy as np

from xlvalue.analyses.compare import comparison, holdout_days
from xlvalue.analyses.rfm import RFMResult
from xlvalue.analyses.spec import Analysis, BlockSpec, Button, Context, Frames, HeadlineRow
from xlvalue.analytics.clv_analysis import analyse_clv
from xlvalue.analytics.customer_value import VALUE_CLASSES
from xlvalue.analytics.memory import release_memory
from xlvalue.analytics.model_comparison import AUTO
from xlvalue.errors import InputError, ModelError, Problem
from xlvalue.workbook.charts import ChartSpec

__all__ = ["ANALYSIS", "headline", "alive_chart", "nice_bound", "run", "value_matrix_chart"]

# the core's diagnostics and the blocks that show them
DIAGNOSTICS = {"period_transactions": "xv_out_PeriodTransactions",
               "alive_matrix": "xv_out_AliveMatrix", "tracking": "xv_out_Tracking"}


def run(ctx: Context) -> Frames:
    """Fit, forecast and value RFM's customers. A model that cannot be fitted fails a run
    that asked for CLV by name; a plain run goes on without the CLV blocks, with a warning.
    With Model = auto the model is the run's model comparison's choice (the comparison
    analysis shares it), said in the warnings and the headline."""
    inputs, s = ctx.inputs, ctx.settings
    rfm: RFMResult = ctx.shared["rfm"]
    assert inputs.log is not None
    days = holdout_days(ctx) if s["CalibrationEnd"] is not None else inputs.days
    try:
        clv = analyse_clv(inputs.log, inputs.as_of, s, rfm.table, inputs.customers,
                          repeat=rfm.repeat, history=rfm.history, days=days,
                          comparison=comparison(ctx) if s["Model"] == AUTO else None)
        release_memory()
    except ModelError as exc:
        if ctx.explicit:
            raise InputError(Problem(f"CLV: {exc}", book=inputs.book)) from None
        ctx.warnings.append(f"CLV skipped: {exc}")
        return {}
    ctx.shared["clv"] = clv.customers
    ctx.warnings.extend(clv.warnings)
    if clv.choice:  # the headline says which model Model = auto chose, and why
        clv.models.attrs["model_choice"] = clv.choice
    frames = {"xv_out_CLV": clv.customers, "xv_out_Models": clv.models,
              "xv_out_Forecast": clv.forecast, "xv_out_ValueMatrix": clv.matrix}
    if clv.holdout is not None:
        frames["xv_out_Holdout"] = clv.holdout
    frames.update({DIAGNOSTICS[k]: v for k, v in clv.diagnostics.items()})
    return frames


def nice_bound(x: float) -> float:
    """x rounded up to a round axis bound (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of 10)."""
    if not x > 0 or not np.isfinite(x):
        return 0.0
    p = 10.0 ** np.floor(np.log10(x))
    steps = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
    return float(next((m * p for m in steps if m * p >= x * (1 - 1e-12)), x))


def value_matrix_chart(frames: Frames) -> ChartSpec | None:
    """The value matrix as a scatter of actual (CLV) against potential value, one coloured
    series per value class (with a legend), whose axes cross at the two thresholds (the
    quadrant lines), each class labelled at one of its customers
    towards the outer corner of its region (MVC, MGC, BZ; where the points thin out, so the
    label stays readable) or, for the Migrators, the middle of theirs.

    The axes end at a round number above the 99th percentile, so that a few giants do not
    squeeze every other customer into one corner; the axis title says how many lie beyond."""
    clv, matrix = frames.get("xv_out_CLV"), frames.get("xv_out_ValueMatrix")
    if clv is None or matrix is None:
        return None
    a = clv["clv"].to_numpy(dtype=float)
    p = np.nan_to_num(clv["potential_value"].to_numpy(dtype=float), nan=0.0)
    ta = float(matrix["actual_threshold"].iloc[0])
    tp = float(matrix["potential_threshold"].iloc[0])
    x_hi = nice_bound(max(float(np.quantile(a, 0.99)), ta) * 1.1) if len(a) else 1.0
    x_lo = -nice_bound(-float(np.quantile(a, 0.005)) * 1.1) if len(a) and a.min() < 0 else 0.0
    y_hi = nice_bound(max(float(np.quantile(p, 0.99)), tp) * 1.1) if len(p) else 1.0
    x_hi, y_hi = x_hi or 1.0, y_hi or 1.0
    centres = {"MVC": (ta + 0.8 * (x_hi - ta), tp + 0.8 * (y_hi - tp)),
               "MGC": (ta / 2, tp + 0.8 * (y_hi - tp)), "Migrator": (ta / 2, tp / 2),
               "BZ": (0.8 * x_lo, tp + 0.5 * (y_hi - tp))}
    assert tuple(centres) == VALUE_CLASSES
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
                     x_min=x_lo, x_max=x_hi, y_min=0.0, y_max=y_hi,
                     series_by="value_class", series_order=VALUE_CLASSES)


def alive_chart(frames: Frames) -> ChartSpec | None:
    """P(alive) against recency for a few frequencies (the matrix's columns, as present)."""
    matrix = frames.get("xv_out_AliveMatrix")
    if matrix is None:
        return None
    wanted = [c for c in ("x=1", "x=2", "x=5", "x=10", "x=20") if c in matrix.columns]
    return ChartSpec("line", "P(alive) by recency, for customers with x repeat purchases",
                     "recency", tuple(wanted or [c for c in matrix.columns[1:2]]),
                     x_title="recency (at the largest age T)", y_title="P(alive)",
                     y_format="0%", y_min=0.0, y_max=1.0)


def headline(frames: Frames) -> list[HeadlineRow]:
    """Which model Model = auto chose and why (only then), total CLV and mean P(alive),
    customers per value class."""
    rows: list[HeadlineRow] = []
    models = frames.get("xv_out_Models")
    if models is not None and models.attrs.get("model_choice"):
        rows.append(("purchase model", models.attrs["model_choice"], "text"))
    clv = frames.get("xv_out_CLV")
    if clv is not None and len(clv):
        rows.append(("total CLV over the horizon", float(clv["clv"].sum())))
        rows.append(("mean P(alive)", float(clv["p_alive"].mean()), "share"))
    matrix = frames.get("xv_out_ValueMatrix")
    if matrix is not None:
        rows.append(("value classes", ", ".join(
            f"{c} {int(n):,}" for c, n in zip(matrix["value_class"], matrix["customers"],
                                              strict=True)), "text"))
    return rows


ANALYSIS = Analysis(
    name="clv",
    title="fitting the purchase model and gamma-gamma, forecasting CLV",
    doc="purchase and spend models, P(alive), CLV, forecast, value matrix, diagnostics",
    sheet="xv_CLV",
    reads=("xv_Transactions",),
    optional=("xv_Customers", "xv_Segments"),
    settings=("Model", "Covariates", "TimeUnit", "PeriodUnit", "Horizon", "DiscountRate", "MarginRate",
              "CalibrationEnd", "IntervalLevel", "IntervalDraws", "MatrixActual",
              "MatrixPotential"),
    depends_on=("rfm",),
    run=run,
    headline=headline,
    button=Button("CLV", "ChartTrendline",
                  "BG/NBD, MBG/NBD, Pareto/NBD or NBD with gamma-gamma: P(alive), lifetime "
                  "value, forecast, value matrix"),
    blocks=(
        BlockSpec("xv_out_CLV", "Per customer: P(alive), expected purchases and spend, CLV "
                  "(discounted CRM gross margin over the horizon), historical and potential "
                  "value, value class.", charts=(value_matrix_chart,),
                  formats={c: "share" for c in ("p_alive", "p_alive_low", "p_alive_high")}),
        BlockSpec("xv_out_Models", "Fitted parameters, standard errors, log-likelihood, "
                  "AIC/BIC, convergence; column fit: the full-period fit CLV uses, and with "
                  "CalibrationEnd the calibration fit the holdout validates."),
        BlockSpec("xv_out_Forecast", "CRM gross-margin forecast per period: purchases, amount, "
                  "cost, marketing, margin.",
                  charts=(ChartSpec("bar", "CRM gross margin by period", "period",
                                    ("crm_margin",)),)),
        BlockSpec("xv_out_ValueMatrix", "Actual x potential value matrix: MVC, MGC, Migrators, "
                  "BZ."),
        BlockSpec("xv_out_Holdout", "Holdout check (with CalibrationEnd): actual vs expected "
                  "repeat purchases by calibration frequency.",
                  empty_note="no holdout rows: no customer bought in both calibration and "
                             "holdout",
                  charts=(ChartSpec("line", "Conditional expectations: holdout purchases by "
                                    "calibration frequency, actual vs model", "frequency_cal",
                                    ("actual_holdout", "expected_holdout"),
                                    x_title="repeat purchases in calibration",
                                    y_title="mean repeat purchases in holdout",
                                    y_format="0.0"),)),
        BlockSpec("xv_out_Tracking", "Tracking (with CalibrationEnd): cumulative repeat "
                  "purchases per week, actual vs the calibration model, across calibration and "
                  "holdout.",
                  charts=(ChartSpec("line", "Tracking: cumulative repeat purchases, actual vs "
                                    "model", "week", ("actual", "model"),
                                    x_title="week (calibration period, then holdout)",
                                    y_title="cumulative repeat purchases"),)),
        BlockSpec("xv_out_PeriodTransactions", "Customers by number of repeat purchases: "
                  "actual vs the model's expectation.",
                  charts=(ChartSpec("bar", "Customers by number of repeat purchases, actual vs "
                                    "model", "repeat_purchases", ("actual", "model"),
                                    x_title="repeat purchases", y_title="customers"),)),
        BlockSpec("xv_out_AliveMatrix", "P(alive) by recency (rows) and frequency (columns "
                  "x=...) at the largest age, with a colour scale.", charts=(alive_chart,),
                  colour_scale_from="x=0",
                  formats=lambda m: {c: "share" for c in m.columns if str(c).startswith("x=")}),
    ),
)


