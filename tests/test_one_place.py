"""Rules said once: the worksheet functions take their defaults, ranges and choices from the
workbook contract, and the analytics' registries agree with the contract's choices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xlvalue.excel.udfs as xu
from xlvalue.analytics.customer_value import DAYS_PER_PERIOD, discounted_clv, period_length
from xlvalue.analytics.model_comparison import AUTO
from xlvalue.analytics.models import PURCHASE_MODELS, BetaGeoModel, GammaGammaModel
from xlvalue.analytics.transactions import DAYS_PER_UNIT
from xlvalue.excel.convert import ERROR_PREFIX
from xlvalue.workbook.contract import indicator_source, setting


def test_contract_choices_match_the_analytics_registries():
    assert set(setting("TimeUnit").choices) == set(DAYS_PER_UNIT)
    assert set(setting("Model").choices) == {*PURCHASE_MODELS, AUTO}
    assert set(setting("PeriodUnit").choices) <= set(DAYS_PER_PERIOD)
    assert "MODELS" not in vars(xu)  # the worksheet functions read the one registry


def test_indicator_sources():
    assert indicator_source("rfm.frequency") == ("rfm", "frequency")
    assert indicator_source("clv.clv") == ("clv", "clv")
    assert indicator_source("Orders") is None and indicator_source("abc.x") is None
    assert indicator_source("rfm") is None


def _error(out) -> str:
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0][0], str), out
    assert out[0][0].startswith(ERROR_PREFIX)
    return out[0][0]


@pytest.mark.parametrize("call, message", [
    (lambda: xu.XV_RFM([["CustomerID", "Date", "Amount"], ["1", "2024-01-01", 3]], None, 11),
     f"bins 11 is outside {setting('RFMBins').minimum:g}..{setting('RFMBins').maximum:g}"),
    (lambda: xu.XV_REPEAT([["CustomerID", "Date", "Amount"], ["1", "2024-01-01", 3]], None,
                          "months"), "unit 'months' is not one of days, weeks"),
    (lambda: xu.XV_PARETO([[1], [2]], 1.5), "a 1.5 is outside 0..1"),
    (lambda: xu.XV_PARETO([[1], [2]], 0.9, 0.5), "a must not exceed b"),
    (lambda: xu.XV_SCORE([["Indicator", "Weight"], ["b", 100]], [["CustomerID", "b"], ["x", 1]],
                         None, "drop"), "missing 'drop' is not one of error, zero, mean"),
    (lambda: xu.XV_PALIVE([[1, 1, 1, 1]], [[1]], [[1]], [[2]], "weibull"),
     "model must be bgnbd, mbgnbd, paretonbd, nbd"),
])
def test_udf_arguments_are_checked_against_the_contract(call, message):
    assert message in _error(call())


def test_udf_defaults_are_the_contract_defaults():
    """XV_CLV without optional arguments equals the core with the workbook's defaults."""
    rng = np.random.default_rng(3)
    f = rng.integers(0, 5, 60).astype(float)
    t = rng.uniform(20, 40, 60)
    r = np.where(f > 0, t * rng.uniform(0.2, 1, 60), 0.0)
    m = np.where(f > 0, rng.uniform(10, 50, 60), 0.0)
    bg, gg = BetaGeoModel(), GammaGammaModel()
    bg.params_ = pd.Series(dict(r=0.24, alpha=4.4, a=0.79, b=2.4))
    gg.params_ = pd.Series(dict(p=6.25, q=3.74, v=15.44))
    col = [[v] for v in f], [[v] for v in r], [[v] for v in t], [[v] for v in m]
    cells = xu.XV_CLV([[0.24, 4.4, 0.79, 2.4]], [[6.25, 3.74, 15.44]], *col)
    s = {k: setting(k).default for k in ("Horizon", "PeriodUnit", "TimeUnit", "DiscountRate",
                                         "MarginRate")}
    core = discounted_clv(bg, gg, f, r, t, m, s["Horizon"],
                          period_length(s["PeriodUnit"], s["TimeUnit"]), s["DiscountRate"],
                          s["MarginRate"])
    np.testing.assert_allclose(np.array(cells, dtype=float).ravel(), core, rtol=1e-12)
    assert s["MarginRate"] == 0.3 and s["Horizon"] == 12
    pareto = xu.XV_PARETO([[400], [150], [800], [30], [5]])
    explicit = xu.XV_PARETO([[400], [150], [800], [30], [5]], setting("ParetoA").default,
                            setting("ParetoB").default)
    assert pareto == explicit
