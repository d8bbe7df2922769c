"""MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007).

BG/NBD in which a customer may also drop out at time 0, right after the first purchase, so a
customer without repeat purchases is no longer certainly alive. The fit shares BG/NBD's code
(`shift = 1`), and so does `simulate`; the predictions below are the model's own closed
forms.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, hyp2f1

from xlvalue.analytics.models.base import checks_inputs
from xlvalue.analytics.models.bg_nbd import BetaGeoModel
from xlvalue.analytics.models.covariates import prediction_rows

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD: fit on (frequency, recency, T); predict purchases and P(alive).

    BG/NBD in which a customer may also drop out at time 0, right after the first purchase.
    Method names are lifetimes' (``ModifiedBetaGeoFitter``).

    Attributes
    ----------
    params_ : pandas.Series
        r, alpha (time unit of T), a, b.

    References
    ----------
    .. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). "Empirical validation and
       comparison of models for customer base analysis". International Journal of Research in
       Marketing 24(3), 201-209.
    """

    model_name = "mbgnbd"
    shift = 1

    @checks_inputs
    def conditional_probability_alive(self, frequency, recency, T, purchase_covariates=None,
                                      dropout_covariates=None) -> np.ndarray:
        """P(alive | x, t_x, T): probability that each customer has not yet dropped out.

        Below 1 also for x = 0 (a customer may drop out right after the first purchase).

        Parameters
        ----------
        frequency : array_like
            Repeat purchases x per customer.
        recency : array_like
            Time of the last purchase since the first, t_x (the fit's time unit, e.g. weeks).
        T : array_like
            Time since the first purchase (same unit).

        purchase_covariates, dropout_covariates : pandas.DataFrame, optional
            For a model fitted with covariates: the customers' covariates (the fitted
            columns, one row per customer).
        Returns
        -------
        numpy.ndarray
            Probability per customer (0..1).

        References
        ----------
        .. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). "Empirical validation and
           comparison of models for customer base analysis". International Journal of Research in
           Marketing 24(3), 201-209.
        """
        shape = np.broadcast(np.asarray(frequency), np.asarray(recency), np.asarray(T)).shape
        r, alpha, a, b = self._customer_params(shape, purchase_covariates, dropout_covariates)
        x, tx, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        log_ratio = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + t) - np.log(alpha + tx))
        return expit(-log_ratio)  # 1 / (1 + e^log_ratio)

    @checks_inputs
    def expected_number_of_purchases_up_to_time(self, t, purchase_covariates=None,
                                                dropout_covariates=None) -> np.ndarray:
        """E[X(t)]: expected purchases in (0, t] of a customer just acquired (not a forecast for the
        customers in the data: that is `conditional_expected_number_of_purchases_up_to_time`).

        b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))].

        Parameters
        ----------
        t : float or array_like
            Time since acquisition (the fit's time unit).

        purchase_covariates, dropout_covariates : pandas.DataFrame, optional
            For a model fitted with covariates: the customers' covariates (the fitted
            columns, one row per customer).
        Returns
        -------
        numpy.ndarray
            Expected purchases (count, same shape as t).

        References
        ----------
        .. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). "Empirical validation and
           comparison of models for customer base analysis". International Journal of Research in
           Marketing 24(3), 201-209.
        """
        shape = (prediction_rows(np.size(t), purchase_covariates, dropout_covariates),)
        r, alpha, a, b = self._customer_params(shape, purchase_covariates, dropout_covariates)
        t = np.asarray(t, dtype=float)
        hyp = hyp2f1(r, b + 1, a + b, t / (alpha + t))
        return b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


    def expected_purchases_if_alive(self, t, frequency, T, purchase_covariates=None,
                                    dropout_covariates=None) -> np.ndarray:
        """E[Y(t) | x, T, alive at T]: the conditional expectation without its P(alive)
        factor. It does not depend on t_x, so intervals evaluate it once per distinct (x, T)
        (see xlvalue.analytics.intervals).

        Parameters
        ----------
        t : float or array_like
            Horizon (model time units).
        frequency, T : array_like
            Repeat purchases x and age T.

        purchase_covariates, dropout_covariates : pandas.DataFrame, optional
            For a model fitted with covariates: the customers' covariates (the fitted
            columns, one row per customer).
        Returns
        -------
        numpy.ndarray
            Expected purchases of a customer known to be alive at T.
        """
        shape = np.broadcast(np.asarray(frequency), np.asarray(T)).shape
        r, alpha, a, b = self._customer_params(shape, purchase_covariates, dropout_covariates)
        x, T_ = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        t = np.asarray(t, dtype=float)
        hyp = hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T_ + t))
        body = 1 - np.exp((r + x) * (np.log(alpha + T_) - np.log(alpha + T_ + t))) * hyp
        return (a + b + x) / (a - 1) * body
