"""XV_* worksheet functions: same numbers as the core, readable errors, Excel signatures."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.models import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from xlvalue.analytics.rfm import repeat_summary, rfm_summary, score_rfm
from xlvalue.analytics.transactions import TransactionLog, day_number
from xlvalue.datasets import load_cdnow_sample, load_cdnow_summary
from xlvalue.excel.convert import ERROR_PREFIX, REGISTRY, frame_to_cells

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "udfs"))
xu = importlib.import_module("xlvalue_udfs")


def col(values) -> list[list]:
    return [[float(v)] for v in values]


@pytest.fixture(scope="module")
def cdnow_range() -> list[list]:
    df = load_cdnow_sample()
    return [["CustomerID", "Date", "Amount"]] + [
        [c, d.to_pydatetime(), float(a)] for c, d, a in zip(df["CustomerID"], df["Date"],
                                                             df["Amount"], strict=True)]


def test_every_expected_function_is_registered_and_exported():
    expected = {"XV_RFM", "XV_RFM_SEGMENT", "XV_DECILES", "XV_PARETO", "XV_WHALE", "XV_NBD_P",
                "XV_NBD_FIT", "XV_GG_FIT", "XV_BGNBD_FIT", "XV_MBGNBD_FIT", "XV_PARETONBD_FIT", "XV_PALIVE",
                "XV_EXPECTED_PURCHASES", "XV_CLV", "XV_LTV", "XV_SCORE", "XV_ALLOCATE",
                "XV_ELASTICITY", "XV_REPEAT"}
    assert expected <= set(REGISTRY) and expected <= set(xu.__all__)
    for spec in REGISTRY.values():
        assert spec.doc, spec.name  # help text for the function wizard
        assert getattr(xu, spec.name) is spec.func


def test_xlwings_reads_the_real_signatures(monkeypatch):
    # xlwings.udfs needs pywin32; with its COM imports stubbed it attaches the metadata that
    # "Import Functions" turns into VBA declarations
    for mod in ("pythoncom", "pywintypes", "win32com", "win32com.client"):
        monkeypatch.setitem(sys.modules, mod, types.ModuleType(mod))
    sys.modules["win32com.client"].Dispatch = object
    sys.modules["pythoncom"].CoInitialize = lambda: None
    monkeypatch.delitem(sys.modules, "xlwings.udfs", raising=False)
    udfs = importlib.import_module("xlwings.udfs")
    meta = udfs.xlfunc(category="xlvalue")(xu.XV_CLV).__xlfunc__
    names = [a["name"] for a in meta["args"]]
    assert names[:6] == ["params", "gg_params", "frequency", "recency", "age", "monetary"]
    assert "optional" in meta["args"][6] and meta["category"] == "xlvalue"
    assert meta["ret"]["doc"].startswith("Discounted customer lifetime value")


def test_rfm_equals_core(cdnow_range):
    out = xu.XV_RFM(cdnow_range)
    log = TransactionLog.from_frame(load_cdnow_sample())
    core = score_rfm(rfm_summary(log, day_number("1998-06-30"))).table
    assert out[0][:4] == ["customer_id", "recency_days", "frequency", "monetary"]
    body = pd.DataFrame(out[1:], columns=out[0])
    assert body["customer_id"].tolist() == core["customer_id"].tolist()
    np.testing.assert_array_equal(body["R"].astype(int), core["R"])
    np.testing.assert_allclose(body["monetary"].astype(float), core["monetary"], rtol=0)
    assert body["segment"].tolist() == core["segment"].tolist()


def test_model_functions_equal_core():
    s = load_cdnow_summary()
    f, r, t = col(s["frequency"]), col(s["recency"]), col(s["T"])
    fit = xu.XV_BGNBD_FIT(f, r, t)
    core = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    report = frame_to_cells(core.fit_report().drop(columns="model"))
    assert [row[:3] for row in fit] == report  # then the covariance, for interval levels
    assert fit[0][3:] == ["cov_r", "cov_alpha", "cov_a", "cov_b"]
    np.testing.assert_allclose(np.array([row[3:] for row in fit[1:5]], dtype=float),
                               core.variance_matrix_.to_numpy())
    palive = xu.XV_PALIVE(fit, f, r, t)
    np.testing.assert_allclose(np.array(palive, dtype=float).ravel(),
                               core.conditional_probability_alive(s["frequency"], s["recency"], s["T"]))
    exp = xu.XV_EXPECTED_PURCHASES(fit, 39, f, r, t)
    np.testing.assert_allclose(np.array(exp, dtype=float).ravel(),
                               core.conditional_expected_number_of_purchases_up_to_time(
                                   39, s["frequency"], s["recency"], s["T"]))
    pfit = xu.XV_PARETONBD_FIT(f, r, t)
    assert pfit[1][0] == "r" and pfit[1][1] == pytest.approx(
        ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"]).params_["r"])
    mfit = xu.XV_MBGNBD_FIT(f, r, t)
    mbg = ModifiedBetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    assert [row[:3] for row in mfit] == frame_to_cells(mbg.fit_report().drop(columns="model"))
    np.testing.assert_allclose(np.array(xu.XV_PALIVE(mfit, f, r, t, "mbgnbd"), dtype=float).ravel(),
                               mbg.conditional_probability_alive(s["frequency"], s["recency"],
                                                                 s["T"]))


def test_clv_equals_core():
    log = TransactionLog.from_frame(load_cdnow_sample())
    rs = repeat_summary(log, day_number("1997-09-30"))
    rep = rs[rs["frequency"] > 0]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    bg = BetaGeoModel().fit(rs["frequency"], rs["recency"], rs["T"])
    gg_cells = xu.XV_GG_FIT(col(rep["frequency"]), col(rep["monetary_value"]))
    bg_cells = xu.XV_BGNBD_FIT(col(rs["frequency"]), col(rs["recency"]), col(rs["T"]))
    clv = xu.XV_CLV(bg_cells, gg_cells, col(rs["frequency"]), col(rs["recency"]), col(rs["T"]),
                    col(rs["monetary_value"]), 12, 30 / 7, 0.01, 0.3)
    from xlvalue.analytics.customer_value import discounted_clv

    core = discounted_clv(bg, gg, rs["frequency"], rs["recency"], rs["T"],
                          rs["monetary_value"].to_numpy(), 12, 30 / 7, 0.01, 0.3)
    np.testing.assert_allclose(np.array(clv, dtype=float).ravel(), core, rtol=1e-12)


def test_small_functions():
    assert xu.XV_NBD_P(col([0, 1]), 1.84, 2.67)[0][0] == pytest.approx(0.3138, abs=5e-5)
    assert xu.XV_LTV([[110, 100, 131]], [[10, 10, 10]], 0.1)[0][0] == pytest.approx(281.818181818)
    pareto = xu.XV_PARETO(col([400, 150, 800, 30, 5]))
    assert pareto[0][0] == "class" and pareto[1][2] == 2
    assert xu.XV_RFM_SEGMENT(col([5, 1]), col([5, 1]), col([3, 3])) == [["Champions"], ["Lost"]]
    e = xu.XV_ELASTICITY(10, 100, 11, 80)
    assert e[1][0] == pytest.approx(-2.0) and e[1][2] == "elastic"
    w = xu.XV_WHALE(col([50, 30, 20, -10, -40]))
    assert len(w) == 102 and max(r[1] for r in w[1:]) == pytest.approx(200.0)
    d = xu.XV_DECILES(col(range(1, 101)))
    assert d[1][1] == 10  # customers in group 1


@pytest.mark.parametrize("call, message", [
    (lambda: xu.XV_PARETO([[1], ["abc"]]), "values item 2: 'abc' is not a number"),
    (lambda: xu.XV_RFM([["CustomerID", "Date", "Amount"], ["1", "2024-01-01", "abc"]]),
     "transactions C2: Amount 'abc' is not a number"),
    (lambda: xu.XV_RFM([["CustomerID", "Amount"], ["1", 3]]), "missing column 'Date'"),
    (lambda: xu.XV_BGNBD_FIT([[1]], [[1]], [[2]]), "too few to fit"),
    (lambda: xu.XV_PALIVE([[1, 2]], [[1]], [[1]], [[2]]), "expected the parameters r, alpha, a, b"),
    (lambda: xu.XV_BGNBD_FIT([[1], [2]], [[1]], [[2], [3]]), "same number of cells"),
    (lambda: xu.XV_DECILES(None), "values is empty"),
    (lambda: xu.XV_SCORE([["Indicator", "Weight"], ["a", 1]], [["CustomerID", "b"], ["x", 1]]),
     "have no column"),
])
def test_errors_are_readable_strings(call, message):
    out = call()
    assert isinstance(out, list) and len(out) == 1 and len(out[0]) == 1
    text = out[0][0]
    assert text.startswith(ERROR_PREFIX) and message in text, text
    assert "Traceback" not in text


def test_every_function_help_is_a_whole_sentence():
    """The Function Wizard / docs help of each XV_ function is its docstring's first paragraph,
    never a first line cut mid-sentence (XV_BGBB_PREDICT once read '... transactions in the
    next')."""
    from xlvalue.excel.convert import REGISTRY

    cut = {name: spec.doc for name, spec in REGISTRY.items()
           if not spec.doc.rstrip().endswith((".", ")"))}
    assert not cut
    assert "DERT (discounted expected residual transactions)" in REGISTRY["XV_BGBB_PREDICT"].doc


def test_a_missing_argument_is_named_and_a_negative_count_refused():
    """Issue 23 item 4: a formula that leaves out a required argument names it (not an
    internal TypeError); XV_NBD_P(-1, ...) is an error text as the README promises (the
    pmf itself would return 0.0 for -1 and a value for 1.5)."""
    fit = xu.XV_BGNBD_FIT(col([1, 0, 2]), col([3, 0, 4]), col([5, 6, 7]))
    assert xu.XV_PALIVE(fit, col([1]), col([2])) == \
        [[ERROR_PREFIX + "XV_PALIVE needs age (argument 4)"]]
    assert xu.XV_NBD_P(1, 2, 3, 4, 5) == [[ERROR_PREFIX + "XV_NBD_P takes at most 4 arguments, got 5"]]
    for x, shown in ((-1, "-1"), (1.5, "1.5")):
        assert xu.XV_NBD_P(x, 1.84, 2.67) == \
            [[ERROR_PREFIX + f"x item 1: {shown} is not a purchase count (a whole number >= 0)"]]
    assert xu.XV_NBD_P(1, 0, 2.67) == [[ERROR_PREFIX + "a must be above 0, got 0"]]
    # by hand: Gamma(4.67)/(Gamma(2.67) 2!) (1.84/2.84)^2.67 (1/2.84)^2 = 0.19064
    assert xu.XV_NBD_P(col([0, 2]), 1.84, 2.67)[1][0] == pytest.approx(0.19064, abs=1e-5)


def test_gg_fit_takes_the_whole_repeat_table_and_uses_its_repeat_customers(cdnow_range):
    """Issue 25 item 3: XV_GG_FIT over XV_REPEAT's whole output (or its frequency and
    monetary_value columns) was refused ("1218 row(s) are not repeat customers"); it now
    fits the repeat customers with a positive mean spend, as the pipeline does, and its
    output says how many rows it left out and why."""
    repeat = xu.XV_REPEAT(cdnow_range)
    header = repeat[0]
    f = np.array([r[header.index("frequency")] for r in repeat[1:]], dtype=float)
    m = np.array([r[header.index("monetary_value")] for r in repeat[1:]], dtype=float)
    keep = (f > 0) & (m > 0)
    core = GammaGammaModel().fit(f[keep], m[keep]).params_
    for out in (xu.XV_GG_FIT(repeat),
                xu.XV_GG_FIT(col(f), col(m)),
                xu.XV_GG_FIT([["frequency"], *col(f)], [["monetary_value"], *col(m)])):
        rows = {r[0]: r[1] for r in out[1:]}
        for name in ("p", "q", "gamma"):
            assert rows[name] == pytest.approx(core[name], rel=1e-12)
        assert rows["customers"] == keep.sum() == 1139
        assert rows["left_out_no_repeat"] == (f == 0).sum() == 1218
        assert "left_out_spend_not_positive" not in rows  # no repeat customer nets <= 0
    m[np.flatnonzero(keep)[0]] = -5.0  # a repeat customer whose returns net negative
    rows = {r[0]: r[1] for r in xu.XV_GG_FIT(col(f), col(m))[1:]}
    assert rows["customers"] == 1138 and rows["left_out_spend_not_positive"] == 1
    assert xu.XV_GG_FIT(col(f)) == [[ERROR_PREFIX + "XV_GG_FIT needs monetary (argument 2), or "
                                     "the whole XV_REPEAT output as frequency (its header row "
                                     "names frequency and monetary_value)"]]
    assert xu.XV_GG_FIT(col([0, 0]), col([0, 0]))[0][0].startswith(
        ERROR_PREFIX + "none of the 2 rows is a repeat customer")
    # the fit still feeds XV_CLV (its parameter rows are read by name)
    fit = xu.XV_GG_FIT(repeat)
    bg = xu.XV_BGNBD_FIT(col(f), col([r[2] for r in repeat[1:]]), col([r[3] for r in repeat[1:]]))
    clv = xu.XV_CLV(bg, fit, col(f[:3]), col([r[2] for r in repeat[1:4]]),
                    col([r[3] for r in repeat[1:4]]), col(np.abs(m[:3]) + 1))
    assert all(isinstance(v[0], float) for v in clv)
