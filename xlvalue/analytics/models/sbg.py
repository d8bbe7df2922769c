"""Shifted-beta-geometric retention model for contractual customers (Fader & Hardie 2007).

Each customer renews at the end of every period with probability 1 - theta until the first
non-renewal; theta ~ Beta(gamma, delta) across the cohort. Fitted on the survivors of one
cohort at t = 0, 1, 2, ... (the count at 0 is the cohort size).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, hyp2f1

from xlvalue.analytics.models.base import MLEModel, Patterns
from xlvalue.errors import ModelError

__all__ = ["ShiftedBetaGeoModel", "check_survivors"]


class ShiftedBetaGeoModel(MLEModel):
    """sBG: fit on a cohort's survivor counts; retention and survival curves, DERL.

    Examples
    --------
    >>> m = ShiftedBetaGeoModel().fit_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> [round(v, 3) for v in m.params_]
    [0.704, 1.182]

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2007). "How to project customer retention".
       Journal of Interactive Marketing 21(1), 76-90.
    """

    param_names = ("gamma", "delta")
    model_name = "sbg"

    def fit_survivors(self, counts) -> ShiftedBetaGeoModel:
        """Maximum-likelihood fit on survivor counts.

        Parameters
        ----------
        counts : array_like
            Customers still active at t = 0, 1, ..., T (whole numbers, not increasing; the
            first is the cohort size, in customers).

        Returns
        -------
        ShiftedBetaGeoModel
            self, with `params_` (gamma, delta), `standard_errors_`, `variance_matrix_`,
            `log_likelihood_`.

        References
        ----------
        Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. Journal of
        Interactive Marketing 21(1), 76-90.
        """
        n = check_survivors(counts)
        lost = -np.diff(n)  # customers who did not renew at the end of period t = 1..T
        t = np.arange(1, len(n), dtype=float)
        # one "pattern" per period with lost customers, plus the survivors at T (censored)
        columns = (np.append(t, t[-1]), np.append(np.zeros_like(t), 1.0))
        weights = np.append(lost, n[-1])
        keep = weights > 0
        patterns = Patterns(tuple(c[keep] for c in columns), weights[keep],
                            np.arange(int(keep.sum())))
        return self._fit_patterns(patterns)

    def _loglik(self, params: np.ndarray, patterns: Patterns) -> np.ndarray:
        gamma, delta = params
        t, censored = patterns.columns
        # P(T = t) = B(gamma + 1, delta + t - 1) / B(gamma, delta); S(t) = B(gamma, delta + t) / B
        churn = betaln(gamma + 1, delta + t - 1)
        survive = betaln(gamma, delta + t)
        return np.where(censored > 0, survive, churn) - betaln(gamma, delta)

    def survival_function(self, t) -> np.ndarray:
        """S(t): share of the cohort still active after t renewal opportunities.

        Parameters
        ----------
        t : array_like
            Periods since acquisition (0, 1, 2, ...).

        Returns
        -------
        numpy.ndarray
            Survival shares in [0, 1] (S(0) = 1).
        """
        gamma, delta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(gamma, delta + t) - betaln(gamma, delta))

    def retention_rate(self, t) -> np.ndarray:
        """r(t) = S(t) / S(t - 1) = (delta + t - 1) / (gamma + delta + t - 1), t >= 1: rises
        with t as the cohort sorts out its churners.

        Parameters
        ----------
        t : array_like
            Period (1, 2, ...).

        Returns
        -------
        numpy.ndarray
            Retention rates in (0, 1).
        """
        gamma, delta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        return (delta + t - 1) / (gamma + delta + t - 1)

    def churn_probability(self, t) -> np.ndarray:
        """P(T = t) = B(gamma + 1, delta + t - 1) / B(gamma, delta): probability of leaving at the end
        of period t.

        Parameters
        ----------
        t : int or array_like
            Period (>= 1).

        Returns
        -------
        numpy.ndarray
            Probabilities.

        References
        ----------
        .. [1] Fader, P. S. and Hardie, B. G. S. (2007). "How to project customer retention".
           Journal of Interactive Marketing 21(1), 76-90.
        """
        gamma, delta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(gamma + 1, delta + t - 1) - betaln(gamma, delta))

    def discounted_expected_residual_lifetime(self, renewals, discount_rate: float) -> np.ndarray:
        """DERL of a customer who has made n - 1 renewals and is up for the n-th: the expected
        number of future payments, the next one undiscounted and the k-th after it discounted
        by (1 + d)^-k (Fader & Hardie 2010, "Customer-base valuation in a contractual
        setting", eq. 6):
        (delta + n - 1) / (gamma + delta + n - 1) x 2F1(1, delta + n; gamma + delta + n; 1/(1+d)).

        Parameters
        ----------
        renewals : array_like
            Renewals made so far (n - 1 >= 0; 0 for a customer in their first period).
        discount_rate : float
            Discount rate d per period, > 0.

        Returns
        -------
        numpy.ndarray
            Discounted expected number of payments; times the payment per period = residual
            value.
        """
        if not discount_rate > 0:
            raise ModelError("DERL needs a discount rate > 0 (the undiscounted sum may be "
                             "infinite)")
        gamma, delta = self._check_fitted()
        n = np.asarray(renewals, dtype=float) + 1
        v = 1.0 / (1.0 + discount_rate)
        return ((delta + n - 1) / (gamma + delta + n - 1)
                * hyp2f1(1.0, delta + n, gamma + delta + n, v))

    @staticmethod
    def simulate(params: dict[str, float], n: int, periods: int, seed: int = 0) -> np.ndarray:
        """Survivor counts of a simulated cohort of n customers at t = 0..periods.

        Parameters
        ----------
        params : dict of str to float
            gamma, delta.
        n : int
            Cohort size.
        periods : int
            Last period counted.
        seed : int, default 0
            Seed of numpy's default generator.

        Returns
        -------
        numpy.ndarray
            Survivors at t = 0..periods.
        """
        rng = np.random.default_rng(seed)
        theta = rng.beta(params["gamma"], params["delta"], n)
        lifetime = rng.geometric(theta)  # the period at whose end the customer leaves
        t = np.arange(periods + 1)
        return (lifetime[None, :] > t[:, None]).sum(axis=1).astype(float)


def check_survivors(counts) -> np.ndarray:
    """Survivor counts must be >= 2 whole numbers >= 0, not increasing, the first > 0.

    Parameters
    ----------
    counts : array_like
        Survivors at t = 0, 1, 2, ...

    Returns
    -------
    numpy.ndarray
        The counts as floats.

    Raises
    ------
    ModelError
        Counts that break the rules.
    """
    n = np.asarray(counts, dtype=float).ravel()
    if n.size < 2:
        raise ModelError("survivors: need the cohort size and at least one later count")
    bad = np.flatnonzero(~np.isfinite(n) | (n < 0) | (np.floor(n) != n))
    if bad.size:
        shown = ", ".join(str(i + 1) for i in bad[:5])
        raise ModelError(f"survivors must be whole numbers >= 0; item(s) {shown}")
    up = np.flatnonzero(np.diff(n) > 0)
    if up.size:
        raise ModelError(f"survivors must not increase; item {up[0] + 2} ({n[up[0] + 1]:g}) "
                         f"exceeds item {up[0] + 1} ({n[up[0]]:g})")
    if n[0] <= 0:
        raise ModelError("survivors: the cohort size (first count) must be > 0")
    return n
