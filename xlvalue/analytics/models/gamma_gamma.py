"""Gamma-gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; seed 000's model).

A customer's transaction values are Gamma(p, rate nu); nu ~ Gamma(q, rate gamma) across
customers. Fitted on repeat customers' number of transactions x and mean value m.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from xlvalue.analytics.models.base import MLEModel, Patterns, checks_inputs, compress
from xlvalue.errors import ModelError

__all__ = ["LIFETIMES_MONTH", "GammaGammaModel"]

# a month in each time unit, as lifetimes' customer_lifetime_value counts it
LIFETIMES_MONTH = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24}


class GammaGammaModel(MLEModel):
    """Gamma-gamma: expected average spend per transaction given (x, m).

    A customer's transaction values are Gamma(p, rate nu); nu ~ Gamma(q, rate gamma) across
    customers. Fitted on repeat customers' number of transactions x and mean value m. Method
    names are lifetimes' (``GammaGammaFitter``).

    Attributes
    ----------
    params_ : pandas.Series
        p, q (shapes) and gamma (currency).

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using iso-value
       curves for customer base analysis". Journal of Marketing Research 42(4), 415-430.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2013). "The gamma-gamma model of monetary value".
       http://brucehardie.com/notes/025/
    """

    param_names = ("p", "q", "gamma")
    model_name = "gammagamma"
    has_gradient = True

    def fit(self, frequency, monetary_value, weights=None) -> GammaGammaModel:
        """Fit on repeat customers' purchases and mean spend.

        Parameters
        ----------
        frequency : array_like
            Repeat purchases x per customer (> 0).
        monetary_value : array_like
            Mean spend of those purchases (currency, > 0).
        weights : array_like, optional
            Customers each row stands for.

        Returns
        -------
        self

        Raises
        ------
        ModelError
            Rows without repeat purchases or with a non-positive mean spend, named.
        """
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        bad = np.flatnonzero((x <= 0) | ~np.isfinite(m) | (m <= 0))
        if bad.size:
            shown = ", ".join(str(i + 1) for i in bad[:5])
            raise ModelError(f"gamma-gamma needs repeat customers (frequency > 0) with a positive "
                             f"mean spend; {bad.size} row(s) are not, e.g. row(s) {shown}")
        return self._fit_patterns(compress(x, m, weights=weights))

    def _start(self, patterns: Patterns) -> np.ndarray:
        _, m = patterns.columns
        mean = float(np.average(m, weights=patterns.weights))
        return np.array([1.0, 1.0, mean])

    def _loglik(self, params: np.ndarray, patterns: Patterns) -> np.ndarray:
        p, q, g = params
        x, m = patterns.columns
        px = p * x
        return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
                + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + g))

    def _loglik_grad(self, params: np.ndarray, patterns: Patterns
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihood and its analytic gradient in (p, q, gamma)."""
        p, q, g = params
        x, m = patterns.columns
        px = p * x
        log_xmg = np.log(x * m + g)
        psi_pxq = digamma(px + q)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
              + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_xmg)
        grad = np.empty((3, len(x)))
        grad[0] = x * (psi_pxq - digamma(px) + np.log(m) + np.log(x) - log_xmg)
        grad[1] = psi_pxq - digamma(q) + np.log(g) - log_xmg
        grad[2] = q / g - (px + q) / (x * m + g)
        return ll, grad

    @checks_inputs
    def conditional_expected_average_profit(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m]: expected spend per transaction of each customer (lifetimes' name).

        p (gamma + x m) / (p x + q - 1): a weighted mean of the customer's observed mean and the
        population mean; for customers without repeat purchases, the population mean
        p gamma / (q - 1).

        Parameters
        ----------
        frequency : array_like
            Repeat purchases x per customer.
        monetary_value : array_like
            Mean spend of the repeat purchases (currency).

        Returns
        -------
        numpy.ndarray
            Expected spend per transaction (currency).

        Raises
        ------
        ModelError
            When q <= 1 (the expected spend is infinite).

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using iso-value
           curves for customer base analysis". Journal of Marketing Research 42(4), 415-430.
        .. [2] Fader, P. S. and Hardie, B. G. S. (2013). "The gamma-gamma model of monetary value".
           http://brucehardie.com/notes/025/
        """
        p, q, g = self._check_fitted()
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        if np.any(q <= 1):  # (arrays of q: parameter draws, see analytics.intervals)
            raise ModelError("gamma-gamma: q <= 1, the expected spend is infinite")
        cond = p * (g + x * m) / (p * x + q - 1)
        return np.where(x > 0, cond, p * g / (q - 1))

    def customer_lifetime_value(self, transaction_prediction_model, frequency, recency, T,
                                monetary_value, time: int = 12, discount_rate: float = 0.01,
                                freq: str = "D"):
        """Discounted value of each customer's purchases over the next `time` months.

        lifetimes' method of this name: expected purchases per month (from the purchase model)
        x expected spend per purchase (`conditional_expected_average_profit`), discounted at
        the end of each month; computed by `customer_value.discounted_clv`, the function
        behind the workbook's ``XV_CLV``.

        Parameters
        ----------
        transaction_prediction_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
            A fitted purchase model (time unit: `freq`).
        frequency : array_like
            Repeat purchases x per customer.
        recency : array_like
            Time of the last purchase since the first, t_x (units of `freq`).
        T : array_like
            Time since the first purchase (units of `freq`).
        monetary_value : array_like
            Mean spend of the repeat purchases (currency).
        time : int, default 12
            Horizon in months.
        discount_rate : float, default 0.01
            Discount rate per month.
        freq : {"D", "W", "M", "H"}
            Time unit of the purchase model: a month is lifetimes' 30 days, 4.345 weeks, 1 month
            or 720 hours (the workbook's PeriodUnit month is 365.25 / 12 days).

        Returns
        -------
        pandas.Series or numpy.ndarray
            CLV per customer (currency); a Series named ``clv`` on `frequency`'s index when
            `frequency` is a Series, as lifetimes returns it.

        References
        ----------
        .. [1] Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves for customer
           base analysis", Journal of Marketing Research 42(4).
        """
        from xlvalue.analytics.customer_value import discounted_clv

        if freq not in LIFETIMES_MONTH:
            raise ModelError(f"freq must be one of {', '.join(LIFETIMES_MONTH)}; got {freq!r}")
        if int(time) != time or time < 1:
            raise ModelError(f"time must be a whole number of months >= 1; got {time!r}")
        self._check_fitted()
        values = discounted_clv(transaction_prediction_model, self, frequency, recency, T,
                                monetary_value, int(time), LIFETIMES_MONTH[freq], discount_rate)
        if isinstance(frequency, pd.Series):
            return pd.Series(values, index=frequency.index, name="clv")
        return values

    def mode(self) -> float:
        """Mode of the marginal density of a transaction value: (p - 1) / (q + 1) x gamma.

        Returns
        -------
        float
            Currency (0 when p < 1).
        """
        p, q, g = self._check_fitted()
        return max(p - 1, 0.0) / (q + 1) * g

    def density(self, m) -> np.ndarray:
        """Marginal density f(m) of a single transaction value.

        Parameters
        ----------
        m : array_like
            Transaction values (currency, > 0).

        Returns
        -------
        numpy.ndarray
            Density (per currency unit).

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using iso-value
           curves for customer base analysis". Journal of Marketing Research 42(4), 415-430.
        .. [2] Fader, P. S. and Hardie, B. G. S. (2013). "The gamma-gamma model of monetary value".
           http://brucehardie.com/notes/025/
        """
        p, q, g = self._check_fitted()
        m = np.asarray(m, dtype=float)
        return np.exp(gammaln(p + q) - gammaln(p) - gammaln(q) + q * np.log(g)
                      + (p - 1) * np.log(m) - (p + q) * np.log(g + m))

    @staticmethod
    def simulate(params: dict[str, float], frequency: np.ndarray, seed: int = 0) -> np.ndarray:
        """Customers drawn from the model (for tests and coverage checks).

        Parameters
        ----------
        params : dict of str to float
            Model parameters (p, q, gamma).
        frequency : numpy.ndarray
            Transactions per customer (> 0).
        seed : int, default 0
            Seed of numpy's default generator.

        Returns
        -------
        numpy.ndarray
            Mean transaction value per customer (currency).

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using iso-value
           curves for customer base analysis". Journal of Marketing Research 42(4), 415-430.
        .. [2] Fader, P. S. and Hardie, B. G. S. (2013). "The gamma-gamma model of monetary value".
           http://brucehardie.com/notes/025/
        """
        rng = np.random.default_rng(seed)
        x = np.asarray(frequency, dtype=float)
        nu = rng.gamma(params["q"], 1.0 / params["gamma"], len(x))
        return rng.gamma(params["p"] * x, 1.0 / nu) / x
