"""The NBD purchase model of seed 000: Poisson purchases, Gamma(shape b, rate a) rates.

P(X = x) over n periods = Gamma(b+x) / (Gamma(b) x!) (a/(a+n))^b (n/(a+n))^x; mean b n / a.
Conditional expectation per future period after x purchases in n periods: (b + x) / (a + n).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from xlvalue.analytics.models.base import MLEModel, Patterns, compress
from xlvalue.errors import ModelError


def nbd_pmf(x, a: float, b: float, n: float = 1.0) -> np.ndarray:
    """P(X = x) of the NBD over n periods."""
    x = np.asarray(x, dtype=float)
    return np.exp(gammaln(b + x) - gammaln(b) - gammaln(x + 1)
                  + b * np.log(a / (a + n)) + x * np.log(n / (a + n)))


class NBDModel(MLEModel):
    """NBD: fit a (rate) and b (shape) on purchases x over n periods per customer."""

    param_names = ("a", "b")
    model_name = "nbd"

    def fit(self, frequency, periods, weights=None) -> NBDModel:
        x = np.asarray(frequency, dtype=float)
        n = np.broadcast_to(np.asarray(periods, dtype=float), x.shape)
        bad = np.flatnonzero(~np.isfinite(x) | (x < 0) | (np.floor(x) != x) | ~(n > 0))
        if bad.size:
            raise ModelError(f"NBD needs whole purchase counts >= 0 over > 0 periods; "
                             f"{bad.size} row(s) are not, e.g. row {bad[0] + 1}")
        return self._fit_patterns(compress(x, n, weights=weights))

    def _start(self, patterns: Patterns) -> np.ndarray:
        x, n = patterns.columns
        rate = max(float(np.average(x / n, weights=patterns.weights)), 1e-3)
        return np.array([1.0 / rate, 1.0])

    def _loglik(self, params: np.ndarray, patterns: Patterns) -> np.ndarray:
        a, b = params
        x, n = patterns.columns
        return np.log(nbd_pmf(x, a, b, n))

    def pmf(self, x, n: float = 1.0) -> np.ndarray:
        a, b = self._check_fitted()
        return nbd_pmf(x, a, b, n)

    def mean(self, n: float = 1.0) -> float:
        a, b = self._check_fitted()
        return b * n / a

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T
                                                             ) -> np.ndarray:
        """(b + x) / (a + n) per future period, times t periods. The signature is the
        purchase models' one; the NBD ignores recency and T is the n periods observed."""
        a, b = self._check_fitted()
        x = np.asarray(frequency, dtype=float)
        n = np.asarray(T, dtype=float)
        return np.asarray(t, dtype=float) * (b + x) / (a + n)

    def conditional_probability_alive(self, frequency, recency, T) -> np.ndarray:
        """The NBD has no dropout: every customer is alive."""
        return np.ones(np.shape(frequency))

    @staticmethod
    def simulate(params: dict[str, float], n: int, periods: float, seed: int = 0):
        rng = np.random.default_rng(seed)
        lam = rng.gamma(params["b"], 1.0 / params["a"], n)
        return rng.poisson(lam * periods).astype(float), np.full(n, float(periods))
