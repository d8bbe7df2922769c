"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie notes).

Purchases follow Poisson(lambda) while alive, lambda ~ Gamma(r, rate alpha); lifetimes are
exponential(mu), mu ~ Gamma(s, rate beta). The likelihood's Gauss hypergeometric term is
evaluated through the Pfaff transformation 2F1(a,b;a+1;z) = (1-z)^-b 2F1(1,b;a+1;z/(z-1)),
whose argument is <= 0 where the series is bounded: the large factor stays in log space and
nothing overflows.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1, logsumexp

from xlvalue.analytics.models.base import Patterns, RecencyModel, checks_inputs, compress
from xlvalue.analytics.models.covariates import prediction_rows

__all__ = ["ParetoNBDModel", "log_a0", "log_a0_quadrature", "pattern_loglik_grad",
           "reference_loglik"]


def _col(v):
    """An array of one value per customer as a column (broadcasts against nodes); a scalar
    as it is."""
    return np.asarray(v, dtype=float)[..., None] if np.ndim(v) else v


def _rows_of(v, rows):
    """The chosen customers' values of a per-customer parameter (a scalar as it is)."""
    return np.asarray(v, dtype=float)[rows] if np.ndim(v) else v


def _log_term(r, alpha, s, beta, x, u) -> np.ndarray:
    """log[2F1(r+s+x, b'; r+s+x+1; z) / (max(alpha, beta) + u)^(r+s+x)] via Pfaff (see module).

    alpha and beta may be one value per customer (covariates): each customer then takes the
    branch of its own larger scale."""
    if np.ndim(alpha) or np.ndim(beta):
        alpha, beta, x, u = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                  for v in (alpha, beta, x, u)))
        out = np.empty(alpha.shape)
        first = alpha >= beta
        for rows in (first, ~first):
            if rows.any():
                out[rows] = _log_term_scales(r, alpha[rows], s, beta[rows], x[rows], u[rows],
                                             alpha_larger=rows is first)
        return out
    return _log_term_scales(r, alpha, s, beta, x, u, alpha_larger=alpha >= beta)


def _log_term_scales(r, alpha, s, beta, x, u, alpha_larger: bool) -> np.ndarray:
    """`_log_term` with the branch given: alpha (else beta) is the larger scale."""
    if alpha_larger:
        hi, lo, b_ = alpha, beta, s + 1
    else:
        hi, lo, b_ = beta, alpha, r + x
    rsx = r + s + x
    with np.errstate(all="ignore"):
        return (-b_ * (np.log(lo + u) - np.log(hi + u))
                + np.log(hyp2f1(1.0, b_, rsx + 1.0, -(hi - lo) / (lo + u))) - rsx * np.log(hi + u))


def _distinct_pairs(patterns: Patterns):
    """Distinct (x, t_x) and (x, T) pairs of the patterns, cached on them."""
    cached = patterns.cache.get("pareto_pairs")
    if cached is None:
        x, tx, t = patterns.columns
        out = []
        for u in (tx, t):
            pairs = compress(x, u)
            out.append((pairs.columns[0], pairs.columns[1], pairs.inverse))
        cached = patterns.cache["pareto_pairs"] = tuple(out)
    return cached


def log_a0(r, alpha, s, beta, x, tx, t) -> np.ndarray:
    """log A0 of the Pareto/NBD likelihood, stable for any inputs.

    A0 = (r+s+x) x the integral over (t_x, T) of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy, through
    the Pfaff-transformed 2F1; where scipy's 2F1 gives up, by quadrature.

    Parameters
    ----------
    r, alpha, s, beta : float
        Model parameters (alpha, beta in the time unit of t).
    x, tx, t : array_like
        Repeat purchases, recency and age.

    Returns
    -------
    numpy.ndarray
        log A0 per customer.

    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
       customers: who are they and what will they do next?". Management Science 33(1), 1-24.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model
       and related expressions". http://brucehardie.com/notes/009/
    """
    x, tx, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, tx, t)))
    return _a0_from_terms(_log_term(r, alpha, s, beta, x, tx), _log_term(r, alpha, s, beta, x, t),
                          r, alpha, s, beta, x, tx, t)


def _a0_from_terms(l1, l2, r, alpha, s, beta, x, tx, t) -> np.ndarray:
    """log A0 from the two end terms (`_log_term` at t_x and at T): their log difference;
    where scipy's 2F1 gives up far out on the negative axis, quadrature instead."""
    with np.errstate(all="ignore"):
        out = np.asarray(l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0))), dtype=float)
    bad = ~np.isfinite(out) & (t > tx)
    if np.any(bad):
        out = out.copy()
        out[bad] = log_a0_quadrature(r, _rows_of(alpha, bad), s, _rows_of(beta, bad),
                                     x[bad], tx[bad], t[bad])
    return out


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)
_GRAD_NODES, _GRAD_W = np.polynomial.legendre.leggauss(16)
_GRAD_LOGW = np.log(_GRAD_W)


def _integrand_expectations(r, alpha, s, beta, x, tx, t):
    """E[log(alpha+y)], E[1/(alpha+y)], E[log(beta+y)], E[1/(beta+y)] under the A0 integrand.

    Gauss-Legendre in u = log(alpha + y) on (t_x, T). The log-integrand is shifted by the
    larger of its end values: each of its two terms is monotone in u, so the shift is within
    a few units of the maximum (no overflow) and no row-wise max is needed. Row sums are
    matrix-vector products.
    """
    u0 = np.log(alpha + tx)
    half = (np.log(alpha + t) - u0) / 2
    u = u0[:, None] + half[:, None] * (_GRAD_NODES + 1)
    alpha_y = np.exp(u)
    beta_y = alpha_y + _col(np.subtract(beta, alpha))
    log_by = np.log(beta_y)
    log_f = (1 - r - x)[:, None] * u
    log_f -= (s + 1) * log_by
    log_f += _GRAD_LOGW
    log_f -= np.maximum(log_f[:, 0], log_f[:, -1])[:, None]
    q = np.exp(log_f)
    ones = np.ones(u.shape[1])
    norm = q @ ones
    return ((q * u) @ ones / norm, (q / alpha_y) @ ones / norm,
            (q * log_by) @ ones / norm, (q / beta_y) @ ones / norm)


def log_a0_quadrature(r, alpha, s, beta, x, tx, t) -> np.ndarray:
    """log A0 by Gauss-Legendre quadrature in u = log(alpha + y), summed in log space.

    Parameters
    ----------
    r, alpha, s, beta : float
        Model parameters (alpha and beta may be one per customer).
    x, tx, t : array_like
        Repeat purchases, recency and age.

    Returns
    -------
    numpy.ndarray
        log A0 per customer.

    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
       customers: who are they and what will they do next?". Management Science 33(1), 1-24.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model
       and related expressions". http://brucehardie.com/notes/009/
    """
    u0 = np.log(alpha + np.asarray(tx, dtype=float))[:, None]
    u1 = np.log(alpha + np.asarray(t, dtype=float))[:, None]
    half = (u1 - u0) / 2
    u = u0 + half * (_NODES[None, :] + 1)
    y = np.exp(u) - _col(alpha)
    log_f = -(r + np.asarray(x, dtype=float)[:, None] - 1) * u - (s + 1) * np.log(_col(beta) + y)
    return (np.log(r + s + np.asarray(x, dtype=float)) + np.log(half[:, 0])
            + logsumexp(log_f + np.log(_WEIGHTS)[None, :], axis=1))


def reference_loglik(r, alpha, s, beta, x, tx, t) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood with A0 by quadrature alone (no 2F1).

    The reference the tests hold the fit's form (``ParetoNBDModel._loglik_parts``) against;
    the fit itself never calls it.

    Parameters
    ----------
    r, alpha, s, beta : float
        Model parameters (alpha, beta in the time unit of t).
    x, tx, t : array_like
        Repeat purchases, recency and age.

    Returns
    -------
    numpy.ndarray
        Log-likelihood per customer (natural log).

    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
       customers: who are they and what will they do next?". Management Science 33(1), 1-24.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model
       and related expressions". http://brucehardie.com/notes/009/
    """
    x, tx, t = (np.asarray(v, dtype=float) for v in (x, tx, t))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
    with np.errstate(divide="ignore"):  # t_x = T: A0 = 0
        a3 = np.log(s) - np.log(r + s + x) + log_a0_quadrature(r, alpha, s, beta, x, tx, t)
    return a1 + np.logaddexp(a2, a3)


def pattern_loglik_grad(r, alpha, s, beta, x, tx, t) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient in (r, alpha, s, beta), where alpha and
    beta may be one value per customer (covariates).

    LL = A1 + logaddexp(a2, log s + log I), I the integral in A0 (2F1 through Pfaff, as the
    fit without covariates); the derivatives of log I are expectations under the integrand
    (Gauss-Legendre in u = log(alpha + y)), as in `ParetoNBDModel._loglik_grad`.

    Parameters
    ----------
    r, alpha, s, beta : float or array_like
        Model parameters; alpha and beta scalars or one per customer.
    x, tx, t : array_like
        Repeat purchases, recency and age per customer.

    Returns
    -------
    tuple of numpy.ndarray
        Log-likelihood per customer, and its gradient (4 x customers).
    """
    x, tx, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, tx, t)))
    a0 = _a0_from_terms(_log_term(r, alpha, s, beta, x, tx), _log_term(r, alpha, s, beta, x, t),
                        r, alpha, s, beta, x, tx, t)
    log_at, log_bt = np.log(alpha + t), np.log(beta + t)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = -(r + x) * log_at - s * log_bt
    a3 = np.log(s) - np.log(r + s + x) + a0
    ll = a1 + np.logaddexp(a2, a3)
    w2 = np.exp(np.minimum(a2 - (ll - a1), 0.0))
    w3 = 1.0 - w2
    e_u, e_inv_a, e_log_b, e_inv_b = _integrand_expectations(r, alpha, s, beta, x, tx, t)
    grad = np.array(np.broadcast_arrays(
        digamma(r + x) - digamma(r) + np.log(alpha) - w2 * log_at - w3 * e_u,
        r / alpha - w2 * (r + x) / (alpha + t) - w3 * (r + x) * e_inv_a,
        np.log(beta) - w2 * log_bt + w3 * (1.0 / s - e_log_b),
        s / beta - w2 * s / (beta + t) - w3 * (s + 1) * e_inv_b))
    return ll, np.where(np.isfinite(grad), grad, 0.0)


class ParetoNBDModel(RecencyModel):
    """Pareto/NBD: fit on (frequency, recency, T); predict purchases and P(alive).

    Purchases follow Poisson(lambda) while alive, lambda ~ Gamma(r, rate alpha); lifetimes are
    exponential(mu), mu ~ Gamma(s, rate beta). Method names are lifetimes' (``ParetoNBDFitter``).

    Attributes
    ----------
    params_ : pandas.Series
        r, alpha, s, beta (alpha and beta in the time unit of T).

    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
       customers: who are they and what will they do next?". Management Science 33(1), 1-24.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model
       and related expressions". http://brucehardie.com/notes/009/
    """

    param_names = ("r", "alpha", "s", "beta")
    model_name = "paretonbd"
    has_gradient = True
    covariate_scales = ("alpha", "beta")  # alpha_i = alpha0 e^(-g_p.z), beta_i = beta0 e^(-g_d.z)

    def _total_loglik_grad(self, params: np.ndarray, patterns: Patterns
                           ) -> tuple[float, np.ndarray]:
        """Summed log-likelihood and gradient (with covariates, per customer's scales)."""
        if self.covariates_:
            return self._covariate_loglik_grad(params, patterns)
        return super()._total_loglik_grad(params, patterns)

    def _pattern_loglik_grad(self, values: list, x: np.ndarray, tx: np.ndarray, t: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Per-customer log-likelihood and gradient, alpha and beta possibly per customer."""
        return pattern_loglik_grad(*values, x, tx, t)

    def _start(self, patterns: Patterns) -> np.ndarray:
        # half the mean age and rate ratios: 15-20 % fewer evaluations than 1s on CDNOW and
        # on simulated cohorts (the usual fits have r, s < 1)
        scale = float(np.average(patterns.columns[2], weights=patterns.weights))
        return np.array([0.5, 0.5 / self.mean_rate(patterns), 0.5, max(0.5 * scale, 1e-3)])

    def _loglik_parts(self, params: np.ndarray, patterns: Patterns
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-pattern LL = a1 + logaddexp(a2, a3), with a1 and a2 (the gradient needs them)."""
        r, alpha, s, beta = params
        x, tx, t = patterns.columns
        # log A0 needs 2F1 at (x, t_x) and (x, T); evaluate it on the distinct pairs only
        pairs = _distinct_pairs(patterns)
        (xa, ua, ia), (xb, ub, ib) = pairs
        a0 = _a0_from_terms(_log_term(r, alpha, s, beta, xa, ua)[ia],
                            _log_term(r, alpha, s, beta, xb, ub)[ib], r, alpha, s, beta, x, tx, t)
        (xu, xi), _, (tu, ti) = patterns.levels
        a1 = (gammaln(r + xu) - gammaln(r))[xi] + r * np.log(alpha) + s * np.log(beta)
        a2 = -(r + x) * np.log(alpha + tu)[ti] - s * np.log(beta + tu)[ti]
        a3 = np.log(s) - np.log(r + s + x) + a0
        return a1 + np.logaddexp(a2, a3), a1, a2

    def _loglik_grad(self, params: np.ndarray, patterns: Patterns
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Exact log-likelihood (2F1) with an analytic gradient.

        LL = A1 + logaddexp(a2, log s + log I), I the integral in A0; the derivatives of log I
        are expectations under the integrand (e.g. d log I / dr = -E[log(alpha + y)]), taken
        with Gauss-Legendre nodes in u = log(alpha + y) from one evaluation of the integrand.
        """
        r, alpha, s, beta = params
        x, tx, t = patterns.columns
        ll, a1, a2 = self._loglik_parts(params, patterns)
        (xu, xi), _, (tu, ti) = patterns.levels
        w2 = np.exp(np.minimum(a2 - (ll - a1), 0.0))
        w3 = 1.0 - w2
        e_u, e_inv_a, e_log_b, e_inv_b = _integrand_expectations(r, alpha, s, beta, x, tx, t)
        d_r = (digamma(r + xu) - digamma(r))[xi] + np.log(alpha) \
            - w2 * np.log(alpha + tu)[ti] - w3 * e_u
        d_alpha = r / alpha - w2 * (r + x) / (alpha + tu)[ti] - w3 * (r + x) * e_inv_a
        d_s = np.log(beta) - w2 * np.log(beta + tu)[ti] + w3 * (1.0 / s - e_log_b)
        d_beta = s / beta - w2 * s / (beta + tu)[ti] - w3 * (s + 1) * e_inv_b
        grad = np.vstack([d_r, d_alpha, d_s, d_beta])
        return ll, np.where(np.isfinite(grad), grad, 0.0)

    @checks_inputs
    def conditional_probability_alive(self, frequency, recency, T, purchase_covariates=None,
                                      dropout_covariates=None) -> np.ndarray:
        """P(alive | x, t_x, T): probability that each customer has not yet dropped out.

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
        .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
           customers: who are they and what will they do next?". Management Science 33(1), 1-24.
        .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model
           and related expressions". http://brucehardie.com/notes/009/
        """
        shape = np.broadcast(np.asarray(frequency), np.asarray(recency), np.asarray(T)).shape
        r, alpha, s, beta = self._customer_params(shape, purchase_covariates, dropout_covariates)
        x, tx, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        log_ratio = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + t)
                     + s * np.log(beta + t) + log_a0(r, alpha, s, beta, x, tx, t))
        return expit(-log_ratio)  # 1 / (1 + e^log_ratio)

    @checks_inputs
    def expected_number_of_purchases_up_to_time(self, t, purchase_covariates=None,
                                                dropout_covariates=None) -> np.ndarray:
        """E[X(t)]: expected purchases in (0, t] of a customer just acquired (not a forecast for the
        customers in the data: that is `conditional_expected_number_of_purchases_up_to_time`).

        r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]; r beta/alpha log(1 + t/beta) at s = 1.

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
        .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
           customers: who are they and what will they do next?". Management Science 33(1), 1-24.
        .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model
           and related expressions". http://brucehardie.com/notes/009/
        """
        shape = (prediction_rows(np.size(t), purchase_covariates, dropout_covariates),)
        r, alpha, s, beta = self._customer_params(shape, purchase_covariates, dropout_covariates)
        t = np.asarray(t, dtype=float)
        if abs(s - 1) < 1e-9:
            return r * beta / alpha * np.log1p(t / beta)
        return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


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
        r, alpha, s, beta = self._customer_params(shape, purchase_covariates, dropout_covariates)
        x, T_ = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        t = np.asarray(t, dtype=float)
        if np.ndim(s) == 0 and abs(s - 1) < 1e-9:
            horizon = (beta + T_) * np.log1p(t / (beta + T_))
        else:
            horizon = (beta + T_) / (s - 1) * (1 - ((beta + T_) / (beta + T_ + t)) ** (s - 1))
        return (r + x) / (alpha + T_) * horizon

    @staticmethod
    def simulate(params: dict[str, float], n: int, T: float | np.ndarray, seed: int = 0):
        """Customers drawn from the model (for tests and coverage checks).

        Parameters
        ----------
        params : dict of str to float
            Model parameters (r, alpha, s, beta).
        n : int
            Number of customers.
        T : float or array_like
            Age of each customer.
        seed : int, default 0
            Seed of numpy's default generator.

        Returns
        -------
        tuple of 3 numpy.ndarray
            frequency, recency and T per customer.

        References
        ----------
        .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
           customers: who are they and what will they do next?". Management Science 33(1), 1-24.
        .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model
           and related expressions". http://brucehardie.com/notes/009/
        """
        rng = np.random.default_rng(seed)
        T_ = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
        mu = rng.gamma(params["s"], 1.0 / params["beta"], n)
        life = rng.exponential(1.0 / mu)
        seen = np.minimum(life, T_)
        x = rng.poisson(lam * seen)
        tx = np.where(x > 0, seen * rng.beta(np.maximum(x, 1), 1.0), 0.0)
        return x.astype(float), tx, T_
