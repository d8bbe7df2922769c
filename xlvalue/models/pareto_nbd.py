"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie notes).

Purchases follow Poisson(lambda) while alive, lambda ~ Gamma(r, rate alpha); lifetimes are
exponential(mu), mu ~ Gamma(s, rate beta). The likelihood's Gauss hypergeometric term is
evaluated through the Pfaff transformation 2F1(a,b;a+1;z) = (1-z)^-b 2F1(1,b;a+1;z/(z-1)),
whose argument is <= 0 where the series is bounded: the large factor stays in log space and
nothing overflows.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1, logsumexp

from .base import MLEModel, Patterns, check_rfm_arrays, compress


def log_a0(r, alpha, s, beta, x, tx, t) -> np.ndarray:
    """log A0 of the Pareto/NBD likelihood (Fader & Hardie's note), stable for any inputs.

    A0 = (r+s+x) x the integral over (t_x, T) of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy.
    """
    if alpha >= beta:
        hi, lo, b_ = alpha, beta, s + 1
    else:
        hi, lo, b_ = beta, alpha, r + x
    rsx = r + s + x
    d = hi - lo

    def log_term(u: np.ndarray) -> np.ndarray:
        # log[ 2F1(rsx, b_; rsx+1; d/(hi+u)) / (hi+u)^rsx ] via Pfaff, with 1 - z = (lo+u)/(hi+u)
        w = -d / (lo + u)
        return (-b_ * (np.log(lo + u) - np.log(hi + u)) + np.log(hyp2f1(1.0, b_, rsx + 1.0, w))
                - rsx * np.log(hi + u))

    with np.errstate(all="ignore"):
        l1 = log_term(tx)
        l2 = log_term(t)
        out = l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))
    bad = ~np.isfinite(out) & (np.broadcast_to(t, np.shape(out)) > np.broadcast_to(tx, np.shape(out)))
    if np.any(bad):  # scipy's 2F1 gives up far out on the negative axis: integrate instead
        x_, tx_, t_ = (np.broadcast_to(v, np.shape(out))[bad] for v in (x, tx, t))
        out = np.array(out, dtype=float, copy=True)
        out[bad] = log_a0_quadrature(r, alpha, s, beta, x_, tx_, t_)
    return out


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)


def log_a0_quadrature(r, alpha, s, beta, x, tx, t) -> np.ndarray:
    """log A0, A0 = (r+s+x) x integral over (t_x, T) of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy.

    Gauss-Legendre in u = log(alpha + y), where the integrand is smooth, summed in log space.
    """
    u0 = np.log(alpha + np.asarray(tx, dtype=float))[:, None]
    u1 = np.log(alpha + np.asarray(t, dtype=float))[:, None]
    half = (u1 - u0) / 2
    u = u0 + half * (_NODES[None, :] + 1)
    y = np.exp(u) - alpha
    log_f = -(r + np.asarray(x, dtype=float)[:, None] - 1) * u - (s + 1) * np.log(beta + y)
    return (np.log(r + s + np.asarray(x, dtype=float)) + np.log(half[:, 0])
            + logsumexp(log_f + np.log(_WEIGHTS)[None, :], axis=1))


def loglik(r, alpha, s, beta, x, tx, t) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood."""
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
    a3 = np.log(s) - np.log(r + s + x) + log_a0(r, alpha, s, beta, x, tx, t)
    return a1 + np.logaddexp(a2, a3)


class ParetoNBDModel(MLEModel):
    """Pareto/NBD: fit on (frequency, recency, T); predict purchases and P(alive)."""

    param_names = ("r", "alpha", "s", "beta")
    model_name = "paretonbd"

    def fit(self, frequency, recency, T, weights=None) -> ParetoNBDModel:
        x, tx, t = check_rfm_arrays(frequency, recency, T)
        return self._fit_patterns(compress(x, tx, t, weights=weights))

    def _start(self, patterns: Patterns) -> np.ndarray:
        x, _, t = patterns.columns
        rate = max(float(np.average(x / t, weights=patterns.weights)), 1e-3)
        scale = float(np.average(t, weights=patterns.weights))
        return np.array([1.0, 1.0 / rate, 1.0, scale])

    def _loglik(self, params: np.ndarray, patterns: Patterns) -> np.ndarray:
        r, alpha, s, beta = params
        return loglik(r, alpha, s, beta, *patterns.columns)

    def forecast(self, t, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next t units (the method every purchase model shares)."""
        return self.conditional_expected_purchases(t, frequency, recency, T)

    def conditional_probability_alive(self, frequency, recency, T) -> np.ndarray:
        r, alpha, s, beta = self._check_fitted()
        x, tx, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        log_ratio = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + t)
                     + s * np.log(beta + t) + log_a0(r, alpha, s, beta, x, tx, t))
        return 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700)))

    def expected_purchases(self, t) -> np.ndarray:
        r, alpha, s, beta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        if abs(s - 1) < 1e-9:
            return r * beta / alpha * np.log1p(t / beta)
        return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        r, alpha, s, beta = self._check_fitted()
        x, tx, T_ = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        t = np.asarray(t, dtype=float)
        if abs(s - 1) < 1e-9:
            horizon = (beta + T_) * np.log1p(t / (beta + T_))
        else:
            horizon = (beta + T_) / (s - 1) * (1 - ((beta + T_) / (beta + T_ + t)) ** (s - 1))
        return (r + x) / (alpha + T_) * horizon * self.conditional_probability_alive(x, tx, T_)

    @staticmethod
    def simulate(params: dict[str, float], n: int, T: float | np.ndarray, seed: int = 0):
        rng = np.random.default_rng(seed)
        T_ = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
        mu = rng.gamma(params["s"], 1.0 / params["beta"], n)
        life = rng.exponential(1.0 / mu)
        seen = np.minimum(life, T_)
        x = rng.poisson(lam * seen)
        tx = np.where(x > 0, seen * rng.beta(np.maximum(x, 1), 1.0), 0.0)
        return x.astype(float), tx, T_
