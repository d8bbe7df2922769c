"""The NBD purchase model of seed 000: Poisson purchases, Gamma(shape b, rate a) rates.

P(X = x) over n periods = Gamma(b+x) / (Gamma(b) x!) (a/(a+n))^b (n/(a+n))^x; mean b n / a.
Conditional expectation per future period after x purchases in n periods: (b + x) / (a + n).
The model takes the purchase models' (frequency, recency, T) with T the periods observed.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from xlvalue.analytics.models.base import (
    MLEModel,
    Patterns,
    RecencyModel,
    check_rfm_arrays,
    checks_inputs,
    compress,
    rows_text,
)
from xlvalue.analytics.models.covariates import prediction_rows
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
    x, n = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):  # n = 0: no purchase for certain
        buys = np.where(x > 0, x * (np.log(n) - np.log(a + n)), 0.0)
    return np.exp(gammaln(b + x) - gammaln(b) - gammaln(x + 1)
                  + b * (np.log(a) - np.log(a + n)) + buys)


class NBDModel(RecencyModel):
    """NBD: fit a (rate) and b (shape) on purchases x over T periods per customer.

    Purchases are Poisson, rates Gamma(shape b, rate a) across customers; no dropout. The
    fit and the predictions take the purchase models' arguments (frequency, recency, T): the
    NBD ignores recency and reads T as the periods observed, so every caller treats the four
    purchase models alike.

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
        return MLEModel._unidentified(self, patterns)

    def fit(self, frequency, recency, T, weights=None, purchase_covariates=None,
            dropout_covariates=None) -> NBDModel:
        """Fit on purchase counts over observed periods (the purchase models' signature).

        Parameters
        ----------
        frequency : array_like
            Purchases x per customer in (0, T] (whole numbers >= 0).
        recency : array_like or None
            Time of the last purchase, checked as for the other purchase models (<= T, 0 when
            x = 0) but not used: the NBD has no dropout. None skips the check.
        T : float or array_like
            Periods observed per customer (>= 0; > 0 where x > 0).
        weights : array_like, optional
            Customers each row stands for.
        purchase_covariates, dropout_covariates : None
            The NBD takes no covariates (an error when given).

        Returns
        -------
        self

        Raises
        ------
        ModelError
            Naming the rows that are not a valid (x, t_x, T) summary, or with purchases in
            no time.
        """
        if purchase_covariates is not None or dropout_covariates is not None:
            raise ModelError("nbd takes no covariates; use bgnbd, mbgnbd or paretonbd")
        x = np.asarray(frequency, dtype=float)
        t = np.broadcast_to(np.asarray(T, dtype=float), x.shape)
        tx = np.zeros_like(x) if recency is None else recency
        x, _, t = check_rfm_arrays(x, tx, t)
        bad = np.flatnonzero((x > 0) & (t <= 0))
        if bad.size:
            raise ModelError(f"NBD: purchases in no time (T = 0 with frequency > 0) in "
                             f"row(s) {rows_text(bad)}")
        return self._fit_patterns(compress(x, t, weights=weights))

    def _start(self, patterns: Patterns) -> np.ndarray:
        x, n = patterns.columns
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = np.where(n > 0, x / np.where(n > 0, n, 1.0), 0.0)
        rate = max(float(np.average(rates, weights=patterns.weights)), 1e-3)
        return np.array([1.0 / rate, 1.0])

    def _loglik(self, params: np.ndarray, patterns: Patterns) -> np.ndarray:
        a, b = params
        x, n = patterns.columns
        # log NB(x; n): a customer observed for no time (n = 0, x = 0) has probability 1
        with np.errstate(divide="ignore", invalid="ignore"):
            buys = np.where(x > 0, x * (np.log(n) - np.log(a + n)), 0.0)
        return gammaln(b + x) - gammaln(b) - gammaln(x + 1) + b * (np.log(a) - np.log(a + n)) + buys

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

    @checks_inputs
    def expected_number_of_purchases_up_to_time(self, t, purchase_covariates=None,
                                                dropout_covariates=None) -> np.ndarray:
        """E[X(t)] = b t / a: expected purchases in (0, t] of a customer just acquired (the
        purchase models' name for `mean`).

        Parameters
        ----------
        t : float or array_like
            Periods since acquisition.

        Returns
        -------
        numpy.ndarray
            Expected purchases (same shape as t).
        """
        shape = (prediction_rows(np.size(t), purchase_covariates, dropout_covariates),)
        a, b = self._customer_params(shape, purchase_covariates, dropout_covariates)
        return b * np.asarray(t, dtype=float) / a

    @checks_inputs
    def probability_of_n_purchases_up_to_time(self, t, n) -> np.ndarray:
        """P(X(t) = n): the NBD probability of n purchases in (0, t] (the purchase models'
        name for `pmf`, with their argument order).

        Parameters
        ----------
        t : float or array_like
            Periods since acquisition (> 0).
        n : int or array_like of int
            Number of purchases (>= 0); broadcasts against t.

        Returns
        -------
        numpy.ndarray
            Probabilities (0..1).
        """
        a, b = self._check_fitted()
        t, n = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=float))
        if np.any((n < 0) | (np.floor(n) != n)) or np.any(t < 0):
            raise ModelError("n must be whole numbers >= 0 and t >= 0")
        return nbd_pmf(n, a, b, t)

    def expected_purchases_if_alive(self, t, frequency, T, purchase_covariates=None,
                                    dropout_covariates=None) -> np.ndarray:
        """E[Y(t) | x, T] = t (b + x) / (a + T): every NBD customer is alive, so this is also
        `conditional_expected_number_of_purchases_up_to_time` (intervals call this name).

        Parameters
        ----------
        t : float or array_like
            Horizon (periods).
        frequency : array_like
            Purchases x in the observed periods.
        T : array_like
            Periods observed.

        Returns
        -------
        numpy.ndarray
            Expected purchases per customer.
        """
        shape = np.broadcast(np.asarray(frequency), np.asarray(T)).shape
        a, b = self._customer_params(shape, purchase_covariates, dropout_covariates)
        x = np.asarray(frequency, dtype=float)
        n = np.asarray(T, dtype=float)
        return np.asarray(t, dtype=float) * (b + x) / (a + n)

    @checks_inputs
    def conditional_probability_alive(self, frequency, recency, T, purchase_covariates=None,
                                      dropout_covariates=None) -> np.ndarray:
        """The NBD has no dropout: every customer is alive.

        Parameters
        ----------
        frequency, recency, T : array_like
            Customers' histories (only their shape is used).

        Returns
        -------
        numpy.ndarray
            Ones.
        """
        shape = np.broadcast(np.asarray(frequency), np.asarray(recency), np.asarray(T)).shape
        self._customer_params(shape, purchase_covariates, dropout_covariates)  # none: checked
        return np.ones(np.broadcast_shapes(np.shape(frequency), np.shape(recency), np.shape(T)))

    @staticmethod
    def simulate(params: dict[str, float], n: int, T: float | np.ndarray, seed: int = 0):
        """Customers drawn from the model (for tests and coverage checks).

        Parameters
        ----------
        params : dict of str to float
            Model parameters (a, b).
        n : int
            Number of customers.
        T : float or array_like
            Periods each customer is observed.
        seed : int, default 0
            Seed of numpy's default generator.

        Returns
        -------
        tuple of 3 numpy.ndarray
            frequency, recency (the last of the x uniform purchase times) and T per customer,
            as the other purchase models' `simulate`.

        References
        ----------
        .. [1] Ehrenberg, A. S. C. (1959). "The pattern of consumer purchases". Journal of the
           Royal Statistical Society C 8(1), 26-41.
        .. [2] Morrison, D. G. and Schmittlein, D. C. (1988). "Generalizing the NBD model for customer
           purchases". Journal of Business & Economic Statistics 6(2), 145-159.
        """
        rng = np.random.default_rng(seed)
        T_ = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
        lam = rng.gamma(params["b"], 1.0 / params["a"], n)
        x = rng.poisson(lam * T_)
        tx = np.where(x > 0, T_ * rng.beta(np.maximum(x, 1), 1.0), 0.0)
        return x.astype(float), tx, T_
