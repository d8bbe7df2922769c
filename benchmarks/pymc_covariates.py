"""Covariate fits against pymc-marketing's MAP with flat priors (issue 26.3).

With flat priors the posterior mode is the maximum of the likelihood, so pymc-marketing's
``fit(method="map")`` must land on xlvalue's MLE. pymc-marketing is not a dependency of xlvalue
(it needs Python >= 3.12 and compiles PyTensor code); run this with a Python that has it and
sees this checkout, e.g.::

    python3.12 -m venv /tmp/pymc && /tmp/pymc/bin/pip install pymc-marketing threadpoolctl
    PYTHONPATH=. /tmp/pymc/bin/python -m benchmarks.pymc_covariates \
        --write tests/data/pymc_marketing_covariates.json

It simulates customers with known covariate effects (Pareto/NBD: purchase and dropout
covariates; BG/NBD: purchase covariates, the form both packages share), fits both, prints
the estimates side by side with xlvalue's log-likelihood at each, and with ``--write``
stores the data and pymc-marketing's estimates as the fixture `tests/test_covariates.py`
compares xlvalue's fit with.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

from xlvalue.analytics.models import BetaGeoModel, ParetoNBDModel

N = 2_000
G_P = np.array([0.5, -0.3])
G_D = np.array([0.4])


def simulated(model_cls, base: dict, seed: int) -> pd.DataFrame:
    """customer_id, frequency, recency, T, z1, vip: customers of known covariate effects."""
    rng = np.random.default_rng(seed)
    z = pd.DataFrame({"z1": rng.normal(size=N), "vip": (rng.random(N) < 0.3).astype(float)})
    params = dict(base)
    params["alpha"] = base["alpha"] * np.exp(-(z.to_numpy() @ G_P))
    if model_cls is ParetoNBDModel:
        params["beta"] = base["beta"] * np.exp(-(z[["z1"]].to_numpy() @ G_D))
    x, tx, T = model_cls.simulate(params, N, T=np.linspace(20, 80, N), seed=seed + 1)
    return pd.DataFrame({"customer_id": np.arange(N), "frequency": x, "recency": tx, "T": T,
                         **z})


def ours(model_cls, data: pd.DataFrame, dropout: list[str]) -> dict[str, float]:
    m = model_cls().fit(data["frequency"], data["recency"], data["T"],
                        purchase_covariates=data[["z1", "vip"]],
                        dropout_covariates=data[dropout] if dropout else None)
    return {k: float(v) for k, v in m.params_.items()}


def pymc_map(model_cls, data: pd.DataFrame, dropout: list[str]) -> dict[str, float]:
    """pymc-marketing's MAP with flat priors, renamed to xlvalue's parameter names."""
    from pymc_extras.prior import Prior
    from pymc_marketing import clv

    flat = {name: Prior("HalfFlat") for name in model_cls.param_names}
    config = {**flat, "purchase_coefficient": Prior("Flat"),
              "purchase_covariate_cols": ["z1", "vip"]}
    if dropout:
        config.update({"dropout_coefficient": Prior("Flat"), "dropout_covariate_cols": dropout})
    cls = clv.ParetoNBDModel if model_cls is ParetoNBDModel else clv.BetaGeoModel
    model = cls(model_config=config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data[["customer_id", "frequency", "recency", "T", "z1", "vip"]],
                  method="map", progressbar=False)
    post = model.idata.posterior
    out = {}
    for name in model_cls.param_names:
        # with covariates the per-customer scale is a deterministic; the fitted one is _scale
        key = f"{name}_scale" if f"{name}_scale" in post else name
        out[name] = float(post[key].values.ravel()[0])
    coef = "purchase_coefficient" if "purchase_coefficient" in post else \
        "purchase_coefficient_alpha"
    for col, v in zip(["z1", "vip"], post[coef].values.reshape(-1), strict=True):
        out[f"purchase:{col}"] = float(v)
    if dropout:
        for col, v in zip(dropout, post["dropout_coefficient"].values.reshape(-1),
                          strict=True):
            out[f"dropout:{col}"] = float(v)
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pymc_covariates")
    p.add_argument("--write", help="store data and pymc-marketing's estimates as JSON here")
    args = p.parse_args()
    import pymc_marketing

    cases = [("paretonbd", ParetoNBDModel, {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0},
              ["z1"], 11),
             ("bgnbd", BetaGeoModel, {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, [], 13)]
    fixture = {"pymc_marketing": pymc_marketing.__version__, "customers": N, "cases": {}}
    for name, model_cls, base, dropout, seed in cases:
        data = simulated(model_cls, base, seed)
        t0 = time.perf_counter()
        mle = ours(model_cls, data, dropout)
        t1 = time.perf_counter()
        mapped = pymc_map(model_cls, data, dropout)
        t2 = time.perf_counter()
        print(f"{name}: xlvalue {t1 - t0:.2f} s, pymc-marketing MAP {t2 - t1:.2f} s")
        for k, v in mle.items():
            print(f"  {k:<14} xlvalue {v:12.6f}   pymc-marketing {mapped[k]:12.6f}   "
                  f"relative difference {abs(v - mapped[k]) / max(abs(v), 1e-12):.1e}")
        fixture["cases"][name] = {
            "dropout_columns": dropout,
            "data": {c: data[c].tolist() for c in ("frequency", "recency", "T", "z1", "vip")},
            "pymc_map": mapped}
    if args.write:
        with open(args.write, "w") as f:
            json.dump(fixture, f)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
