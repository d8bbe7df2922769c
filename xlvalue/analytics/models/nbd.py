"""The NBD purchase model of seed 000: Poisson purchases, Gamma(shape b, rate a) rates.

P(X = x) over n periods = Gamma(b+x) / (Gamma(b) x!) (a/(a+n))^b (n/(a+n))^x; mean b n / a.
Conditional expectation per future period after x purchases in n periods: (b + x) / (a + n).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from xlvalue.analytics.models.base import MLEModel, Patterns, compress
from xlvalue.errors import ModelError

__all__ = ["NBDModel", "nbd_pmf"]


def nbd_pmf(x, a: float, b: float, n: float = 1.0) -> np.ndarray:
    """P(X = x) of the NBD over n periods.

    Gamma(b+x) / (Gamma(b) x!) (a/(a+n))^b (n/(a+n))^x.

    Parameters
    ----------
    x : array_like of int
        Purchase counts.
    a : float
        Rate parameter of the Gamma mixing distribution (per period).
    b : float
        Shape parameter.
    n : float, default 1
        Number of periods.

    Returns
    -------
    numpy.ndarray
        Probabilities.

    References
    ----------
    .. [1] Ehrenberg, A. S. C. (1959). "The pattern of consumer purchases". Journal of the
       Royal Statistical Society C 8(1), 26-41.
    .. [2] Morrison, D. G. and Schmittlein, D. C. (1988). "Generalizing the NBD model for customer
       purchases". Journal of Business & Economic Statistics 6(2), 145-159.
    """
    x = np.asarray(x, dtype=float)
    return np.exp(gammaln(b + x) - gammaln(b) - gammaln(x + 1)
                  + b * np.log(a / (a + n)) + x * np.log(n / (a + n)))


class NBDModel(MLEModel):
    """NBD: fit a (rate) and b (shape) on purchases x over n periods per customer.

    Purchases are Poisson, rates Gamma(shape b, rate a) across customers; no dropout.

    References
    ----------
    .. [1] Ehrenberg, A. S. C. (1959). "The pattern of consumer purchases". Journal of the
       Royal Statistical Society C 8(1), 26-41.
    .. [2] Morrison, D. G. and Schmittlein, D. C. (1988). "Generalizing the NBD model for customer
       purchases". Journal of Business & Economic Statistics 6(2), 145-159.
    """

    param_names = ("a", "b")
    model_name = "nbd"

    def _unidentified(self, patterns: Patterns) -> str | None:
        if not np.any(patterns.columns[0] > 0):
            return ("no customer made a purchase in the periods counted, so the purchase rate "
                    "cannot be estimated; use a longer window")
        return super()._unidentified(patterns)

    def fit(self, frequency, periods, weights=None) -> NBDModel:
        """Fit on purchase counts over observed periods.

        Parameters
        ----------
        frequency : array_like
            Purchases x per customer (whole numbers >= 0).
        periods : float or array_like
            Periods n each customer was observed (> 0).
        weights : array_like, optional
            Customers each row stands for.

        Returns
        -------
        self
        """
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
        """P(X = x) over n periods at the fitted parameters.

        Parameters
        ----------
        x : array_like of int
            Purchase counts.
        n : float, default 1
            Number of periods.

        Returns
        -------
        numpy.ndarray
            Probabilities.
        """
        a, b = self._check_fitted()
        return nbd_pmf(x, a, b, n)

    def mean(self, n: float = 1.0) -> float:
        """Expected purchases over n periods, b n / a.

        Parameters
        ----------
        n : float, default 1
            Number of periods.

        Returns
        -------
        float
            Purchases.
        """
        a, b = self._check_fitted()
        return b * n / a

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T
                                                             ) -> np.ndarray:
        """Expected purchases in the next t periods: t (b + x) / (a + n).

        The signature is the purchase models' one; the NBD ignores recency and T is the n
        periods observed.

        Parameters
        ----------
        t : float or array_like
            Horizon (periods).
        frequency : array_like
            Purchases x in the observed periods.
        recency : array_like
            Ignored.
        T : array_like
            Periods observed n.

        Returns
        -------
        numpy.ndarray
            Expected purchases per customer.
        """
        return self.expected_purchases_if_alive(t, frequency, T)

    def expected_purchases_if_alive(self, t, frequency, T) -> np.ndarray:
        """The same expectation as `conditional_expected_number_of_purchases_up_to_time`: every NBD
        customer is alive (intervals call this name).

        Parameters
        ----------
        t : float or array_like
            Horizon (periods).
        frequency : array_like
            Purchases x in the observed periods.
        T : array_like
            Periods observed n.

        Returns
        -------
        numpy.ndarray
            Expected purchases per customer.
        """
        a, b = self._check_fitted()
        x = np.asarray(frequency, dtype=float)
        n = np.asarray(T, dtype=float)
        return np.asarray(t, dtype=float) * (b + x) / (a + n)

    def conditional_probability_alive(self, frequency, recency, T) -> np.ndarray:
        """The NBD has no dropout: every customer is alive.

        Parameters
        ----------
        frequency, recency, T : array_like
            Customers' histories (only the shape of frequency is used).

        Returns
        -------
        numpy.ndarray
            Ones.
        """
        return np.ones(np.shape(frequency))

    @staticmethod
    def simulate(params: dict[str, float], n: int, periods: float, seed: int = 0):
        """Customers drawn from the model (for tests and coverage checks).

        Parameters
        ----------
        params : dict of str to float
            Model parameters (a, b).
        n : int
            Number of customers.
        periods : float
            Periods observed.
        seed : int, default 0
            Seed of numpy's default generator.

        Returns
        -------
        tuple of 2 numpy.ndarray
            Purchases and periods per customer.

        References
        ----------
        .. [1] Ehrenberg, A. S. C. (1959). "The pattern of consumer purchases". Journal of the
           Royal Statistical Society C 8(1), 26-41.
        .. [2] Morrison, D. G. and Schmittlein, D. C. (1988). "Generalizing the NBD model for customer
           purchases". Journal of Business & Economic Statistics 6(2), 145-159.
        """
        rng = np.random.default_rng(seed)
        lam = rng.gamma(params["b"], 1.0 / params["a"], n)
        return rng.poisson(lam * periods).astype(float), np.full(n, float(periods))
