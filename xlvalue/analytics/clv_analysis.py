"""The CLV analysis: fit the purchase and spend models, forecast the CRM gross margin, value
each customer (historical, actual, potential) and place them in the value matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlvalue.analytics.customer_value import (
    VALUE_CLASSES,
    MarginHistory,
    crm_margin,
    discount_factors,
    margin_history,
    margin_rate_path,
    period_length,
    potential_value,
    purchases_by_period,
    value_matrix,
)
from xlvalue.analytics.diagnostics import (
    alive_matrix,
    conditional_expectations,
    period_transactions,
    tracking,
)
from xlvalue.analytics.intervals import IntervalOptions, RateWeights, customer_intervals
from xlvalue.analytics.model_comparison import AUTO, ModelComparison, compare_on_log
from xlvalue.analytics.models import GammaGammaModel, purchase_model
from xlvalue.analytics.models.base import limited_blas_threads
from xlvalue.analytics.models.covariates import both_processes, covariate_columns, design_frame
from xlvalue.analytics.rfm import calibration_holdout, repeat_summary
from xlvalue.analytics.transactions import (
    DAYS_PER_UNIT,
    PurchaseDays,
    TransactionLog,
    day_number,
    purchase_days,
)
from xlvalue.errors import ModelError

__all__ = ["CUSTOMER_BLOCK", "CLVResult", "Flows", "analyse_clv", "fit_purchase_model",
           "holdout_tracking", "interval_options", "rate_weights",
           "fit_spend_model", "forecast_flows", "holdout_fit", "holdout_table",
           "FULL_FIT", "CALIBRATION_FIT"]


FULL_FIT = "full period to AsOfDate: used for CLV"
CALIBRATION_FIT = "calibration period to CalibrationEnd: validated by xv_out_Holdout"


@dataclass
class CLVResult:
    """Everything the CLV analysis produces, as tables.

    Attributes
    ----------
    customers : pandas.DataFrame
        Per customer: frequency, recency, T, monetary_value, p_alive, expected_purchases,
        expected_avg_spend, margin_rate, clv, historical_value, potential_value, value_class.
    models : pandas.DataFrame
        The models' `fit_report` tables, stacked.
    forecast : pandas.DataFrame
        Per forecast period: expected purchases, amount, costs, CRM margin (currency).
    matrix : pandas.DataFrame
        Customers and value per value class, with the thresholds.
    holdout : pandas.DataFrame or None
        Actual vs expected holdout purchases by calibration frequency (with CalibrationEnd).
    warnings : list of str
        Notes for the user (convergence, fallbacks).
    diagnostics : dict of str to pandas.DataFrame
        period_transactions, alive_matrix and (with a calibration end) tracking: the BTYD
        diagnostics (analytics.diagnostics).
    model : str
        The purchase model used (a key of PURCHASE_MODELS; Model = auto's choice).
    choice : str or None
        With Model = auto: which model the comparison chose and why, in one sentence.
    """
    customers: pd.DataFrame
    models: pd.DataFrame
    forecast: pd.DataFrame
    matrix: pd.DataFrame
    holdout: pd.DataFrame | None
    warnings: list[str] = field(default_factory=list)
    diagnostics: dict[str, pd.DataFrame] = field(default_factory=dict)  # by diagnostic
    model: str = ""
    choice: str | None = None


def fit_purchase_model(name: str, summary: pd.DataFrame,
                       covariates: pd.DataFrame | None = None):
    """Fit the chosen purchase model on a repeat-purchase summary.

    Parameters
    ----------
    name : {"bgnbd", "mbgnbd", "paretonbd", "nbd"}
        The model (a key of `PURCHASE_MODELS`).
    summary : pandas.DataFrame
        frequency, recency and T (the summary's time unit).
    covariates : pandas.DataFrame, optional
        Numeric covariates, one row per summary row, used for both the purchase and the
        dropout process (xlvalue.analytics.models.covariates).

    Returns
    -------
    fitted purchase model
    """
    return purchase_model(name)().fit(summary["frequency"], summary["recency"], summary["T"],
                                      **both_processes(covariates))


def fit_spend_model(summary: pd.DataFrame) -> GammaGammaModel:
    """Fit gamma-gamma on the repeat customers with a positive mean spend.

    Parameters
    ----------
    summary : pandas.DataFrame
        frequency and monetary_value (currency).

    Returns
    -------
    GammaGammaModel
    """
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    return GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])


def holdout_table(model_name: str, log: TransactionLog, calibration_end: int, as_of: int,
                  unit: str, max_frequency: int = 7, days: PurchaseDays | None = None
                  ) -> pd.DataFrame:
    """Mean actual vs expected holdout repeat purchases by calibration frequency (0..7+).

    Parameters
    ----------
    model_name : str
        The purchase model (a key of `PURCHASE_MODELS`), fitted on the calibration period.
    log : TransactionLog
        The transactions.
    calibration_end : int
        Last calibration day (days since 1970-01-01).
    as_of : int
        Last holdout day (days since 1970-01-01).
    unit : {"days", "weeks"}
        The model's time unit.
    max_frequency : int, default 7
        Calibration frequencies from this one up are pooled ("7+").
    days : PurchaseDays, optional
        The log's purchase days (a log reduced on a cluster has no rows).

    Returns
    -------
    pandas.DataFrame
        frequency_cal, customers, actual_holdout, expected_holdout (purchases per customer).

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing
       Science 24(2), figure 4 (conditional expectations).
    """
    return holdout_fit(model_name, log, calibration_end, as_of, unit, max_frequency, days)[0]


def holdout_fit(model_name: str, log: TransactionLog, calibration_end: int, as_of: int,
                unit: str, max_frequency: int = 7, days: PurchaseDays | None = None,
                covariates_of=None, model=None):
    """`holdout_table` and the calibration-period model it validates (the estimation-period
    fit CLVTools reports; FHL 2005's published CDNOW figures are this fit).

    Parameters
    ----------
    model_name : str
        The purchase model (a key of `PURCHASE_MODELS`).
    log : TransactionLog
        The transactions.
    calibration_end : int
        Last calibration day (days since 1970-01-01).
    as_of : int
        Last holdout day (days since 1970-01-01).
    unit : {"days", "weeks"}
        The model's time unit.
    max_frequency : int, default 7
        Calibration frequencies from this one up are pooled ("7+").
    days : PurchaseDays, optional
        The log's purchase days, when already made.
    covariates_of : callable, optional
        Customer ids -> their covariate frame (a model with covariates).
    model : fitted purchase model, optional
        That model already fitted on this calibration period (a model comparison's fit):
        used as it is instead of fitting again.

    Returns
    -------
    tuple of (pandas.DataFrame, fitted purchase model)
    """
    ch = calibration_holdout(log, calibration_end, as_of, unit, days=days)
    cal = ch.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency",
                             "T_cal": "T"})
    covariates = covariates_of(cal["customer_id"]) if covariates_of is not None else None
    if model is None:
        model = fit_purchase_model(model_name, cal, covariates)
    expected = model.conditional_expected_number_of_purchases_up_to_time(
        ch["duration_holdout"].to_numpy(), cal["frequency"].to_numpy(), cal["recency"].to_numpy(),
        cal["T"].to_numpy(), **both_processes(covariates))
    table = conditional_expectations(ch["frequency_cal"].to_numpy(), {
        "actual_holdout": ch["frequency_holdout"].to_numpy(), "expected_holdout": expected},
        max_frequency)
    return table, model


def holdout_tracking(model, days: PurchaseDays, calibration_end: int, as_of: int, unit: str
                     ) -> pd.DataFrame:
    """Tracking of cumulative repeat purchases per week over calibration and holdout, expected
    by the calibration fit (diagnostics.tracking; lifetimes' plot_cumulative_transactions).

    Parameters
    ----------
    model : fitted purchase model
        The calibration fit (holdout_fit's).
    days : PurchaseDays
        The log's purchase days.
    calibration_end, as_of : int
        Last calibration day and last day tracked (days since 1970-01-01).
    unit : {"days", "weeks"}
        The model's time unit.

    Returns
    -------
    pandas.DataFrame
        week, week_ending, period, actual, model.
    """
    d = days.until(as_of)
    bought = d.purchases > 0  # return-only days are no purchase days (as the summaries)
    code, day = d.code[bought], d.day[bought]
    first = np.ones(len(code), bool)
    first[1:] = code[1:] != code[:-1]
    return tracking(model, day[first], day[~first], int(day.min()) if len(day) else as_of,
                    as_of, DAYS_PER_UNIT[unit], calibration_end)


@dataclass
class Flows:
    """Per customer and per forecast period sums of the CRM gross-margin forecast.

    Attributes
    ----------
    clv : numpy.ndarray
        Discounted CRM margin over the horizon, per customer (currency).
    expected_purchases : numpy.ndarray
        Expected purchases over the horizon, per customer.
    first_rate : numpy.ndarray
        Margin rate of the first forecast period, per customer (fraction).
    period_purchases, period_amount, period_product_cost, period_margin : numpy.ndarray
        Per period, summed over customers (purchases; currency).
    """

    clv: np.ndarray  # discounted CRM margin over the horizon, per customer
    expected_purchases: np.ndarray  # per customer, over the horizon
    first_rate: np.ndarray  # margin rate of the first forecast period, per customer
    period_purchases: np.ndarray  # per period, over customers
    period_amount: np.ndarray
    period_product_cost: np.ndarray
    period_margin: np.ndarray


CUSTOMER_BLOCK = 100_000  # customers x periods matrices are built this many rows at a time


def forecast_flows(model, x, tx, T, spend, history, codes, marketing, horizon: int,
                   length: float, default_rate: float, disc: np.ndarray,
                   covariates: pd.DataFrame | None = None) -> Flows:
    """The CRM gross-margin forecast (METHODS 6).

    Purchases per period x expected spend, the r1 margin-rate rule, minus marketing cost,
    discounted. Customers are taken in blocks, so the customers x periods matrices stay small
    for a million customers.

    Parameters
    ----------
    model : fitted purchase model
        The purchase model.
    x, tx, T : numpy.ndarray
        Repeat purchases, recency and age per customer (the model's time unit).
    spend : numpy.ndarray
        Expected spend per purchase (currency).
    history : MarginHistory
        Margin rates by period.
    codes : numpy.ndarray of int
        Each customer's code in the log (for `history`).
    marketing : numpy.ndarray
        Marketing cost per customer and period (currency).
    horizon : int
        Number of periods.
    length : float
        Length of a period in the model's time unit.
    default_rate : float
        Margin rate (fraction) where the history has none.
    disc : numpy.ndarray
        Discount factor per period.
    covariates : pandas.DataFrame, optional
        The customers' covariates (a model fitted with them), one row per customer.

    Returns
    -------
    Flows
    """
    n = len(x)
    out = Flows(np.empty(n), np.empty(n), np.empty(n), *(np.zeros(horizon) for _ in range(4)))
    with limited_blas_threads():  # customers x periods blocks: no gain from BLAS threads
        for lo in range(0, n, CUSTOMER_BLOCK):
            sl = slice(lo, min(lo + CUSTOMER_BLOCK, n))
            purchases = purchases_by_period(
                model, x[sl], tx[sl], T[sl], horizon, length,
                covariates=covariates.iloc[sl] if covariates is not None else None)
            amount = purchases * spend[sl, None]
            history_rates = margin_rate_path(history.rows(codes[sl]), horizon)
            rates = np.where(np.isfinite(history_rates), history_rates, default_rate)
            gm = crm_margin(amount, rates, marketing[sl, None])
            out.clv[sl] = gm @ disc
            out.expected_purchases[sl] = purchases.sum(axis=1)
            out.first_rate[sl] = rates[:, 0]
            out.period_purchases += purchases.sum(axis=0)
            out.period_amount += amount.sum(axis=0)
            out.period_product_cost += (amount * (1 - rates)).sum(axis=0)
            out.period_margin += gm.sum(axis=0)
    return out


def rate_weights(history: MarginHistory, codes: np.ndarray, horizon: int, default_rate: float,
                 disc: np.ndarray) -> RateWeights:
    """forecast_flows' margin rate x discount factor per customer and period, factored as
    scale x row.

    The r1 rule makes each rate the customer's last rate times a factor that depends only on
    the customer's last transacting period (or, without a last rate, the default rate times
    1), so customers of one last period share a row.

    Parameters
    ----------
    history : MarginHistory
        Margin rates by period.
    codes : numpy.ndarray of int
        Each customer's code in the log.
    horizon : int
        Number of forecast periods.
    default_rate : float
        Margin rate (fraction) where the history has none.
    disc : numpy.ndarray
        Discount factor per period.

    Returns
    -------
    RateWeights
    """
    h = history.rows(codes)
    known = np.isfinite(h.last_rate)
    scale = np.where(known, h.last_rate, default_rate)
    periods = np.arange(history.first_period, history.latest_period + 1)
    rows = margin_rate_path(MarginHistory(periods, np.ones(len(periods)), history.latest_period,
                                          history.first_period, history.slopes), horizon)
    table = np.vstack([rows * disc[None, :], disc[None, :]])  # last row: default rate
    group = np.where(known, h.last_period - history.first_period, len(periods))
    return RateWeights(scale, group.astype(np.int64), table)


def interval_options(settings: Mapping[str, Any]) -> IntervalOptions | None:
    """IntervalLevel and IntervalDraws of the settings; None when IntervalLevel is 0 (off).

    Parameters
    ----------
    settings : Mapping
        The workbook's settings.

    Returns
    -------
    IntervalOptions or None
    """
    level = float(settings.get("IntervalLevel", 0.9) or 0.0)
    if level <= 0:
        return None
    return IntervalOptions(level=level, draws=int(settings.get("IntervalDraws", 200)))


def analyse_clv(log: TransactionLog, as_of: int, settings: Mapping[str, Any], rfm: pd.DataFrame,
                customers: pd.DataFrame | None,
                repeat: pd.DataFrame | None = None,
                history: MarginHistory | None = None,
                days: PurchaseDays | None = None,
                comparison: ModelComparison | None = None) -> CLVResult:
    """Everything of METHODS sections 4-6 for the customers of the RFM table.

    With Model = auto the purchase model is the one a comparison of every model chooses
    (model_comparison: lowest holdout RMSE with CalibrationEnd, else lowest BIC); the
    choice and its reason are in `CLVResult.choice` and among the warnings.

    Parameters
    ----------
    log : TransactionLog
        The transactions.
    as_of : int
        Analysis date (days since 1970-01-01).
    settings : Mapping
        TimeUnit, PeriodUnit, Horizon, Model, DiscountRate (per period), MarginRate,
        MatrixActual, MatrixPotential, CalibrationEnd (the workbook's settings).
    rfm : pandas.DataFrame
        The RFM summary (customer_id, first_purchase, total_spend, total_margin, monetary).
    customers : pandas.DataFrame or None
        Optional CustomerID, MarketingCost, PotentialSpend, ShareOfWallet.
    repeat : pandas.DataFrame, optional
        ``repeat_summary(log, as_of, TimeUnit)`` made by the RFM step (only read).
    history : MarginHistory, optional
        ``margin_history(log, as_of, PeriodUnit)`` made by the RFM step (only read).
    days : PurchaseDays, optional
        The log's purchase days, for the holdout check of a log reduced on a cluster.
    comparison : ModelComparison, optional
        With Model = auto, the comparison already made on these data (else it is made here).

    Returns
    -------
    CLVResult

    References
    ----------
    .. [1] Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing
       Science 24(2).
    .. [2] Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves for customer base
       analysis", Journal of Marketing Research 42(4).
    """
    s = settings
    unit, period_unit, horizon = s["TimeUnit"], s["PeriodUnit"], int(s["Horizon"])
    warnings: list[str] = []
    summary = repeat if repeat is not None else repeat_summary(log, as_of, unit)
    covariate_names = covariate_columns(s.get("Covariates"))

    def covariates_of(ids) -> pd.DataFrame:
        return design_frame(customers, covariate_names, ids, "CustomerID", "xv_Customers")

    covariates = covariates_of(summary["customer_id"]) if covariate_names else None
    cal = s["CalibrationEnd"]
    if cal is not None and days is None:  # one sort of the log: holdout summary and tracking
        days = purchase_days(log.until(as_of), with_margin=False)
    name, choice, full_fit, cal_fit = s["Model"], None, None, None
    if name == AUTO:
        if comparison is None:
            comparison = compare_on_log(log, as_of, unit,
                                        day_number(cal) if cal is not None else None,
                                        summary=summary, days=days,
                                        covariates_of=covariates_of if covariate_names else None)
        if comparison.best is None:
            raise ModelError(f"Model = auto: {comparison.reason}")
        name = comparison.best
        choice = f"Model = auto chose {name}: {comparison.reason}"
        warnings.append(choice)
        # the comparison's fit of the chosen model is the calibration fit with a holdout,
        # else the full-period fit: used as it is, not fitted again
        if comparison.holdout:
            cal_fit = comparison.fits[name]
        else:
            full_fit = comparison.fits[name]
    model = full_fit if full_fit is not None else fit_purchase_model(name, summary, covariates)
    if not model.converged_:
        warnings.append(f"{model.model_name} did not converge: {model.message_}")
    frames = [model.fit_report()]
    x = summary["frequency"].to_numpy(dtype=float)
    tx = summary["recency"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)
    gg = None
    try:
        gg = fit_spend_model(summary)
        frames.append(gg.fit_report())
        spend = gg.conditional_expected_average_profit(x, summary["monetary_value"].to_numpy())
        if not gg.converged_:
            warnings.append(f"gamma-gamma did not converge: {gg.message_}")
    except ModelError as exc:
        gg = None
        warnings.append(f"{exc}; expected spend = each customer's observed mean spend per "
                        "purchase day (total spend / purchase days); fit gamma-gamma with "
                        "more repeat customers for a model-based spend")
        # mean spend whatever MonetaryMode says: rfm["monetary"] is total spend under
        # MonetaryMode=total, which would multiply CLV by the number of purchase days
        total = pd.Series(rfm["total_spend"].to_numpy(dtype=float),
                          index=rfm["customer_id"]).reindex(summary["customer_id"]).to_numpy()
        spend = total / (summary["frequency"].to_numpy(dtype=float) + 1.0)
    length = period_length(period_unit, unit)
    codes = pd.Index(log.customer_ids).get_indexer(summary["customer_id"])
    if history is None:
        history = margin_history(log, as_of, period_unit)
    marketing = np.zeros(len(summary))
    potential_spend = share = None
    if customers is not None and not customers.empty:
        c = customers.set_index("CustomerID").reindex(summary["customer_id"])
        if "MarketingCost" in c:
            marketing = c["MarketingCost"].fillna(0.0).to_numpy(dtype=float)
        potential_spend = c["PotentialSpend"].to_numpy(dtype=float) if "PotentialSpend" in c else None
        share = c["ShareOfWallet"].to_numpy(dtype=float) if "ShareOfWallet" in c else None
    disc = discount_factors(horizon, s["DiscountRate"])
    flows = forecast_flows(model, x, tx, T, spend, history, codes, marketing, horizon, length,
                           s["MarginRate"], disc, covariates)
    clv, rates0 = flows.clv, flows.first_rate
    bounds = {}
    options = interval_options(s)
    if options is not None and covariates is not None:
        warnings.append("no CLV intervals: the model has covariates (intervals from parameter "
                        "draws are computed for models without covariates)")
    elif options is not None:
        try:
            iv = customer_intervals(
                model, x, tx, T, np.arange(1, horizon + 1) * length, options,
                spend_model=gg, monetary=summary["monetary_value"].to_numpy(dtype=float),
                spend=None if gg is not None else spend,
                weights=rate_weights(history, codes, horizon, s["MarginRate"], disc),
                fixed_cost=marketing * disc.sum())
            bounds = iv.columns()
        except ModelError as exc:
            warnings.append(f"no CLV intervals: {exc}")

    # only the three RFM columns used here are aligned (the table has twenty)
    r = rfm[["customer_id", "first_purchase", "total_spend", "total_margin"]].set_index(
        "customer_id").reindex(summary["customer_id"])
    first = r["first_purchase"].to_numpy().astype("datetime64[D]").astype(np.int64)
    periods_seen = np.maximum((as_of - first + 1) / (length * DAYS_PER_UNIT[unit]), 1.0)
    spend_per_period = r["total_spend"].to_numpy(dtype=float) / periods_seen
    potential = potential_value(spend_per_period, potential_spend, share, rates0, horizon,
                                s["DiscountRate"])
    has_potential = potential_spend is not None or share is not None
    classes, ta, tp = value_matrix(clv, potential if has_potential else np.zeros(len(clv)),
                                   s["MatrixActual"], s["MatrixPotential"])
    if not has_potential:
        warnings.append("no PotentialSpend or ShareOfWallet among the customer attributes: "
                        "potential value is 0 and the value matrix uses actual value only")
    table = pd.DataFrame({
        "customer_id": summary["customer_id"],
        "frequency": summary["frequency"], "recency": summary["recency"], "T": summary["T"],
        "monetary_value": summary["monetary_value"],
        "p_alive": model.conditional_probability_alive(x, tx, T, **both_processes(covariates)),
        **_bounds(bounds, "p_alive"),
        "expected_purchases": flows.expected_purchases,
        **_bounds(bounds, "expected_purchases"),
        "expected_avg_spend": spend,
        "margin_rate": rates0,
        "clv": clv,
        **_bounds(bounds, "clv"),
        "historical_value": r["total_margin"].to_numpy(dtype=float),
        "potential_value": potential if has_potential else np.nan,
        "value_class": classes,
    }, copy=False)  # a block per column: no consolidation copy of a million rows
    forecast = pd.DataFrame({
        "period": np.arange(1, horizon + 1),
        "expected_purchases": flows.period_purchases,
        "amount": flows.period_amount,
        "product_cost": flows.period_product_cost,
        "marketing_cost": np.full(horizon, marketing.sum()),
        "crm_margin": flows.period_margin,
        "discounted_margin": flows.period_margin * disc,
    })
    matrix = (table.groupby("value_class")
              .agg(customers=("customer_id", "size"), actual_value=("clv", "sum"),
                   potential_value=("potential_value", "sum"))
              .reindex(list(VALUE_CLASSES)).fillna(0).reset_index())
    matrix["customers"] = matrix["customers"].astype(np.int64)
    matrix["share_of_customers"] = matrix["customers"] / max(len(table), 1)
    matrix["actual_threshold"] = ta
    matrix["potential_threshold"] = tp
    holdout = None
    diagnostics = {}
    if covariates is None:
        diagnostics = {
            "period_transactions": period_transactions(model, x, T),
            "alive_matrix": alive_matrix(model, int(x.max()) if len(x) else 0,
                                         float(T.max()) if len(T) else 0.0),
        }
    else:
        warnings.append("no period-transactions, P(alive) matrix or tracking diagnostics: they "
                        "describe a customer without covariates, and the model has covariates")
    for frame in frames:  # which fit each row belongs to, and which one CLV uses
        frame["fit"] = FULL_FIT
    if cal is not None:
        holdout, cal_model = holdout_fit(name, log, day_number(cal), as_of, unit, days=days,
                                         covariates_of=covariates_of if covariate_names else None,
                                         model=cal_fit)
        report = cal_model.fit_report()
        report["fit"] = CALIBRATION_FIT
        frames.insert(1, report)
        if not cal_model.converged_:
            warnings.append(f"the calibration fit of {cal_model.model_name} did not converge: "
                            f"{cal_model.message_}")
        if covariates is None:
            diagnostics["tracking"] = holdout_tracking(cal_model, days, day_number(cal),
                                                       as_of, unit)
    models = pd.concat(frames, ignore_index=True)
    return CLVResult(table, models, forecast, matrix, holdout, warnings, diagnostics,
                     model=name, choice=choice)


def _bounds(bounds: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """The interval columns of one quantity (none when intervals are off or failed)."""
    return {k: bounds[k] for k in (f"{name}_low", f"{name}_high") if k in bounds}
