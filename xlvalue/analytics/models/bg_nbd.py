"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Purchases follow Poisson(lambda) while alive, lambda ~ Gamma(r, rate alpha); after each repeat
purchase a customer drops out with probability p ~ Beta(a, b).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, polygamma

from xlvalue.analytics.models.base import Patterns, RecencyModel, checks_inputs
from xlvalue.analytics.models.covariates import prediction_rows
from xlvalue.errors import ModelError

__all__ = ["BetaGeoModel", "pattern_loglik_grad", "reference_loglik"]


class BetaGeoModel(RecencyModel):
    """BG/NBD: fit on (frequency, recency, T); predict purchases and P(alive).

    Purchases follow Poisson(lambda) while alive, lambda ~ Gamma(r, rate alpha); after each
    repeat purchase a customer drops out with probability p ~ Beta(a, b). The method names are
    lifetimes' (``BetaGeoFitter``).

    Attributes
    ----------
    params_ : pandas.Series
        r (shape), alpha (scale, in the time unit of T), a and b (Beta shapes).

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
       easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
    """

    param_names = ("r", "alpha", "a", "b")
    model_name = "bgnbd"
    has_gradient = True
    has_hessian = True
    covariate_scales = ("alpha", "b")  # alpha_i = alpha0 e^(-g_p.z), b_i = b0 e^(-g_d.z)
    # MBG/NBD shares everything but one shift: a customer may also drop out at time 0, which
    # turns B(a, b+x) into B(a, b+x+1) and a / (b+x-1), for x > 0 only, into a / (b+x), for all
    shift: ClassVar[int] = 0

    def _start(self, patterns: Patterns) -> np.ndarray:
        return np.array([1.0, 1.0 / self.mean_rate(patterns), 1.0, 1.0])

    def _total_loglik_grad(self, params: np.ndarray, patterns: Patterns
                           ) -> tuple[float, np.ndarray]:
        """Summed log-likelihood and analytic gradient (see `_total_loglik_grad_hess`)."""
        if self.covariates_:
            return self._covariate_loglik_grad(params, patterns)
        ll, grad, _ = self._summed(params, patterns, hessian=False)
        return ll, grad

    def _total_loglik_grad_hess(self, params: np.ndarray, patterns: Patterns
                                ) -> tuple[float, np.ndarray, np.ndarray]:
        """Summed log-likelihood with its analytic gradient and Hessian: the form the fit
        uses (the tests check it against `reference_loglik` and its differences)."""
        return self._summed(params, patterns, hessian=True)

    def _pattern_loglik_grad(self, values: list, x: np.ndarray, tx: np.ndarray, t: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Per-customer log-likelihood and gradient, parameters possibly per customer."""
        return pattern_loglik_grad(*values, x, tx, t, shift=self.shift)

    def _summed(self, params: np.ndarray, patterns: Patterns, hessian: bool
                ) -> tuple[float, np.ndarray, np.ndarray | None]:
        """Log-likelihood, gradient and (with `hessian`) Hessian summed over customers.

        Terms of x alone are summed per distinct x, terms of T alone per distinct T (with the
        customer counts of each level), and only the dropout mixture log(1 + e^d),
        d = log(a / (b+x-1+k)) + (r+x) (log(alpha+T) - log(alpha+t_x)), needs a pass over
        the patterns (repeat buyers; MBG/NBD: all). Its derivatives are those of d weighted
        by sigma = e^d / (1 + e^d) and, for the Hessian, sigma (1 - sigma).
        """
        r, alpha, a, b = params
        (xu, _), (txu, _), (tu, _) = patterns.levels
        k = self.shift
        lv = _level_sums(patterns, every_pattern=bool(k))
        n, wx, w_t, wx_t = lv["n"], lv["w_x"], lv["w_t"], lv["wx_t"]  # per x; per T (all, x)
        bx1_u = np.where((xu > 0) | bool(k), b + xu - 1 + k, 1.0)
        psi_abx = digamma(a + b + xu + k)
        log_at_u = np.log(alpha + tu)
        inv_at_u = 1.0 / (alpha + tu)
        ll = (wx @ (gammaln(r + xu) + gammaln(b + xu + k) - gammaln(a + b + xu + k))
              + n * (r * np.log(alpha) - gammaln(r) - gammaln(b) + gammaln(a + b))
              - r * (w_t @ log_at_u) - wx_t @ log_at_u)  # a3 = -(r + x) log(alpha + T)
        grad = np.array([
            wx @ digamma(r + xu) + n * (np.log(alpha) - digamma(r)) - w_t @ log_at_u,
            n * r / alpha - r * (w_t @ inv_at_u) - wx_t @ inv_at_u,
            n * digamma(a + b) - wx @ psi_abx,
            wx @ (digamma(b + xu + k) - psi_abx) + n * (digamma(a + b) - digamma(b))])
        hess = None
        if hessian:
            tri_ab = n * polygamma(1, a + b) - wx @ polygamma(1, a + b + xu + k)
            hess = np.array([
                [wx @ polygamma(1, r + xu) - n * polygamma(1, r),
                 n / alpha - w_t @ inv_at_u, 0.0, 0.0],
                [0.0, -n * r / alpha**2 + r * (w_t @ inv_at_u**2) + wx_t @ inv_at_u**2,
                 0.0, 0.0],
                [0.0, 0.0, tri_ab, tri_ab],
                [0.0, 0.0, 0.0, wx @ (polygamma(1, b + xu + k) - polygamma(1, a + b + xu + k))
                 + n * (polygamma(1, a + b) - polygamma(1, b))]])
        xi, ti, txi, w = lv["xi"], lv["ti"], lv["txi"], lv["w"]
        if len(w):
            rx = np.take(r + xu, xi)
            inv_atx_u = 1.0 / (alpha + txu)
            dlog = np.take(log_at_u, ti)  # log(alpha + T) - log(alpha + t_x)
            dlog -= np.take(np.log(alpha + txu), txi)
            d = np.take(np.log(a) - np.log(bx1_u), xi)
            d += rx * dlog
            e = np.exp(np.minimum(d, 700.0))
            ll += w @ np.log1p(e)
            if d.max() > 700.0:  # softplus beyond e^700: log(1 + e^d) = d
                ll += w @ np.maximum(d - 700.0, 0.0)
            one_minus = 1.0 / (1.0 + e)  # 1 - sigma
            s1 = w * (e * one_minus)  # weight x posterior share of the dropout term
            d_inv = np.take(inv_at_u, ti)  # d/dalpha of dlog: 1/(alpha+T) - 1/(alpha+t_x)
            d_inv -= np.take(inv_atx_u, txi)
            q = np.take(1.0 / bx1_u, xi)  # -d/db of d
            v = np.empty((3, len(w)))
            v[0] = dlog  # d/dr of d
            np.multiply(rx, d_inv, out=v[1])  # d/dalpha of d
            v[2] = q
            first = v @ s1
            grad += [first[0], first[1], s1.sum() / a, -first[2]]
            if hessian:
                s2 = s1 * one_minus  # w sigma (1 - sigma)
                outer = (v * s2) @ v.T  # sum s2 v v^T over (r, alpha, -b)
                mean_v = v @ s2
                s2_sum = s2.sum()
                sign = np.array([1.0, 1.0, -1.0])  # v[2] is -d/db
                block = outer * np.outer(sign, sign)
                h = np.zeros((4, 4))
                h[np.ix_([0, 1, 3], [0, 1, 3])] = block
                h[[0, 1, 3], 2] = sign * mean_v / a
                h[2, [0, 1, 3]] = h[[0, 1, 3], 2]
                h[2, 2] = s2_sum / a**2
                # second derivatives of d: d2/dr dalpha = d_inv; d2/dalpha2 = (r+x)
                # (1/(alpha+t_x)^2 - 1/(alpha+T)^2); d2/da2 = -1/a^2; d2/db2 = q^2
                d2_alpha = np.take(inv_atx_u**2, txi)
                d2_alpha -= np.take(inv_at_u**2, ti)
                d2_alpha *= rx
                h[0, 1] += s1 @ d_inv
                h[1, 0] = h[0, 1]
                h[1, 1] += s1 @ d2_alpha
                h[2, 2] -= s1.sum() / a**2
                h[3, 3] += s1 @ (q * q)
                hess += h
        if hess is not None:
            hess = np.triu(hess) + np.triu(hess, 1).T
        return float(ll), grad, hess

    @checks_inputs
    def conditional_probability_alive(self, frequency, recency, T, purchase_covariates=None,
                                      dropout_covariates=None) -> np.ndarray:
        """P(alive | x, t_x, T): probability that each customer has not yet dropped out.

        1 for x = 0 (no dropout before the first repeat purchase).

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
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
           easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
        """
        shape = np.broadcast(np.asarray(frequency), np.asarray(recency), np.asarray(T)).shape
        r, alpha, a, b = self._customer_params(shape, purchase_covariates, dropout_covariates)
        x, tx, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 rows are replaced below
            log_ratio = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                         + (r + x) * (np.log(alpha + t) - np.log(alpha + tx)))
        return np.where(x > 0, expit(-log_ratio), 1.0)  # 1 / (1 + e^log_ratio)

    @checks_inputs
    def probability_of_n_purchases_up_to_time(self, t, n) -> np.ndarray:
        """P(X(t) = n): probability that a customer just acquired makes n repeat purchases in
        (0, t] (lifetimes' name; FHL 2005 eq. 8, MBG/NBD with the shift).

        P = B(a, b+n+k)/B(a, b) NB(n) + [n > 0 or k] B(a+1, b+n-1+k)/B(a, b)
        (1 - (alpha/(alpha+t))^r sum_{j<n} NB(j)), NB(j) = Gamma(r+j)/(Gamma(r) j!)
        (alpha/(alpha+t))^r (t/(alpha+t))^j and k = 1 for MBG/NBD; in log space, the finite
        sums by one cumulative sum up to the largest n.

        Parameters
        ----------
        t : float or array_like
            Time since acquisition (the fit's time unit).
        n : int or array_like of int
            Number of repeat purchases (>= 0); broadcasts against t.

        Returns
        -------
        numpy.ndarray
            Probabilities (0..1).

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers
           the easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2).
        """
        if self.covariates_:
            raise ModelError(f"{self.model_name} with covariates: P(X(t) = n) of a customer just "
                             "acquired is not available; fit without covariates for it")
        r, alpha, a, b = self._check_fitted()
        t, n = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=float))
        if np.any((n < 0) | (np.floor(n) != n)) or np.any(t < 0):
            raise ModelError("n must be whole numbers >= 0 and t >= 0")
        k = self.shift
        log_p0 = r * (np.log(alpha) - np.log(alpha + t))  # log (alpha/(alpha+t))^r
        with np.errstate(divide="ignore"):
            log_q = np.log(t) - np.log(alpha + t)  # log t/(alpha+t); -inf at t = 0
        # log NB(j) for j = 0..max(n), each t: the finite sums are cumulative sums over j
        j = np.arange(int(n.max(initial=0)) + 1, dtype=float)
        shape = (-1,) + (1,) * t.ndim
        jj = j.reshape(shape)
        with np.errstate(invalid="ignore"):
            log_nb = (gammaln(r + jj) - gammaln(r) - gammaln(jj + 1) + log_p0
                      + np.where(jj > 0, jj * log_q, 0.0))
        below = np.cumsum(np.exp(log_nb), axis=0) - np.exp(log_nb)  # sum over j < n
        idx = n.astype(np.int64)
        nb_n = np.take_along_axis(log_nb, idx[None], axis=0)[0]
        sum_below = np.take_along_axis(below, idx[None], axis=0)[0]
        first = np.exp(betaln(a, b + n + k) - betaln(a, b) + nb_n)
        dropped = np.exp(betaln(a + 1, np.maximum(b + n - 1 + k, 1e-300)) - betaln(a, b))
        second = np.where((n > 0) | bool(k), dropped * np.clip(1.0 - sum_below, 0.0, 1.0), 0.0)
        return first + second

    @checks_inputs
    def expected_number_of_purchases_up_to_time(self, t, purchase_covariates=None,
                                                dropout_covariates=None) -> np.ndarray:
        """E[X(t)]: expected purchases in (0, t] of a customer just acquired (not a forecast for the
        customers in the data: that is `conditional_expected_number_of_purchases_up_to_time`).

        (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))], FHL 2005 eq. 7.

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
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
           easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
        """
        shape = (prediction_rows(np.size(t), purchase_covariates, dropout_covariates),)
        r, alpha, a, b = self._customer_params(shape, purchase_covariates, dropout_covariates)
        t = np.asarray(t, dtype=float)
        hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


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
        z = t / (alpha + T_ + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        body = 1 - np.exp((r + x) * (np.log(alpha + T_) - np.log(alpha + T_ + t))) * hyp
        return (a + b + x - 1) / (a - 1) * body

    @classmethod
    def simulate(cls, params: dict[str, float], n: int, T: float | np.ndarray, seed: int = 0):
        """Customers drawn from the model (for tests and coverage checks).

        Parameters
        ----------
        params : dict of str to float
            Model parameters (r, alpha, a, b).
        n : int
            Number of customers.
        T : float or array_like
            Age of each customer (time unit of alpha).
        seed : int, default 0
            Seed of numpy's default generator.

        Returns
        -------
        tuple of 3 numpy.ndarray
            frequency, recency and T per customer.

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
           easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
        """
        rng = np.random.default_rng(seed)
        T_ = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
        p = rng.beta(params["a"], params["b"], n)
        # repeat purchases made before dropping out (MBG/NBD: may drop at once, before any)
        k = rng.geometric(p) - cls.shift
        count = rng.poisson(lam * T_)  # purchases in (0, T] had they stayed alive
        x = np.minimum(count, k)
        # the x-th of `count` uniform arrival times on (0, T]
        tx = np.where(x > 0, T_ * rng.beta(np.maximum(x, 1), np.maximum(count - x + 1, 1)), 0.0)
        return x.astype(float), tx, T_


def _level_sums(patterns: Patterns, every_pattern: bool = False) -> dict:
    """Customer counts per distinct x and per distinct T, and the patterns whose likelihood
    has a dropout term (repeat buyers; with `every_pattern`, as in MBG/NBD, all)."""
    key = "bgnbd_levels_all" if every_pattern else "bgnbd_levels"
    cached = patterns.cache.get(key)
    if cached is None:
        (xu, xi), _, (tu, ti) = patterns.levels
        (x, _, _), w = patterns.columns, patterns.weights
        rep = np.ones(len(x), bool) if every_pattern else x > 0
        cached = patterns.cache[key] = {
            "n": float(w.sum()),
            "w_x": np.bincount(xi, weights=w, minlength=len(xu)),
            "w_t": np.bincount(ti, weights=w, minlength=len(tu)),
            "wx_t": np.bincount(ti, weights=w * x, minlength=len(tu)),
            "xi": xi[rep], "ti": ti[rep], "txi": patterns.levels[1][1][rep], "w": w[rep],
        }
    return cached


def pattern_loglik_grad(r, alpha, a, b, x, tx, t, shift: int = 0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood (FHL 2005 eq. 6) and its gradient in (r, alpha, a, b),
    where any parameter may be an array of one value per customer (covariates).

    With sigma the share of the dropout term in logaddexp(a3, a4) (0 for x = 0 in BG/NBD):
    d/dr = psi(r+x) - psi(r) + log alpha - (1-sigma) log(alpha+T) - sigma log(alpha+t_x);
    d/dalpha = r/alpha - (r+x) [(1-sigma)/(alpha+T) + sigma/(alpha+t_x)];
    d/da = psi(a+b) - psi(a+b+x+k) + sigma/a;
    d/db = psi(b+x+k) - psi(b) + psi(a+b) - psi(a+b+x+k) - sigma/(b+x-1+k).

    Parameters
    ----------
    r, alpha, a, b : float or array_like
        Model parameters (alpha in the time unit of t), scalars or one per customer.
    x, tx, t : array_like
        Repeat purchases, recency and age per customer.
    shift : int, default 0
        1 for MBG/NBD.

    Returns
    -------
    tuple of numpy.ndarray
        Log-likelihood per customer, and its gradient (4 x customers).
    """
    x, tx, t = (np.asarray(v, dtype=float) for v in (x, tx, t))
    drop = (x > 0) | bool(shift)
    bx1 = np.where(drop, b + x - 1 + shift, 1.0)
    log_at, log_atx = np.log(alpha + t), np.log(alpha + tx)
    a3 = -(r + x) * log_at
    a4 = np.where(drop, np.log(a) - np.log(bx1) - (r + x) * log_atx, -np.inf)
    mix = np.logaddexp(a3, a4)
    sigma = np.exp(a4 - mix)
    ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
          + betaln(a, b + x + shift) - betaln(a, b) + mix)
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x + shift)
    grad = np.array(np.broadcast_arrays(
        digamma(r + x) - digamma(r) + np.log(alpha) - (1 - sigma) * log_at - sigma * log_atx,
        r / alpha - (r + x) * ((1 - sigma) / (alpha + t) + sigma / (alpha + tx)),
        psi_ab - psi_abx + sigma / a,
        digamma(b + x + shift) - digamma(b) + psi_ab - psi_abx - np.where(drop, sigma / bx1,
                                                                           0.0)))
    return ll, grad


def reference_loglik(r, alpha, a, b, x, tx, t, shift: int = 0) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood as printed (FHL 2005, eq. 6), in log space.

    With shift=1 it is the MBG/NBD likelihood (Batislam, Denizel & Filiztekin 2007). The
    reference the tests hold the fit's summed form (``_total_loglik_grad``) against; the fit
    itself never calls it.

    Parameters
    ----------
    r, alpha, a, b : float
        Model parameters (alpha in the time unit of t).
    x, tx, t : array_like
        Repeat purchases, recency and age per customer.
    shift : int, default 0
        1 for MBG/NBD (dropout possible at time 0).

    Returns
    -------
    numpy.ndarray
        Log-likelihood per customer (natural log).

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
       easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
    """
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x + shift) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + t)
    a4 = np.where((x > 0) | bool(shift),
                  np.log(a) - np.log(np.maximum(b + x - 1 + shift, 1e-300))
                  - (r + x) * np.log(alpha + tx), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)
