"""XV_* worksheet functions: thin wrappers that translate ranges and call the core.

xlwings registers every function here (through udfs/xlvalue_udfs.py). Off Windows the xlwings
decorators are no-ops, so the functions are plain Python and the tests call them directly;
`REGISTRY` (xlvalue.excel.convert) lists each function's arguments and help for both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xlwings as xw

from xlvalue.analytics.costing import allocate, elasticity
from xlvalue.analytics.customer_value import (
    discount_factors,
    discounted_clv,
    ltv_from_tables,
    period_length,
)
from xlvalue.analytics.intervals import IntervalOptions, RateWeights, customer_intervals
from xlvalue.analytics.models import (
    PURCHASE_MODELS,
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    NBDModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    nbd_pmf,
    purchase_model,
)
from xlvalue.analytics.models.bg_bb import check_opportunities
from xlvalue.analytics.ranking import decile_table, pareto_table, whale_curve
from xlvalue.analytics.rfm import assign_segments, repeat_summary, rfm_summary, score_rfm
from xlvalue.analytics.scoring import score_customers
from xlvalue.analytics.transactions import TransactionLog, day_number
from xlvalue.errors import ModelError
from xlvalue.excel.convert import (
    UDFError,
    as_rows,
    column_cells,
    covariance_from_range,
    excel_date,
    frame_to_cells,
    number,
    numbers,
    params_from_range,
    setting_arg,
    table_from_range,
    udf,
)
from xlvalue.workbook.contract import SCORE_MODEL, SEGMENTS, TRANSACTIONS, InputTable, setting
from xlvalue.workbook.contract import Column as ContractColumn

RFM_COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "total_spend", "R", "F",
               "M", "rfm_cell", "rfm_score", "segment"]
# customer age (lifetimes' T): a VBA wrapper cannot take both t and T (names ignore case)
AGE = "time since the first purchase (T)"


def _default(key: str) -> str:
    """'(default X)' for an argument that is the workbook setting `key` (from the contract)."""
    return f"(default {setting(key).default})"


MODEL_CHOICES = f"{', '.join(PURCHASE_MODELS)} {_default('Model')}"


def _log(transactions: Any) -> tuple[TransactionLog, int]:
    frame = table_from_range(transactions, TRANSACTIONS, "transactions")
    if frame.empty:
        raise UDFError("transactions has no rows")
    log = TransactionLog.from_frame(frame)
    return log, int(log.day.max())


def _as_of(value: Any, log_last: int, argument: str = "as_of") -> int:
    d = excel_date(value, argument)
    return log_last if d is None else day_number(d)


def _fit_table(model) -> list[list[Any]]:
    """The fit report with the parameters' covariance in cov_<name> columns (what the
    interval `level` of XV_PALIVE, XV_EXPECTED_PURCHASES and XV_CLV reads back)."""
    report = model.fit_report().drop(columns="model")
    cov = model.variance_matrix_.reindex(index=report["parameter"])
    for name in model.param_names:
        report[f"cov_{name}"] = cov[name].to_numpy()
    return frame_to_cells(report)


@xw.func(category="xlvalue")
@xw.arg("transactions", ndim=2, doc="Range with a header: CustomerID, Date, Amount (Cost...)")
@xw.arg("as_of", doc="End of the observation window (default: the last date)")
@xw.arg("bins", doc=f"Number of score bins {_default('RFMBins')}")
@udf("XV_RFM", transactions="transactions with a header row", as_of="as-of date",
     bins=f"quantile bins {_default('RFMBins')}")
def XV_RFM(transactions, as_of=None, bins=None):
    """RFM summary, R/F/M scores, cell code, weighted score and segment per customer."""
    log, last = _log(transactions)
    n = setting_arg(bins, "RFMBins", "bins")
    table = score_rfm(rfm_summary(log, _as_of(as_of, last)), n).table
    return frame_to_cells(table[RFM_COLUMNS])


@xw.func(category="xlvalue")
@xw.arg("r", ndim=2, doc="R scores")
@xw.arg("f", ndim=2, doc="F scores")
@xw.arg("m", ndim=2, doc="M scores")
@xw.arg("segments", ndim=2, doc="Optional segment rules (Segment, RMin, RMax, FMin, FMax...)")
@udf("XV_RFM_SEGMENT", r="R scores", f="F scores", m="M scores", segments="segment rules")
def XV_RFM_SEGMENT(r, f, m, segments=None):
    """Segment name for each (R, F, M) score triple, from the default or given rules."""
    rv, fv, mv = numbers(r, "r"), numbers(f, "f"), numbers(m, "m")
    if not len(rv) == len(fv) == len(mv):
        raise UDFError("r, f and m must have the same number of cells")
    from xlvalue.analytics.rfm import default_segments

    rules = table_from_range(segments, SEGMENTS, "segments") if segments else default_segments()
    return [[s] for s in assign_segments(rv, fv, mv, rules)]


@xw.func(category="xlvalue")
@xw.arg("transactions", ndim=2, doc="Range with a header: CustomerID, Date, Amount")
@xw.arg("observation_end", doc="End of the calibration window (default: the last date)")
@xw.arg("unit", doc=f"{' or '.join(setting('TimeUnit').choices)} {_default('TimeUnit')}")
@udf("XV_REPEAT", transactions="transactions", observation_end="end date",
     unit=f"{' or '.join(setting('TimeUnit').choices)} {_default('TimeUnit')}")
def XV_REPEAT(transactions, observation_end=None, unit=None):
    """Repeat-purchase summary per customer: frequency, recency, T, monetary_value."""
    log, last = _log(transactions)
    u = setting_arg(unit, "TimeUnit", "unit")
    return frame_to_cells(repeat_summary(log, _as_of(observation_end, last, "observation_end"), u))


@xw.func(category="xlvalue")
@xw.arg("values", ndim=2, doc="Value per customer (spend or profit)")
@xw.arg("transactions", ndim=2, doc="Optional number of transactions per customer")
@xw.arg("years", doc="Length of the window in years (default 1)")
@udf("XV_DECILES", values="value per customer", transactions="transactions per customer",
     years="years observed")
def XV_DECILES(values, transactions=None, years=None):
    """Decile table: customers, value range, yearly spend, transactions, share of value."""
    v = numbers(values, "values")
    tx = numbers(transactions, "transactions") if transactions else np.ones(len(v))
    if len(tx) != len(v):
        raise UDFError("transactions must have one cell per value")
    return frame_to_cells(decile_table(v, v, tx, number(years, "years", 1.0)))


@xw.func(category="xlvalue")
@xw.arg("values", ndim=2, doc="Value per customer")
@xw.arg("a", doc=f"Cumulative share closing class A {_default('ParetoA')}")
@xw.arg("b", doc=f"Cumulative share closing class B {_default('ParetoB')}")
@udf("XV_PARETO", values="value per customer", a=f"class A share {_default('ParetoA')}",
     b=f"class B share {_default('ParetoB')}")
def XV_PARETO(values, a=None, b=None):
    """Pareto / ABC classes: customers and value per class."""
    share_a, share_b = setting_arg(a, "ParetoA", "a"), setting_arg(b, "ParetoB", "b")
    if share_a > share_b:
        raise UDFError("a must not exceed b")
    return frame_to_cells(pareto_table(numbers(values, "values"), share_a, share_b))


@xw.func(category="xlvalue")
@xw.arg("profit", ndim=2, doc="Profit per customer")
@udf("XV_WHALE", profit="profit per customer")
def XV_WHALE(profit):
    """Whale curve: cumulative % of profit against % of customers (101 points)."""
    return frame_to_cells(whale_curve(numbers(profit, "profit")).curve)


@xw.func(category="xlvalue")
@xw.arg("x", ndim=2, doc="Purchase counts")
@udf("XV_NBD_P", x="purchase counts", a="rate a", b="shape b", n="periods (default 1)")
def XV_NBD_P(x, a, b, n=None):
    """NBD probability of x purchases in n periods (seed 000's model)."""
    counts = numbers(x, "x")
    bad = np.flatnonzero((counts < 0) | (np.floor(counts) != counts))
    if bad.size:
        raise UDFError(f"x item {bad[0] + 1}: {counts[bad[0]]:g} is not a purchase count "
                       "(a whole number >= 0)")
    shape = {"a": number(a, "a"), "b": number(b, "b"), "n": number(n, "n", 1.0)}
    wrong = [k for k, v in shape.items() if not v > 0]
    if wrong:
        raise UDFError(f"{wrong[0]} must be above 0, got {shape[wrong[0]]:g}")
    return column_cells(nbd_pmf(counts, shape["a"], shape["b"], shape["n"]))


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Purchases per customer")
@xw.arg("periods", ndim=2, doc="Periods observed per customer")
@udf("XV_NBD_FIT", frequency="purchases", periods="periods observed")
def XV_NBD_FIT(frequency, periods):
    """Fit the NBD model: a, b with standard errors, log-likelihood, AIC, BIC."""
    return _fit_table(NBDModel().fit(numbers(frequency, "frequency"), None,
                                     numbers(periods, "periods")))


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Repeat purchases per customer, or the whole XV_REPEAT output")
@xw.arg("monetary", ndim=2, doc="Mean spend of their repeat purchases (omit with XV_REPEAT's output)")
@udf("XV_GG_FIT", frequency="repeat purchases, or the whole XV_REPEAT output (with its header)",
     monetary="mean repeat spend (omitted with the XV_REPEAT output)")
def XV_GG_FIT(frequency, monetary=None):
    """Fit the gamma-gamma spend model: p, q, gamma with standard errors, on the repeat
    customers (rows with no repeat purchase or a mean spend <= 0 are left out and counted)."""
    if monetary is None or monetary == "":
        f, m = _repeat_columns(frequency)
    else:
        f, m = numbers(frequency, "frequency"), numbers(monetary, "monetary")
        if len(f) != len(m):
            raise UDFError("frequency and monetary must have the same number of cells")
    bad = np.flatnonzero((f < 0) | (np.floor(f) != f))
    if bad.size:
        raise UDFError(f"frequency item {bad[0] + 1}: {f[bad[0]]:g} is not a whole number >= 0")
    one_time, spend = f == 0, (f > 0) & (m <= 0)
    keep = ~one_time & ~spend
    if not keep.any():
        raise UDFError(f"none of the {len(f):,} rows is a repeat customer with a positive mean "
                       "spend (frequency > 0, monetary > 0)")
    table = _fit_table(GammaGammaModel().fit(f[keep], m[keep]))
    blank = [None] * (len(table[0]) - 2)
    for label, count in (("left_out_no_repeat", one_time.sum()),
                         ("left_out_spend_not_positive", spend.sum())):
        if count:
            table.append([label, int(count), *blank])
    return table


def _repeat_columns(table) -> tuple[np.ndarray, np.ndarray]:
    """frequency and monetary_value of XV_REPEAT's output (a range with its header row)."""
    rows = as_rows(table)
    header = [str(c).strip().lower() if c is not None else "" for c in rows[0]] if rows else []
    if "frequency" not in header or "monetary_value" not in header:
        raise UDFError("XV_GG_FIT needs monetary (argument 2), or the whole XV_REPEAT output "
                       "as frequency (its header row names frequency and monetary_value)")
    fi, mi = header.index("frequency"), header.index("monetary_value")
    data = [r for r in rows[1:] if any(c not in (None, "") for c in r)]
    return (numbers([[r[fi]] for r in data], "frequency"),
            numbers([[r[mi]] for r in data], "monetary_value"))


def _rft(frequency, recency, age):
    f, r, t = numbers(frequency, "frequency"), numbers(recency, "recency"), numbers(age, "age")
    if not len(f) == len(r) == len(t):
        raise UDFError("frequency, recency and age must have the same number of cells")
    return f, r, t


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Repeat purchases")
@xw.arg("recency", ndim=2, doc="Time of the last purchase since the first")
@xw.arg("age", ndim=2, doc="Time since the first purchase (T)")
@udf("XV_BGNBD_FIT", frequency="repeat purchases", recency="recency", age=AGE)
def XV_BGNBD_FIT(frequency, recency, age):
    """Fit BG/NBD: r, alpha, a, b with standard errors, log-likelihood, AIC, BIC."""
    return _fit_table(BetaGeoModel().fit(*_rft(frequency, recency, age)))


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Repeat purchases")
@xw.arg("recency", ndim=2, doc="Time of the last purchase since the first")
@xw.arg("age", ndim=2, doc="Time since the first purchase (T)")
@udf("XV_MBGNBD_FIT", frequency="repeat purchases", recency="recency", age=AGE)
def XV_MBGNBD_FIT(frequency, recency, age):
    """Fit MBG/NBD (BG/NBD with dropout possible at time 0): r, alpha, a, b with standard errors."""
    return _fit_table(ModifiedBetaGeoModel().fit(*_rft(frequency, recency, age)))


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Repeat purchases")
@xw.arg("recency", ndim=2, doc="Time of the last purchase since the first")
@xw.arg("age", ndim=2, doc="Time since the first purchase (T)")
@udf("XV_PARETONBD_FIT", frequency="repeat purchases", recency="recency", age=AGE)
def XV_PARETONBD_FIT(frequency, recency, age):
    """Fit Pareto/NBD: r, alpha, s, beta with standard errors, log-likelihood, AIC, BIC."""
    return _fit_table(ParetoNBDModel().fit(*_rft(frequency, recency, age)))


def _model(params, model):
    """The purchase model named by `model` (the registry's names; default the workbook's)
    with the parameters of a fit output range."""
    try:
        cls = purchase_model(model or setting("Model").default)
    except ModelError:
        raise UDFError(f"model must be {', '.join(PURCHASE_MODELS)}") from None
    return _with_params(cls(), params, "params")


def _with_params(m, params, argument: str):
    """A model with the parameters (and, when the range has them, the covariance) of a fit
    output range."""
    m.params_ = pd.Series(params_from_range(params, m.param_names, argument))
    cov = covariance_from_range(params, m.param_names)
    if cov is not None:
        m.variance_matrix_ = pd.DataFrame(cov, index=list(m.param_names),
                                          columns=list(m.param_names))
    return m


LEVEL_DOC = ("interval level, e.g. 0.9: adds low and high columns from the parameters' "
             "uncertainty (params must be the whole XV_..._FIT output, with its cov_ columns)")


def _level(level) -> IntervalOptions | None:
    """The interval options of a `level` argument (None when empty)."""
    if level is None or level == "":
        return None
    value = number(level, "level")
    if not 0 < value < 1:
        raise UDFError(f"level must be between 0 and 1, e.g. 0.9; got {value:g}")
    return IntervalOptions(level=value, draws=int(setting("IntervalDraws").default))


def _needs_cov(m, argument: str) -> None:
    if not hasattr(m, "variance_matrix_"):
        raise UDFError(f"level needs the covariance: pass the whole XV_..._FIT output as "
                       f"{argument} (its cov_ columns)")


def _bounds_cells(estimate: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[list[Any]]:
    """Rows of estimate | low | high (a NaN/inf cell left empty)."""
    block = np.column_stack([estimate, low, high]).astype(object)
    block[~np.isfinite(np.column_stack([estimate, low, high]).astype(float))] = None
    return block.tolist()


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_BGNBD_FIT, XV_MBGNBD_FIT, XV_PARETONBD_FIT or XV_NBD_FIT")
@xw.arg("frequency", ndim=2)
@xw.arg("recency", ndim=2)
@xw.arg("age", ndim=2)
@udf("XV_PALIVE", params="fitted parameters", frequency="repeat purchases", recency="recency",
     age=AGE, model=MODEL_CHOICES, level=LEVEL_DOC)
def XV_PALIVE(params, frequency, recency, age, model=None, level=None):
    """Probability that each customer is still alive (with `level`: and its interval)."""
    f, r, t = _rft(frequency, recency, age)
    m = _model(params, model)
    estimate = m.conditional_probability_alive(f, r, t)
    options = _level(level)
    if options is None:
        return column_cells(estimate)
    _needs_cov(m, "params")
    iv = customer_intervals(m, f, r, t, np.array([1.0]), options)
    return _bounds_cells(estimate, iv.p_alive_low, iv.p_alive_high)


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_BGNBD_FIT, XV_MBGNBD_FIT, XV_PARETONBD_FIT or XV_NBD_FIT")
@xw.arg("frequency", ndim=2)
@xw.arg("recency", ndim=2)
@xw.arg("age", ndim=2)
@udf("XV_EXPECTED_PURCHASES", params="fitted parameters",
     horizon="how far ahead, in model time units (t)", frequency="repeat purchases",
     recency="recency", age=AGE, model=MODEL_CHOICES, level=LEVEL_DOC)
def XV_EXPECTED_PURCHASES(params, horizon, frequency, recency, age, model=None, level=None):
    """Expected purchases of each customer over the next `horizon` time units (with `level`:
    and their interval)."""
    f, r, tt = _rft(frequency, recency, age)
    m = _model(params, model)
    ahead = number(horizon, "horizon")
    estimate = m.conditional_expected_number_of_purchases_up_to_time(ahead, f, r, tt)
    options = _level(level)
    if options is None:
        return column_cells(estimate)
    _needs_cov(m, "params")
    iv = customer_intervals(m, f, r, tt, np.array([ahead]), options)
    return _bounds_cells(estimate, iv.expected_purchases_low, iv.expected_purchases_high)


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_BGNBD_FIT, XV_MBGNBD_FIT, XV_PARETONBD_FIT or XV_NBD_FIT")
@xw.arg("gg_params", ndim=2, doc="Output of XV_GG_FIT")
@xw.arg("frequency", ndim=2)
@xw.arg("recency", ndim=2)
@xw.arg("age", ndim=2)
@xw.arg("monetary", ndim=2)
@udf("XV_CLV", params="purchase model parameters", gg_params="gamma-gamma parameters",
     frequency="repeat purchases", recency="recency", age=AGE, monetary="mean repeat spend",
     horizon=f"periods {_default('Horizon')}", period="period length in model time units "
     f"(default: a {setting('PeriodUnit').default} in {setting('TimeUnit').default})",
     discount=f"discount rate per period {_default('DiscountRate')}",
     margin=f"gross-margin rate of spend, one cell or one per customer "
     f"{_default('MarginRate')}", model=MODEL_CHOICES,
     marketing="marketing cost per period, one cell or one per customer (default 0)",
     level=LEVEL_DOC + "; without gg_params' cov_ columns the spend is taken as fixed")
def XV_CLV(params, gg_params, frequency, recency, age, monetary, horizon=None, period=None,
           discount=None, margin=None, model=None, marketing=None, level=None):
    """Discounted customer lifetime value over the horizon, as xv_out_CLV.clv computes it.

    CRM gross margin per period = expected purchases x expected spend x margin rate -
    marketing cost, discounted per period; with `level`, its interval too.
    """
    f, r, t = _rft(frequency, recency, age)
    m = numbers(monetary, "monetary")
    if len(m) != len(f):
        raise UDFError("monetary must have one cell per customer")
    gg = _with_params(GammaGammaModel(), gg_params, "gg_params")
    h = setting_arg(horizon, "Horizon", "horizon")
    length = number(period, "period", period_length(setting("PeriodUnit").default,
                                                    setting("TimeUnit").default))
    if not length > 0:
        raise UDFError(f"period must be a length above 0, got {length:g}")
    rate = setting_arg(discount, "DiscountRate", "discount")
    margins = _per_customer(margin, "margin", len(f), "MarginRate")
    costs = _per_customer(marketing, "marketing", len(f))
    purchase_model = _model(params, model)
    estimate = discounted_clv(purchase_model, gg, f, r, t, m, h, length, rate, margins, costs)
    options = _level(level)
    if options is None:
        return column_cells(estimate)
    _needs_cov(purchase_model, "params")
    disc = discount_factors(h, rate)
    weights = RateWeights(np.broadcast_to(np.asarray(margins, dtype=float), f.shape).copy(),
                          np.zeros(len(f), np.int64), disc[None, :])
    with_spend = hasattr(gg, "variance_matrix_")
    iv = customer_intervals(purchase_model, f, r, t, np.arange(1, h + 1) * length, options,
                            spend_model=gg if with_spend else None, monetary=m,
                            spend=None if with_spend else gg.conditional_expected_average_profit(f, m),
                            weights=weights,
                            fixed_cost=np.broadcast_to(np.asarray(costs, dtype=float), f.shape)
                            * disc.sum())
    return _bounds_cells(estimate, iv.clv_low, iv.clv_high)


def _opportunities(frequency, recency, n_periods):
    f, r = numbers(frequency, "frequency"), numbers(recency, "recency")
    n = numbers(n_periods, "n_periods")
    if not len(f) == len(r) == len(n):
        raise UDFError("frequency, recency and n_periods must have the same number of cells")
    return f, r, n


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Opportunities with a transaction after the first (x)")
@xw.arg("recency", ndim=2, doc="The opportunity of the last of them (t_x)")
@xw.arg("n_periods", ndim=2, doc="Opportunities observed after the first transaction (n)")
@xw.arg("weights", ndim=2, doc="Customers with each history (default 1 per row)")
@udf("XV_BGBB_FIT", frequency="opportunities with a transaction", recency="last such opportunity",
     n_periods="opportunities observed", weights="customers per row (default 1)")
def XV_BGBB_FIT(frequency, recency, n_periods, weights=None):
    """Fit BG/BB (discrete opportunities): alpha, beta, gamma, delta with standard errors."""
    f, r, n = _opportunities(frequency, recency, n_periods)
    w = numbers(weights, "weights") if weights is not None and weights != "" else None
    if w is not None and len(w) != len(f):
        raise UDFError("weights must have one cell per row")
    return _fit_table(BetaGeoBetaBinomModel().fit(f, r, n, weights=w))


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_BGBB_FIT")
@xw.arg("frequency", ndim=2)
@xw.arg("recency", ndim=2)
@xw.arg("n_periods", ndim=2)
@udf("XV_BGBB_PREDICT", params="fitted BG/BB parameters", frequency="opportunities with a "
     "transaction", recency="last such opportunity", n_periods="opportunities observed",
     m_periods=f"opportunities ahead {_default('OpportunitiesAhead')}",
     discount_rate=f"discount rate per opportunity {_default('OpportunityDiscountRate')}")
def XV_BGBB_PREDICT(params, frequency, recency, n_periods, m_periods=None, discount_rate=None):
    """Per history: P(alive) at the next opportunity, expected transactions in the next
    m_periods, DERT (discounted expected residual transactions)."""
    f, r, n = _opportunities(frequency, recency, n_periods)
    m = _with_params(BetaGeoBetaBinomModel(), params, "params")
    ahead = setting_arg(m_periods, "OpportunitiesAhead", "m_periods")
    rate = setting_arg(discount_rate, "OpportunityDiscountRate", "discount_rate")
    check_opportunities(f, r, n)
    return frame_to_cells(pd.DataFrame({
        "p_alive_next": m.conditional_probability_alive(f, r, n, 1),
        f"expected_next_{ahead}": m.conditional_expected_number_of_purchases_up_to_time(ahead, f, r, n),
        "dert": m.discounted_expected_residual_transactions(f, r, n, rate)}))


@xw.func(category="xlvalue")
@xw.arg("survivors", ndim=2, doc="Customers active at period 0 (cohort size), 1, 2, ...")
@udf("XV_SBG_FIT", survivors="survivors at periods 0, 1, 2, ...")
def XV_SBG_FIT(survivors):
    """Fit the shifted-beta-geometric retention model: gamma, delta with standard errors."""
    return _fit_table(ShiftedBetaGeoModel().fit_survivors(numbers(survivors, "survivors")))


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_SBG_FIT")
@xw.arg("periods", ndim=2, doc="Periods since acquisition (0, 1, 2, ...)")
@udf("XV_SBG_PREDICT", params="fitted sBG parameters", periods="periods since acquisition",
     discount_rate=f"discount rate per period {_default('OpportunityDiscountRate')}")
def XV_SBG_PREDICT(params, periods, discount_rate=None):
    """Per period t: survival S(t), retention rate r(t) and the DERL of a customer who has
    made t renewals."""
    m = _with_params(ShiftedBetaGeoModel(), params, "params")
    t = numbers(periods, "periods")
    if np.any((t < 0) | (np.floor(t) != t)):
        raise UDFError("periods must be whole numbers >= 0")
    rate = setting_arg(discount_rate, "OpportunityDiscountRate", "discount_rate")
    return frame_to_cells(pd.DataFrame({
        "period": t, "survival": m.survival_function(t),
        "retention": np.where(t >= 1, m.retention_rate(np.maximum(t, 1)), np.nan),
        "derl": m.discounted_expected_residual_lifetime(t, rate)}))


def _per_customer(value, argument: str, n: int, key: str | None = None):
    """One value for everyone (a setting's default when empty), or one cell per customer."""
    cells = [c for row in as_rows(value) for c in row] if isinstance(value, list | tuple) else []
    if len(cells) > 1:
        out = numbers(value, argument)
        if len(out) != n:
            raise UDFError(f"{argument} must be one cell or one cell per customer ({n})")
        return out
    if key is not None:
        return setting_arg(value, key, argument)
    return number(value, argument, 0.0)


@xw.func(category="xlvalue")
@xw.arg("contribution", ndim=2, doc="Contribution Q_t per customer (rows) and period (columns)")
@xw.arg("cost", ndim=2, doc="Cost C_t per customer and period, same shape")
@udf("XV_LTV", contribution="Q_t table", cost="C_t table", rate="discount rate per period")
def XV_LTV(contribution, cost, rate):
    """Seed 003's V = sum over t of (Q_t - C_t) / (1 + i)^t, one value per row."""
    from xlvalue.excel.convert import as_rows

    q, c = as_rows(contribution), as_rows(cost)
    try:
        qa, ca = np.array(q, dtype=float), np.array(c, dtype=float)
    except (TypeError, ValueError):
        raise UDFError("contribution and cost must hold numbers only") from None
    return column_cells(ltv_from_tables(qa, ca, number(rate, "rate")))


SCORE_INPUTS_ANY = InputTable("score inputs", "", (ContractColumn("CustomerID", "id"),), "",
                              unique_key="CustomerID", extra_kind="number")


@xw.func(category="xlvalue")
@xw.arg("model", ndim=2, doc="Score model: Indicator, Group, Weight, Direction, ...")
@xw.arg("inputs", ndim=2, doc="CustomerID and one column per indicator")
@udf("XV_SCORE", model="score model table", inputs="indicator values", revenue="revenue "
     "indicator (default: the first)",
     missing=f"{', '.join(setting('ScoreMissing').choices)} {_default('ScoreMissing')}")
def XV_SCORE(model, inputs, revenue=None, missing=None):
    """Weighted score, group points, rank, revenue rank, rank change and tier per customer."""
    m = table_from_range(model, SCORE_MODEL, "model")
    values = table_from_range(inputs, SCORE_INPUTS_ANY, "inputs").set_index("CustomerID")
    how = setting_arg(missing, "ScoreMissing", "missing")
    return frame_to_cells(score_customers(m, values, revenue or None, how).table)


@xw.func(category="xlvalue")
@xw.arg("pools", ndim=2, doc="Pool, Stage, Amount (Unallocated)")
@xw.arg("drivers", ndim=2, doc="Stage, From, To, Quantity")
@udf("XV_ALLOCATE", pools="cost pools", drivers="drivers")
def XV_ALLOCATE(pools, drivers):
    """Activity-based cost allocation: cost per final object."""
    from xlvalue.workbook.contract import COST_POOLS, DRIVERS

    a = allocate(table_from_range(pools, COST_POOLS, "pools"),
                 table_from_range(drivers, DRIVERS, "drivers"))
    return frame_to_cells(a.final.rename_axis("object").reset_index())


@xw.func(category="xlvalue")
@udf("XV_ELASTICITY", p1="price before", q1="quantity before", p2="price after",
     q2="quantity after")
def XV_ELASTICITY(p1, q1, p2, q2):
    """Point and arc price elasticity, elastic or inelastic."""
    cols = [numbers(v, n) for v, n in ((p1, "p1"), (q1, "q1"), (p2, "p2"), (q2, "q2"))]
    if len({len(c) for c in cols}) != 1:
        raise UDFError("p1, q1, p2 and q2 must have the same number of cells")
    return frame_to_cells(elasticity(*cols))


__all__ = [name for name in dict(globals()) if name.startswith("XV_")]
