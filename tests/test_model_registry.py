"""One registry of purchase models, one fit signature, visible prediction checks (issue 22).

Every purchase model, the NBD included, takes fit(frequency, recency, T) and the same
predictions, so the CLV analysis, the diagnostics and the XV_ functions need no special case;
prediction methods check their inputs through an explicit decorator.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nbinom

import xlvalue.excel.udfs as xu
from xlvalue.analytics.diagnostics import period_transactions
from xlvalue.analytics.models import (
    PURCHASE_MODELS,
    BetaGeoBetaBinomModel,
    GammaGammaModel,
    NBDModel,
    ShiftedBetaGeoModel,
    nbd_pmf,
    purchase_model,
)
from xlvalue.analytics.models.base import PREDICTIONS, MLEModel
from xlvalue.datasets import load_cdnow_summary
from xlvalue.errors import ModelError


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


def test_every_registered_model_fits_and_predicts_with_one_signature(cdnow):
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    for name, cls in PURCHASE_MODELS.items():
        m = cls().fit(f, r, T)
        assert m.model_name == name and m.converged_, (name, m.message_)
        pa = m.conditional_probability_alive(f, r, T)
        e = m.conditional_expected_number_of_purchases_up_to_time(39.0, f, r, T)
        assert np.all((pa > 0) & (pa <= 1)) and np.all(e >= 0), name
        assert float(m.expected_number_of_purchases_up_to_time(39.0)) > 0, name


def test_nbd_fit_is_the_negative_binomial_mle(cdnow):
    """Checked with scipy's negative binomial (an independent implementation) and the score
    equation of a, sum(b/a - (b + x)/(a + T)) = 0, derived by hand."""
    x, T = cdnow["frequency"].to_numpy(float), cdnow["T"].to_numpy(float)
    m = NBDModel().fit(x, cdnow["recency"], T)
    a, b = m.params_
    assert m.log_likelihood_ == pytest.approx(nbinom.logpmf(x, b, a / (a + T)).sum(), rel=1e-12)
    assert abs(np.mean(b / a - (b + x) / (a + T))) < 1e-6 * b / a
    # recency is checked, not used: no recency gives the same fit
    assert NBDModel().fit(x, None, T).params_.to_numpy() == pytest.approx(m.params_.to_numpy())
    with pytest.raises(ModelError, match=r"recency exceeds T in row\(s\) 1"):
        NBDModel().fit([1, 2], [5.0, 1.0], [3.0, 4.0])


def test_nbd_predictions_under_the_common_names():
    """Seed 000's test vector: a = 1.84, b = 2.67 -> P(0..3) = 0.3138, 0.2951, 0.1906, 0.1045,
    mean 1.451 per period."""
    m = NBDModel()
    m.params_ = pd.Series({"a": 1.84, "b": 2.67})
    np.testing.assert_allclose(m.probability_of_n_purchases_up_to_time(1.0, np.arange(4)),
                               [0.3138, 0.2951, 0.1906, 0.1045], atol=5e-5)
    assert float(m.expected_number_of_purchases_up_to_time(1.0)) == pytest.approx(1.451, abs=5e-4)
    # (b + x) / (a + T) per period; P(alive) is 1
    assert m.conditional_expected_number_of_purchases_up_to_time(2.0, 3, 1.5, 4.0) == \
        pytest.approx(2 * (2.67 + 3) / (1.84 + 4))
    assert np.all(m.conditional_probability_alive([0, 3], [0, 1.5], [4.0, 4.0]) == 1.0)
    with pytest.raises(ModelError, match="frequency must be a whole number"):
        m.conditional_probability_alive([-1], [0.0], [4.0])


def test_nbd_period_transactions_from_its_pmf():
    """The diagnostics call the NBD by the common name: expected customers with x repeat
    purchases = sum over ages of P(X(T) = x) (hand sum of nbd_pmf)."""
    m = NBDModel()
    m.params_ = pd.Series({"a": 2.0, "b": 1.0})
    x, T = np.array([0.0, 1.0, 3.0, 0.0]), np.array([1.0, 2.0, 2.0, 0.0])
    table = period_transactions(m, x, T, max_frequency=3)
    want = [nbd_pmf(k, 2.0, 1.0, 1.0) + 2 * nbd_pmf(k, 2.0, 1.0, 2.0) + (k == 0) for k in range(3)]
    np.testing.assert_allclose(table["model"].to_numpy()[:3], np.ravel(want), rtol=1e-12)
    assert table["model"].sum() == pytest.approx(4.0)


def test_registry_names_in_any_spelling():
    assert purchase_model("BG/NBD") is PURCHASE_MODELS["bgnbd"]
    assert purchase_model("Pareto-NBD") is PURCHASE_MODELS["paretonbd"]
    with pytest.raises(ModelError, match="'weibull' is not one of bgnbd, mbgnbd, paretonbd, nbd"):
        purchase_model("weibull")


def test_worksheet_functions_take_the_nbd_like_any_purchase_model():
    col = [[v] for v in (0.0, 2.0, 5.0)]
    fit = xu.XV_NBD_FIT(col + [[1.0]], [[4.0]] * 4)
    # periods alike: the MLE's mean b T / a is the sample mean 2 (score equation of a)
    est = {row[0]: row[1] for row in fit[1:3]}
    assert est["b"] * 4.0 / est["a"] == pytest.approx(2.0, rel=1e-6)
    out = xu.XV_PALIVE(fit, col, [[0.0], [1.0], [3.0]], [[4.0]] * 3, "nbd")
    assert np.ravel(out).tolist() == [1.0, 1.0, 1.0]
    params = [["a", 1.84], ["b", 2.67]]
    out = xu.XV_EXPECTED_PURCHASES(params, 2.0, col, [[0.0], [1.0], [3.0]], [[4.0]] * 3, "nbd")
    np.testing.assert_allclose(np.ravel(out), 2 * (2.67 + np.array([0, 2, 5])) / (1.84 + 4))


MODEL_CLASSES = [*PURCHASE_MODELS.values(), GammaGammaModel, BetaGeoBetaBinomModel,
                 ShiftedBetaGeoModel]


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_prediction_checks_are_explicit_decorators(cls):
    """Each prediction method a model defines carries @checks_inputs in its own source, and
    no class hook adds checks behind the reader's back."""
    assert "__init_subclass__" not in vars(MLEModel)
    for klass in cls.__mro__:
        for name in PREDICTIONS:
            method = vars(klass).get(name)
            if method is None:
                continue
            assert getattr(method, "checks_inputs", False), f"{klass.__name__}.{name}"
            source = inspect.getsource(klass)
            assert f"    @checks_inputs\n    def {name}(" in source, f"{klass.__name__}.{name}"
