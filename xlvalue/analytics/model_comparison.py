"""Model comparison: every purchase model of the registry fitted on the same customers and
compared by log-likelihood, AIC and BIC and, with a holdout period, by how well each predicts
every customer's holdout purchases; `Model = auto` takes the best.

With a calibration end the models are fitted on the calibration period and each customer's
holdout repeat purchases are predicted from his calibration history (the conditional
expectation E[Y(t) | x, t_x, T], as the holdout check of the CLV analysis), so the errors are
out of sample. Without one, the full-period fits are compared in sample, by BIC.

The choice rule (documented in docs/models.md, M6): the converged model with the lowest
holdout RMSE of per-customer purchases, ties broken by BIC; without a holdout the lowest BIC.
RMSE rather than MAE because every model predicts a mean, and the mean is what minimises the
squared error; the absolute error is minimised by the median, which is 0 for most customers,
so MAE rewards a model that predicts too few purchases.

The log-likelihoods are made comparable: BG/NBD, MBG/NBD and Pareto/NBD are likelihoods of
the purchase times (x, t_x, T), the NBD's is the probability of the count x alone. Under the
NBD's Poisson purchases the x purchase times given x are uniform on (0, T], with density
x! / T^x, so the NBD's likelihood of the same purchase times is its count likelihood plus
sum(log x! - x log T) (`timing_log_likelihood`); it is then BG/NBD's likelihood with no
dropout, which BG/NBD can never fit worse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import gammaln

from xlvalue.analytics.diagnostics import conditional_expectations
from xlvalue.analytics.models import PURCHASE_MODELS, NBDModel, purchase_model
from xlvalue.analytics.models.covariates import both_processes
from xlvalue.analytics.rfm import calibration_holdout, repeat_summary
from xlvalue.analytics.transactions import DAYS_PER_UNIT, PurchaseDays, TransactionLog
from xlvalue.errors import ModelError

__all__ = ["AUTO", "HoldoutErrors", "ModelComparison", "compare_models", "compare_on_log",
           "holdout_errors", "timing_log_likelihood"]

AUTO = "auto"  # the Model setting's value that picks the model by this comparison


@dataclass(frozen=True)
class HoldoutErrors:
    """How far a model's per-customer holdout predictions lie from what happened.

    Attributes
    ----------
    mae : float
        Mean absolute error of the per-customer purchases, mean |expected - actual|.
    rmse : float
        Root mean squared error, sqrt(mean (expected - actual)^2).
    actual, expected : float
        Holdout purchases of all customers, observed and predicted.
    error_pct : float
        Aggregate error in percent, 100 (expected - actual) / actual (NaN when actual is 0).
    """

    mae: float
    rmse: float
    actual: float
    expected: float
    error_pct: float


def holdout_errors(actual, expected) -> HoldoutErrors:
    """The per-customer and aggregate holdout errors of one model's predictions.

    Parameters
    ----------
    actual : array_like
        Holdout purchases per customer.
    expected : array_like
        The model's expected holdout purchases per customer (same order).

    Returns
    -------
    HoldoutErrors

    Examples
    --------
    Actual 0, 1, 3 and expected 0.5, 1, 1: errors 0.5, 0, -2, so MAE 2.5 / 3, RMSE
    sqrt(4.25 / 3), aggregate 100 (2.5 - 4) / 4 = -37.5 %.
    """
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape or a.size == 0:
        raise ModelError(f"holdout errors need as many predictions as customers (>= 1), got "
                         f"{e.size} predictions for {a.size} customers")
    d = e - a
    total, predicted = float(a.sum()), float(e.sum())
    pct = 100.0 * (predicted - total) / total if total > 0 else float("nan")
    return HoldoutErrors(float(np.mean(np.abs(d))), float(np.sqrt(np.mean(d * d))), total,
                         predicted, pct)


def timing_log_likelihood(model, frequency, T) -> float:
    """The fitted model's log-likelihood of the customers' purchase times (x, t_x, T).

    BG/NBD, MBG/NBD and Pareto/NBD are fitted on that likelihood already; the NBD is fitted on
    the probability of the count x, so its purchase-times likelihood adds, for customers with
    x > 0, log x! - x log T (the density of x uniform purchase times on (0, T]).

    Parameters
    ----------
    model : fitted purchase model
        A model of the registry, fitted on these customers.
    frequency, T : array_like
        Repeat purchases and age per customer (the fit's time unit).

    Returns
    -------
    float
        Log-likelihood (natural log), comparable across the purchase models.
    """
    ll = float(model.log_likelihood_)
    if not isinstance(model, NBDModel):
        return ll
    x = np.asarray(frequency, dtype=float)
    t = np.asarray(T, dtype=float)
    buys = x > 0
    return ll + float(np.sum(gammaln(x[buys] + 1) - x[buys] * np.log(t[buys])))


@dataclass
class ModelComparison:
    """The comparison of the purchase models and the choice it makes.

    Attributes
    ----------
    table : pandas.DataFrame
        Per model (registry order): model, parameters, customers, log_likelihood (purchase
        times), aic, bic, delta_bic (BIC minus the lowest); with a holdout also
        holdout_actual, holdout_expected (purchases of all customers), holdout_error_pct,
        holdout_mae, holdout_rmse, rmse_vs_best_pct (percent above the lowest RMSE); then
        rank (1 = best by the criterion, empty for a model that was not fitted or did not
        converge), status and basis (the periods and the criterion, in words).
    by_frequency : pandas.DataFrame or None
        With a holdout: per calibration frequency (0..6, 7+) customers, actual (mean holdout
        purchases) and each fitted model's mean prediction (a column per model).
    best : str or None
        The chosen model's key in PURCHASE_MODELS (None when none converged).
    criterion : str
        "holdout RMSE" or "BIC".
    reason : str
        Why `best` is best, in words: the criterion and every compared model's figure (or
        why no model could be chosen).
    fits : dict of str to fitted model
        The fitted models by key (calibration fits with a holdout, full-period ones without).
    holdout : bool
        Whether holdout errors were measured.
    """

    table: pd.DataFrame
    by_frequency: pd.DataFrame | None
    best: str | None
    criterion: str
    reason: str
    fits: dict = field(default_factory=dict)
    holdout: bool = False


def compare_models(summary: pd.DataFrame, holdout=None, duration=None,
                   models: Sequence[str] | None = None, basis: str = "",
                   max_frequency: int = 7,
                   covariates: pd.DataFrame | None = None) -> ModelComparison:
    """Fit each purchase model on the same customers and compare them.

    Parameters
    ----------
    summary : pandas.DataFrame
        frequency, recency, T per customer (the calibration summary when a holdout is given).
    holdout : array_like, optional
        Repeat purchases per customer in the holdout period (same order as summary).
    duration : float or array_like, optional
        Length of the holdout period (summary's time unit); required with holdout.
    models : sequence of str, optional
        Keys of PURCHASE_MODELS (default: all of them, in registry order).
    basis : str, optional
        What was fitted and on which period, in words, for the table's basis column.
    max_frequency : int, default 7
        Calibration frequencies from this one up are pooled in `by_frequency`.
    covariates : pandas.DataFrame, optional
        Numeric covariates per customer (summary's order) for both the purchase and the
        dropout process of every model that takes them (the NBD takes none: its row says so
        and it is not ranked).

    Returns
    -------
    ModelComparison

    Notes
    -----
    A model that cannot be fitted (ModelError) or does not converge keeps its row with the
    reason in `status` and is never chosen.
    """
    names = list(models) if models is not None else list(PURCHASE_MODELS)
    x = summary["frequency"].to_numpy(dtype=float)
    tx = summary["recency"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)
    with_holdout = holdout is not None
    if with_holdout:
        if duration is None:
            raise ModelError("a holdout comparison needs the holdout duration")
        actual = np.asarray(holdout, dtype=float)
        span = np.broadcast_to(np.asarray(duration, dtype=float), x.shape)
    rows, fits, predictions = [], {}, {}
    for name in names:
        row: dict = {"model": purchase_model(name).model_name}
        try:
            model = purchase_model(name)().fit(x, tx, T, **both_processes(covariates))
        except ModelError as exc:
            rows.append({**row, "status": f"not fitted: {exc}"})
            continue
        fits[row["model"]] = model
        ll = timing_log_likelihood(model, x, T)
        k, n = len(model.params_), float(model.n_customers_)  # covariate coefficients too
        row.update(parameters=k, customers=int(n), log_likelihood=ll, aic=2 * k - 2 * ll,
                   bic=k * np.log(n) - 2 * ll)
        if with_holdout:
            expected = model.conditional_expected_number_of_purchases_up_to_time(
                span, x, tx, T, **both_processes(covariates))
            predictions[row["model"]] = expected
            err = holdout_errors(actual, expected)
            row.update(holdout_actual=err.actual, holdout_expected=err.expected,
                       holdout_error_pct=err.error_pct, holdout_mae=err.mae,
                       holdout_rmse=err.rmse)
        row["status"] = "converged" if model.converged_ else \
            f"did not converge: {model.message_}"
        row["_ok"] = bool(model.converged_)
        rows.append(row)
    criterion = "holdout RMSE" if with_holdout else "BIC"
    table = _ranked(rows, with_holdout, basis)
    best = _best(table)
    by_frequency = None
    if with_holdout and predictions:
        by_frequency = conditional_expectations(x, {"actual": actual, **predictions},
                                                max_frequency)
    return ModelComparison(table, by_frequency, best, criterion,
                           _reason(table, best, criterion), fits, with_holdout)


_COLUMNS = ("model", "parameters", "customers", "log_likelihood", "aic", "bic")
_HOLDOUT_COLUMNS = ("holdout_actual", "holdout_expected", "holdout_error_pct", "holdout_mae",
                    "holdout_rmse")


def _ranked(rows: list[dict], with_holdout: bool, basis: str) -> pd.DataFrame:
    """The table in registry order with its rank column (converged models only)."""
    columns = [*_COLUMNS, *(_HOLDOUT_COLUMNS if with_holdout else ()), "_ok", "status"]
    t = pd.DataFrame(rows).reindex(columns=columns)
    t["_ok"] = t["_ok"].astype("boolean").fillna(False).astype(bool)
    for c in columns[1:-2]:
        t[c] = t[c].astype(float)
    keys = ["holdout_rmse", "bic"] if with_holdout else ["bic"]
    ok = t[t["_ok"]]
    order = ok.sort_values(keys, kind="stable").index
    rank = pd.Series(np.nan, index=t.index)
    rank[order] = np.arange(1, len(order) + 1)
    # the gaps to the best: BIC differences (Kass & Raftery: > 10 is very strong evidence)
    # and the RMSE in percent above the best (the errors of close models differ in the
    # third decimal)
    t.insert(columns.index("bic") + 1, "delta_bic", t["bic"] - ok["bic"].min())
    if with_holdout:
        t.insert(columns.index("holdout_rmse") + 2, "rmse_vs_best_pct",
                 100.0 * (t["holdout_rmse"] / ok["holdout_rmse"].min() - 1.0))
    t.insert(t.columns.get_loc("_ok"), "rank", rank.astype("Int64"))
    t["basis"] = basis
    return t.drop(columns="_ok")


def _best(table: pd.DataFrame) -> str | None:
    first = table[table["rank"] == 1]
    return str(first["model"].iloc[0]) if len(first) else None


def _reason(table: pd.DataFrame, best: str | None, criterion: str) -> str:
    """Which model is best by the criterion and the others' figures, in one sentence."""
    column = "holdout_rmse" if criterion == "holdout RMSE" else "bic"
    fmt = "{:.4f}" if column == "holdout_rmse" else "{:,.1f}"
    ranked = table[table["rank"].notna()].sort_values("rank")
    left_out = table[table["rank"].isna()]
    out = "; not compared: " + ", ".join(
        f"{m} ({s})" for m, s in zip(left_out["model"], left_out["status"], strict=True)
    ) if len(left_out) else ""
    if best is None:
        return f"no purchase model could be fitted and converged{out}"
    figures = ", ".join(f"{m} {fmt.format(v)}" for m, v in zip(ranked["model"], ranked[column],
                                                                 strict=True))
    if column == "holdout_rmse":
        return f"the lowest holdout RMSE of per-customer repeat purchases ({figures}){out}"
    return (f"the lowest BIC of the full-period fits ({figures}){out}; no CalibrationEnd, so no "
            "holdout check: set CalibrationEnd to choose by holdout error")


def compare_on_log(log: TransactionLog, as_of: int, unit: str,
                   calibration_end: int | None = None, summary: pd.DataFrame | None = None,
                   days: PurchaseDays | None = None,
                   models: Sequence[str] | None = None,
                   covariates_of: Callable[[pd.Series], pd.DataFrame] | None = None
                   ) -> ModelComparison:
    """`compare_models` on a transaction log: on the calibration period with its holdout when
    there is a calibration end, else on the full period.

    Parameters
    ----------
    log : TransactionLog
        The transactions (its rows are read only with a calibration end and no `days`).
    as_of : int
        Last day observed (days since 1970-01-01).
    unit : {"days", "weeks"}
        The models' time unit.
    calibration_end : int, optional
        Last calibration day (days since 1970-01-01); later purchases are the holdout.
    summary : pandas.DataFrame, optional
        The full-period repeat summary, when already made (used without a calibration end).
    days : PurchaseDays, optional
        The log's purchase days, when already made.
    models : sequence of str, optional
        Keys of PURCHASE_MODELS (default all).
    covariates_of : callable, optional
        Customer ids -> their covariate frame: the models are compared with these covariates
        (as CLV fits them with the Covariates setting).

    Returns
    -------
    ModelComparison
    """
    end = np.datetime64(as_of, "D")
    if calibration_end is None:
        if summary is None:
            summary = repeat_summary(log, as_of, unit,
                                     days=days.until(as_of) if days is not None else None)
        basis = f"full period to {end}; no CalibrationEnd, so no holdout: by BIC only"
        return compare_models(summary, models=models, basis=basis, covariates=None
                              if covariates_of is None else covariates_of(summary["customer_id"]))
    ch = calibration_holdout(log, calibration_end, as_of, unit, days=days)
    cal = ch.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency",
                             "T_cal": "T"})
    span = (as_of - calibration_end) / DAYS_PER_UNIT[unit]
    basis = (f"calibration to {np.datetime64(calibration_end, 'D')}, holdout to {end} "
             f"({span:.1f} {unit}): by holdout RMSE")
    return compare_models(cal, ch["frequency_holdout"].to_numpy(),
                          ch["duration_holdout"].to_numpy(), models=models, basis=basis,
                          covariates=None if covariates_of is None
                          else covariates_of(cal["customer_id"]))
