"""Static covariates (issue 26.3): CLVTools' convention alpha_i = alpha0 exp(-g_p . z_i) and a
dropout scale (Pareto/NBD beta, BG/NBD and MBG/NBD b) times exp(-g_d . z_i).

Checked against the models' published per-customer likelihoods evaluated group by group
(an independent formula), recovery of known effects from simulated customers, and the
closed-form predictions of a model without covariates at each customer's own scales.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlvalue.analytics.models import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    NBDModel,
    ParetoNBDModel,
    bg_nbd,
    pareto_nbd,
)
from xlvalue.analytics.models.base import compress
from xlvalue.errors import ModelError

N = 20_000
G_P = np.array([0.5, -0.3])  # purchase: z1 (continuous), vip (0/1)
G_D = np.array([0.4])  # dropout: z1


@pytest.fixture(scope="module")
def covariates() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"z1": rng.normal(size=N), "vip": (rng.random(N) < 0.3).astype(float)})


def _simulate(model_cls, base: dict, covariates: pd.DataFrame, seed: int):
    """Customers of known effects: each drawn with its own alpha_i and dropout scale."""
    scale = "beta" if model_cls is ParetoNBDModel else "b"
    params = dict(base)
    params["alpha"] = base["alpha"] * np.exp(-(covariates.to_numpy() @ G_P))
    params[scale] = base[scale] * np.exp(-(covariates[["z1"]].to_numpy() @ G_D))
    return model_cls.simulate(params, len(covariates), T=np.linspace(20, 80, len(covariates)),
                              seed=seed)


@pytest.mark.parametrize("model_cls, base", [
    (ParetoNBDModel, {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}),
    (BetaGeoModel, {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}),
    (ModifiedBetaGeoModel, {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}),
])
def test_known_effects_are_recovered(covariates, model_cls, base):
    """20,000 simulated customers: every estimate within 4 standard errors of the truth; the
    coefficients are labelled purchase:<column> / dropout:<column> with standard errors."""
    x, tx, T = _simulate(model_cls, base, covariates, seed=2)
    m = model_cls().fit(x, tx, T, purchase_covariates=covariates,
                        dropout_covariates=covariates[["z1"]])
    truth = pd.Series({**base, "purchase:z1": G_P[0], "purchase:vip": G_P[1],
                       "dropout:z1": G_D[0]})
    assert list(m.params_.index) == list(truth.index)
    assert m.converged_, m.message_
    z = (m.params_ - truth) / m.standard_errors_
    assert (z.abs() < 4).all(), z.to_dict()
    report = m.fit_report().set_index("parameter")
    assert report.loc["purchase:vip", "std_error"] == pytest.approx(
        m.standard_errors_["purchase:vip"])


@pytest.mark.parametrize("model_cls", [ParetoNBDModel, BetaGeoModel, ModifiedBetaGeoModel])
def test_likelihood_is_the_published_one_at_each_customers_scales(covariates, model_cls):
    """With a 0/1 covariate the customers fall into groups of one alpha_i and dropout scale;
    the summed log-likelihood is the published per-customer formula (Pareto/NBD with A0 by
    quadrature alone; FHL 2005 eq. 6) summed over the groups, and its gradient central
    differences of that sum."""
    rng = np.random.default_rng(7)
    base = ({"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0} if model_cls is ParetoNBDModel
            else {"r": 0.3, "alpha": 5.0, "a": 0.7, "b": 2.0})
    x, tx, T = model_cls.simulate(base, 3000, T=np.linspace(20, 80, 3000), seed=4)
    z = pd.DataFrame({"vip": (rng.random(3000) < 0.4).astype(float)})
    m = model_cls()
    m.covariates_ = type(m.covariates_)(("vip",), ("vip",))
    m.param_names = type(m).param_names + m.covariates_.names
    p = compress(x, tx, T, z["vip"], z["vip"])
    theta = np.array([*base.values(), 0.35, -0.2])
    scale = 3  # the dropout scale is the 4th parameter: beta (Pareto/NBD), b (BG/NBD)

    def reference(th):
        total = 0.0
        for v in (0.0, 1.0):
            rows = z["vip"].to_numpy() == v
            group = list(th[:4])
            group[1] = th[1] * np.exp(-th[4] * v)
            group[scale] = th[scale] * np.exp(-th[5] * v)
            if model_cls is ParetoNBDModel:
                total += pareto_nbd.reference_loglik(*group, x[rows], tx[rows], T[rows]).sum()
            else:
                total += bg_nbd.reference_loglik(*group, x[rows], tx[rows], T[rows],
                                                 shift=m.shift).sum()
        return total

    ll, grad = m._total_loglik_grad(theta, p)
    assert ll == pytest.approx(reference(theta), rel=1e-9)
    h = 1e-6 * np.maximum(np.abs(theta), 1.0)
    numeric = np.array([(reference(theta + np.eye(6)[i] * h[i])
                         - reference(theta - np.eye(6)[i] * h[i])) / (2 * h[i]) for i in range(6)])
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5 * np.abs(numeric).max())


@pytest.mark.parametrize("model_cls, params", [
    (ParetoNBDModel, {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}),
    (BetaGeoModel, {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}),
    (ModifiedBetaGeoModel, {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}),
])
def test_predictions_use_each_customers_scales(model_cls, params):
    """A model with covariates predicts, for each customer, what the model without covariates
    predicts at that customer's alpha0 exp(-g_p z) and dropout scale x exp(-g_d z); a
    positive purchase coefficient means more purchases, a positive dropout one a lower
    P(alive)."""
    scale = "beta" if model_cls is ParetoNBDModel else "b"
    m = model_cls()
    m.covariates_ = type(m.covariates_)(("z",), ("z",))
    m.param_names = type(m).param_names + m.covariates_.names
    m.params_ = pd.Series({**params, "purchase:z": 0.6, "dropout:z": 0.5})
    z = pd.DataFrame({"z": [-1.0, 0.0, 2.0]})
    x, tx, T = np.array([2.0, 2.0, 2.0]), np.array([10.0, 10.0, 10.0]), np.array([30.0] * 3)
    cov = {"purchase_covariates": z, "dropout_covariates": z}
    pa = m.conditional_probability_alive(x, tx, T, **cov)
    ey = m.conditional_expected_number_of_purchases_up_to_time(12.0, x, tx, T, **cov)
    new = m.expected_number_of_purchases_up_to_time(12.0, **cov)
    for i, zi in enumerate(z["z"]):
        plain = model_cls()
        plain.params_ = pd.Series({**params, "alpha": params["alpha"] * np.exp(-0.6 * zi),
                                   scale: params[scale] * np.exp(-0.5 * zi)})
        assert pa[i] == pytest.approx(float(plain.conditional_probability_alive(2, 10, 30)),
                                      rel=1e-12)
        assert ey[i] == pytest.approx(float(
            plain.conditional_expected_number_of_purchases_up_to_time(12, 2, 10, 30)), rel=1e-12)
        assert new[i] == pytest.approx(float(plain.expected_number_of_purchases_up_to_time(12)),
                                       rel=1e-12)
    # only the purchase side moves: more purchases with z (dropout side held at z = 0)
    zero = pd.DataFrame({"z": [0.0, 0.0, 0.0]})
    buys = m.expected_number_of_purchases_up_to_time(12.0, purchase_covariates=z,
                                                     dropout_covariates=zero)
    assert buys[0] < buys[1] < buys[2]
    alive = m.conditional_probability_alive(x, tx, T, purchase_covariates=zero,
                                            dropout_covariates=z)
    assert alive[0] > alive[1] > alive[2]


def test_covariate_mistakes_are_named(covariates):
    x, tx, T = _simulate(ParetoNBDModel, {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0},
                         covariates.iloc[:2000], seed=1)
    z = covariates.iloc[:2000].reset_index(drop=True)
    with pytest.raises(ModelError, match="column 'region' is not numeric; turn text into "
                                         "dummy columns"):
        ParetoNBDModel().fit(x, tx, T, purchase_covariates=z.assign(region="north"))
    with pytest.raises(ModelError, match=r"column 'z1' is not a finite number in row\(s\) 3"):
        ParetoNBDModel().fit(x, tx, T, purchase_covariates=z.assign(
            z1=np.where(np.arange(2000) == 2, np.nan, z["z1"])))
    with pytest.raises(ModelError, match="has 1999 row\\(s\\); expected 2000"):
        ParetoNBDModel().fit(x, tx, T, dropout_covariates=z.iloc[1:])
    with pytest.raises(ModelError, match="nbd takes no covariates"):
        NBDModel().fit(x, tx, T, purchase_covariates=z)
    m = ParetoNBDModel().fit(x, tx, T, purchase_covariates=z[["vip"]])
    with pytest.raises(ModelError, match=r"fitted with purchase covariates \(vip\); pass "
                                         "purchase_covariates"):
        m.conditional_probability_alive(x, tx, T)
    with pytest.raises(ModelError, match="fitted without dropout covariates"):
        m.conditional_probability_alive(x, tx, T, purchase_covariates=z, dropout_covariates=z)
    with pytest.raises(ModelError, match="no intervals from parameter draws"):
        m.log_variance_matrix()
    # refitted without covariates, the model is the plain one again
    m.fit(x, tx, T)
    assert list(m.params_.index) == ["r", "alpha", "s", "beta"] and not m.covariates_


def test_text_covariates_become_dummies_against_the_most_frequent_value():
    """Hand-made table: Region has north x3, south x2, east x1 -> dummies east and south
    (north, the most frequent, is the reference); Age, numbers written as text, stays one
    column; customers come in the order asked for, and the values are counted over them."""
    from xlvalue.analytics.models.covariates import covariate_columns, design_frame

    table = pd.DataFrame({"CustomerID": list("abcdef"),
                          "Region": ["north", "south", "north", "east", "south", "north"],
                          "Age": ["30", "41", "25.5", "60", "33", "47"]})
    assert covariate_columns(" Region ;Age,, ") == ["Region", "Age"]
    frame = design_frame(table, ["Region", "Age"], list("fadbce"), "CustomerID",
                         "xv_Customers")
    assert list(frame.columns) == ["Region=east", "Region=south", "Age"]
    np.testing.assert_array_equal(frame.to_numpy(), [[0, 0, 47], [0, 0, 30], [1, 0, 60],
                                                     [0, 1, 41], [0, 0, 25.5], [0, 1, 33]])
    with pytest.raises(ModelError, match="Covariates names 'Regio', which xv_Customers does "
                                         "not have"):
        design_frame(table, ["Regio"], ["a"], "CustomerID", "xv_Customers")
    with pytest.raises(ModelError, match="no row .* for 1 customer\\(s\\) of the model, e.g. z"):
        design_frame(table, ["Age"], ["a", "z"], "CustomerID", "xv_Customers")
    with pytest.raises(ModelError, match="'Region' \\(a covariate\\) is blank for 1 "
                                         "customer\\(s\\), e.g. b"):
        design_frame(table.assign(Region=["north", "", "north", "east", "south", "north"]),
                     ["Region"], ["a", "b"], "CustomerID", "xv_Customers")


def test_workbook_covariates_setting_fits_and_reports_coefficients(tmp_path):
    """Covariates = "Region, Age" in xv_Settings: the CLV analysis fits the purchase model
    with both columns for both processes; xv_out_Models carries purchase:/dropout:
    coefficients with standard errors, and P(alive) and the fit are those of the Python API
    on the same design frame."""
    import datetime as dt

    from tests.conftest import write_tables
    from xlvalue.analytics.models.covariates import design_frame
    from xlvalue.analytics.rfm import repeat_summary
    from xlvalue.analytics.transactions import TransactionLog, day_number
    from xlvalue.cli.headless_run import run_workbook
    from xlvalue.datasets import load_cdnow_sample

    log = load_cdnow_sample()
    ids = sorted(log["CustomerID"].unique())
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"CustomerID": ids,
                              "Region": rng.choice(["north", "south", "east"], len(ids)),
                              "Age": rng.integers(18, 80, len(ids)).astype(float)})
    book = write_tables(tmp_path / "b.xlsx", {"xv_Transactions": log, "xv_Customers": customers},
                        {"AsOfDate": dt.datetime(1997, 9, 30), "Model": "paretonbd",
                         "Covariates": "Region, Age", "IntervalLevel": 0})
    result = run_workbook(book, tmp_path / "out.xlsx", only="clv").results
    models = result.frames["xv_out_Models"].set_index("parameter")
    coef = [p for p in models.index if ":" in p]
    counts = customers["Region"].value_counts()
    others = sorted(set(counts.index) - {counts.idxmax()})  # against the most frequent
    columns = [f"Region={v}" for v in others] + ["Age"]
    assert coef == [f"purchase:{c}" for c in columns] + [f"dropout:{c}" for c in columns]
    assert (models.loc[coef, "std_error"] > 0).all()
    summary = repeat_summary(TransactionLog.from_frame(log), day_number("1997-09-30"), "weeks")
    z = design_frame(customers.astype({"Age": str}), ["Region", "Age"], summary["customer_id"],
                     "CustomerID", "xv_Customers")
    direct = ParetoNBDModel().fit(summary["frequency"], summary["recency"], summary["T"],
                                  purchase_covariates=z, dropout_covariates=z)
    np.testing.assert_allclose(models.loc[list(direct.params_.index), "estimate"],
                               direct.params_, rtol=1e-6)
    clv = result.frames["xv_out_CLV"]
    np.testing.assert_allclose(clv["p_alive"], direct.conditional_probability_alive(
        summary["frequency"], summary["recency"], summary["T"], purchase_covariates=z,
        dropout_covariates=z), rtol=1e-9)
    assert any("no period-transactions" in w for w in result.warnings)


def test_workbook_covariates_name_a_missing_column(tmp_path):
    import datetime as dt

    from tests.conftest import write_tables
    from xlvalue.cli.headless_run import run_workbook
    from xlvalue.datasets import load_cdnow_sample
    from xlvalue.errors import InputError

    log = load_cdnow_sample()
    customers = pd.DataFrame({"CustomerID": sorted(log["CustomerID"].unique()), "Age": 40.0})
    book = write_tables(tmp_path / "b.xlsx", {"xv_Transactions": log, "xv_Customers": customers},
                        {"AsOfDate": dt.datetime(1997, 9, 30), "Covariates": "Region"})
    with pytest.raises(InputError, match="CLV: Covariates names 'Region', which xv_Customers "
                                         "does not have"):
        run_workbook(book, tmp_path / "out.xlsx", only="clv")


@pytest.mark.parametrize("case, model_cls", [("paretonbd", ParetoNBDModel),
                                             ("bgnbd", BetaGeoModel)])
def test_mle_equals_pymc_marketings_map_with_flat_priors(case, model_cls):
    """pymc-marketing's fit(method="map") with HalfFlat/Flat priors on 2,000 simulated
    customers (stored with its estimates by benchmarks/pymc_covariates.py): with flat priors
    the mode is the MLE, so both land on one optimum. Tolerance 5e-4 relative (pymc's L-BFGS
    stops within ~1e-4); our log-likelihood is at least the one at pymc's estimates."""
    import json
    from pathlib import Path

    fixture = json.loads((Path(__file__).parent / "data" / "pymc_marketing_covariates.json")
                         .read_text())["cases"][case]
    data = pd.DataFrame(fixture["data"])
    dropout = fixture["dropout_columns"]
    m = model_cls().fit(data["frequency"], data["recency"], data["T"],
                        purchase_covariates=data[["z1", "vip"]],
                        dropout_covariates=data[dropout] if dropout else None)
    theirs = pd.Series(fixture["pymc_map"])[m.params_.index]
    np.testing.assert_allclose(m.params_, theirs, rtol=5e-4)
    p = compress(data["frequency"], data["recency"], data["T"],
                 *(data[c] for c in ["z1", "vip", *dropout]))
    assert m.log_likelihood_ >= m._total_ll(theirs.to_numpy(), p) - 1e-9 * abs(m.log_likelihood_)
