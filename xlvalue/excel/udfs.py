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
from xlvalue.analytics.customer_value import discounted_clv, ltv_from_tables, period_length
from xlvalue.analytics.models import (
    PURCHASE_MODELS,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    NBDModel,
    ParetoNBDModel,
    nbd_pmf,
)
from xlvalue.analytics.ranking import decile_table, pareto_table, whale_curve
from xlvalue.analytics.rfm import assign_segments, repeat_summary, rfm_summary, score_rfm
from xlvalue.analytics.scoring import score_customers
from xlvalue.analytics.transactions import TransactionLog, day_number
from xlvalue.excel.convert import (
    UDFError,
    as_rows,
    column_cells,
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
# the purchase models that take (frequency, recency, T); the NBD takes (frequency, periods)
MODELS = {name: cls for name, cls in PURCHASE_MODELS.items() if name != "nbd"}


def _default(key: str) -> str:
    """'(default X)' for an argument that is the workbook setting `key` (from the contract)."""
    return f"(default {setting(key).default})"


MODEL_CHOICES = f"{', '.join(MODELS)} {_default('Model')}"


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
    return frame_to_cells(model.fit_report().drop(columns="model"))


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
    return column_cells(nbd_pmf(numbers(x, "x"), number(a, "a"), number(b, "b"),
                                number(n, "n", 1.0)))


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Purchases per customer")
@xw.arg("periods", ndim=2, doc="Periods observed per customer")
@udf("XV_NBD_FIT", frequency="purchases", periods="periods observed")
def XV_NBD_FIT(frequency, periods):
    """Fit the NBD model: a, b with standard errors, log-likelihood, AIC, BIC."""
    return _fit_table(NBDModel().fit(numbers(frequency, "frequency"), numbers(periods, "periods")))


@xw.func(category="xlvalue")
@xw.arg("frequency", ndim=2, doc="Repeat purchases of repeat customers")
@xw.arg("monetary", ndim=2, doc="Mean spend of their repeat purchases")
@udf("XV_GG_FIT", frequency="repeat purchases", monetary="mean repeat spend")
def XV_GG_FIT(frequency, monetary):
    """Fit the gamma-gamma spend model: p, q, gamma with standard errors."""
    return _fit_table(GammaGammaModel().fit(numbers(frequency, "frequency"),
                                            numbers(monetary, "monetary")))


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


def _model(params, model) -> BetaGeoModel | ParetoNBDModel:
    name = (model or setting("Model").default).lower().replace("/", "").replace("-", "")
    if name not in MODELS:
        raise UDFError(f"model must be {', '.join(MODELS)}")
    m = MODELS[name]()
    m.params_ = pd.Series(params_from_range(params, m.param_names, "params"))
    return m


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_BGNBD_FIT, XV_MBGNBD_FIT or XV_PARETONBD_FIT")
@xw.arg("frequency", ndim=2)
@xw.arg("recency", ndim=2)
@xw.arg("age", ndim=2)
@udf("XV_PALIVE", params="fitted parameters", frequency="repeat purchases", recency="recency",
     age=AGE, model=MODEL_CHOICES)
def XV_PALIVE(params, frequency, recency, age, model=None):
    """Probability that each customer is still alive."""
    f, r, t = _rft(frequency, recency, age)
    return column_cells(_model(params, model).conditional_probability_alive(f, r, t))


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_BGNBD_FIT, XV_MBGNBD_FIT or XV_PARETONBD_FIT")
@xw.arg("frequency", ndim=2)
@xw.arg("recency", ndim=2)
@xw.arg("age", ndim=2)
@udf("XV_EXPECTED_PURCHASES", params="fitted parameters",
     horizon="how far ahead, in model time units (t)", frequency="repeat purchases",
     recency="recency", age=AGE, model=MODEL_CHOICES)
def XV_EXPECTED_PURCHASES(params, horizon, frequency, recency, age, model=None):
    """Expected purchases of each customer over the next `horizon` time units."""
    f, r, tt = _rft(frequency, recency, age)
    return column_cells(_model(params, model).conditional_expected_number_of_purchases_up_to_time(
        number(horizon, "horizon"), f, r, tt))


@xw.func(category="xlvalue")
@xw.arg("params", ndim=2, doc="Output of XV_BGNBD_FIT, XV_MBGNBD_FIT or XV_PARETONBD_FIT")
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
     marketing="marketing cost per period, one cell or one per customer (default 0)")
def XV_CLV(params, gg_params, frequency, recency, age, monetary, horizon=None, period=None,
           discount=None, margin=None, model=None, marketing=None):
    """Discounted customer lifetime value over the horizon, as xv_out_CLV.clv computes it.

    CRM gross margin per period = expected purchases x expected spend x margin rate -
    marketing cost, discounted per period.
    """
    f, r, t = _rft(frequency, recency, age)
    m = numbers(monetary, "monetary")
    if len(m) != len(f):
        raise UDFError("monetary must have one cell per customer")
    gg = GammaGammaModel()
    gg.params_ = pd.Series(params_from_range(gg_params, gg.param_names, "gg_params"))
    h = setting_arg(horizon, "Horizon", "horizon")
    length = number(period, "period", period_length(setting("PeriodUnit").default,
                                                    setting("TimeUnit").default))
    if not length > 0:
        raise UDFError(f"period must be a length above 0, got {length:g}")
    return column_cells(discounted_clv(_model(params, model), gg, f, r, t, m, h, length,
                                       setting_arg(discount, "DiscountRate", "discount"),
                                       _per_customer(margin, "margin", len(f), "MarginRate"),
                                       _per_customer(marketing, "marketing", len(f))))


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


SCORE_INPUTS_ANY = InputTable("score inputs", "", (ContractColumn("CustomerID", "id"),), (), "",
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
