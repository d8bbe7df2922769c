"""BG/BB purchase model for discrete transaction opportunities (Fader, Hardie & Shang 2010).

At each opportunity (a yearly gala, a donation drive, a weekly draw) an alive customer
transacts with probability p ~ Beta(alpha, beta); before each opportunity an alive customer
becomes inactive with probability theta ~ Beta(gamma, delta). A customer is summarised by the
number of opportunities with a transaction x, the last of them t_x and the number of
opportunities n after the first transaction.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1, logsumexp

from xlvalue.analytics.models.base import MLEModel, Patterns, checks_inputs, compress, rows_text
from xlvalue.errors import ModelError

__all__ = ["BetaGeoBetaBinomModel", "check_opportunities", "loglik"]


class BetaGeoBetaBinomModel(MLEModel):
    """BG/BB: fit on (frequency, recency, n_periods); P(alive), expected and discounted
    expected residual transactions.

    Examples
    --------
    >>> from xlvalue.datasets import load_donations
    >>> d = load_donations()
    >>> m = BetaGeoBetaBinomModel().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    >>> round(m.params_["alpha"], 3)
    1.204

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). "Customer-base analysis in a
       discrete-time noncontractual setting". Marketing Science 29(6), 1086-1108.
    """

    param_names = ("alpha", "beta", "gamma", "delta")
    model_name = "bgbb"

    def fit(self, frequency, recency, n_periods, weights=None) -> BetaGeoBetaBinomModel:
        """Maximum-likelihood fit; identical histories are fitted once.

        Parameters
        ----------
        frequency : array_like
            Opportunities with a transaction after the first one (x, a whole number).
        recency : array_like
            The opportunity of the last of them (t_x, 0 when x is 0; in opportunities).
        n_periods : array_like
            Opportunities observed after the first transaction (n, in opportunities).
        weights : array_like, optional
            Customers with each history (default 1 per row), as in the published tables.

        Returns
        -------
        BetaGeoBetaBinomModel
            self, with `params_`, `standard_errors_`, `variance_matrix_`, `log_likelihood_`.

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-base analysis in a
        discrete-time noncontractual setting. Marketing Science 29(6), 1086-1108.
        """
        x, tx, n = check_opportunities(frequency, recency, n_periods)
        w = None if weights is None else np.asarray(weights, dtype=float)
        if w is not None and (w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0)):
            raise ModelError("weights must be one number >= 0 per row")
        return self._fit_patterns(compress(x, tx, n, weights=w))

    def _start(self, patterns: Patterns) -> np.ndarray:
        return np.ones(4)

    def _loglik(self, params: np.ndarray, patterns: Patterns) -> np.ndarray:
        x, tx, n = patterns.columns
        return loglik(*params, x, tx, n)

    def _posterior_parts(self, frequency, recency, n_periods):
        """(params, x, t_x, n, log L): what every conditional quantity divides by."""
        alpha, beta, gamma, delta = self._check_fitted()
        x, tx, n = (np.asarray(v, dtype=float) for v in (frequency, recency, n_periods))
        return alpha, beta, gamma, delta, x, tx, n, loglik(alpha, beta, gamma, delta, x, tx, n)

    @checks_inputs
    def conditional_probability_alive(self, frequency, recency, n_periods,
                                      m_periods_in_future=0) -> np.ndarray:
        """P(alive at opportunity n + m | x, t_x, n) (FHS 2010 eq. 11 is m = 1).

        Parameters
        ----------
        frequency, recency, n_periods : array_like
            x, t_x and n, in opportunities.
        m_periods_in_future : int or array_like, default 0
            Opportunities after the last observed one (0 = alive at n, as lifetimes).

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1].
        """
        alpha, beta, gamma, delta, x, tx, n, ll = self._posterior_parts(frequency, recency,
                                                                        n_periods)
        m = np.asarray(m_periods_in_future, dtype=float)
        log_num = (betaln(alpha + x, beta + n - x) - betaln(alpha, beta)
                   + betaln(gamma, delta + n + m) - betaln(gamma, delta))
        return np.exp(log_num - ll)

    def expected_number_of_transactions_in_first_n_periods(self, n) -> np.ndarray:
        """E[X(n)]: expected transactions of a new customer in the first n opportunities.

        FHS 2010 eq. 8, summed as alpha/(alpha+beta) x sum_t B(gamma, delta+t)/B(gamma, delta),
        which stays exact at gamma = 1.

        Parameters
        ----------
        n : float or array_like
            Number of transaction opportunities.

        Returns
        -------
        numpy.ndarray
            Expected transactions (count).

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). "Customer-base analysis in a
           discrete-time noncontractual setting". Marketing Science 29(6), 1086-1108.
        """
        alpha, beta, gamma, delta = self._check_fitted()
        n = np.asarray(n, dtype=float)
        return alpha / (alpha + beta) * _survival_sum(gamma, delta, 0.0, n)

    @checks_inputs
    def probability_of_n_purchases_up_to_time(self, n_periods: int, x) -> np.ndarray:
        """P(X(n) = x): probability that a new customer transacts at x of the first n
        opportunities (FHS 2010 eq. 7); n_periods x customers is lifetimes' "model" column of
        expected_number_of_transactions_in_first_n_periods.

        Parameters
        ----------
        n_periods : int
            Opportunities (n).
        x : array_like
            Transaction counts 0..n.

        Returns
        -------
        numpy.ndarray
            Probabilities (summing to 1 over x = 0..n).
        """
        alpha, beta, gamma, delta = self._check_fitted()
        x = np.asarray(x, dtype=float)
        n = float(n_periods)
        base = -betaln(alpha, beta) - betaln(gamma, delta)
        log_choose = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
        alive = log_choose + betaln(alpha + x, beta + n - x) + betaln(gamma, delta + n) + base
        i = np.arange(int(n), dtype=float)[None, :]  # died before opportunity i + 1
        xs = x.ravel()[:, None]
        with np.errstate(invalid="ignore"):
            terms = (gammaln(i + 1) - gammaln(xs + 1) - gammaln(i - xs + 1)
                     + betaln(alpha + xs, beta + i - xs) + betaln(gamma + 1, delta + i) + base)
        terms = np.where(i >= xs, terms, -np.inf)
        both = np.column_stack([alive.ravel(), terms])
        return np.exp(logsumexp(both, axis=1)).reshape(x.shape)

    @checks_inputs
    def conditional_expected_number_of_purchases_up_to_time(
            self, m_periods_in_future, frequency, recency, n_periods) -> np.ndarray:
        """E[X(n, n + m) | x, t_x, n]: expected transactions in the next m opportunities
        (FHS 2010 eq. 13).

        Parameters
        ----------
        m_periods_in_future : int or array_like
            Opportunities ahead (m).
        frequency, recency, n_periods : array_like
            x, t_x and n, in opportunities.

        Returns
        -------
        numpy.ndarray
            Expected transactions (count).
        """
        alpha, beta, gamma, delta, x, tx, n, ll = self._posterior_parts(frequency, recency,
                                                                        n_periods)
        m = np.asarray(m_periods_in_future, dtype=float)
        log_front = betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta) - ll
        return np.exp(log_front) * _survival_sum(gamma, delta, n, n + m)

    def discounted_expected_residual_transactions(self, frequency, recency, n_periods,
                                                  discount_rate: float) -> np.ndarray:
        """DERT: expected transactions from opportunity n + 1 on, each discounted by
        (1 + d)^-(t - n) (FHS 2010 eq. 14).

        Parameters
        ----------
        frequency, recency, n_periods : array_like
            x, t_x and n, in opportunities.
        discount_rate : float
            Discount rate d per opportunity (e.g. 0.1 for 10 % a year), > 0.

        Returns
        -------
        numpy.ndarray
            Discounted expected transactions; multiply by the value of a transaction.
        """
        if not discount_rate > 0:
            raise ModelError("DERT needs a discount rate > 0 (the undiscounted sum is infinite)")
        alpha, beta, gamma, delta, x, tx, n, ll = self._posterior_parts(frequency, recency,
                                                                        n_periods)
        v = 1.0 / (1.0 + discount_rate)
        log_front = (betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta)
                     + betaln(gamma, delta + n + 1) - betaln(gamma, delta) - ll)
        return np.exp(log_front) * v * hyp2f1(1.0, delta + n + 1, gamma + delta + n + 1, v)

    @staticmethod
    def simulate(params: dict[str, float], n: int, n_periods: int, seed: int = 0):
        """Customers drawn from the model.

        Parameters
        ----------
        params : dict of str to float
            alpha, beta, gamma, delta.
        n : int
            Number of customers.
        n_periods : int
            Opportunities after the first transaction.
        seed : int, default 0
            Seed of numpy's default generator.

        Returns
        -------
        tuple of 3 numpy.ndarray
            frequency, recency and n_periods per customer.

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). "Customer-base analysis in a
           discrete-time noncontractual setting". Marketing Science 29(6), 1086-1108.
        """
        rng = np.random.default_rng(seed)
        p = rng.beta(params["alpha"], params["beta"], n)
        theta = rng.beta(params["gamma"], params["delta"], n)
        alive_for = rng.geometric(theta) - 1  # opportunities 1..alive_for are lived
        t = np.arange(1, n_periods + 1)
        buys = (rng.random((n, n_periods)) < p[:, None]) & (t[None, :] <= alive_for[:, None])
        x = buys.sum(axis=1).astype(float)
        tx = np.where(x > 0, n_periods - np.argmax(buys[:, ::-1], axis=1), 0).astype(float)
        return x, tx, np.full(n, float(n_periods))


def _survival_sum(gamma, delta, n0, n1) -> np.ndarray:
    """sum over t = n0+1 .. n1 of B(gamma, delta + t) / B(gamma, delta) (expected alive
    opportunities), in closed form:
    delta/(gamma-1) Gamma(gamma+delta)/Gamma(1+delta) [G(n0) - G(n1)], G(k) =
    Gamma(1+delta+k)/Gamma(gamma+delta+k); near gamma = 1 the limit delta (digamma difference)."""
    n0 = np.asarray(n0, dtype=float)
    n1 = np.asarray(n1, dtype=float)
    if abs(gamma - 1.0) < 1e-9:  # B(1, d + t)/B(1, d) = d / (d + t)
        from scipy.special import digamma
        return delta * (digamma(delta + n1 + 1) - digamma(delta + n0 + 1))
    lg0 = gammaln(1 + delta + n0) - gammaln(gamma + delta + n0)
    lg1 = gammaln(1 + delta + n1) - gammaln(gamma + delta + n1)
    const = delta / (gamma - 1) * np.exp(gammaln(gamma + delta) - gammaln(1 + delta))
    return const * (np.exp(lg0) - np.exp(lg1))


def loglik(alpha, beta, gamma, delta, x, tx, n) -> np.ndarray:
    """Per-history BG/BB log-likelihood (FHS 2010 eq. 5) in log space.

    log[B(a+x, b+n-x)/B(a,b) B(g, d+n)/B(g,d)
        + sum_{i=0}^{n-t_x-1} B(a+x, b+t_x-x+i)/B(a,b) B(g+1, d+t_x+i)/B(g,d)].

    Parameters
    ----------
    alpha, beta, gamma, delta : float
        Model parameters.
    x, tx, n : array_like
        Transactions, the opportunity of the last one, and opportunities (counts).

    Returns
    -------
    numpy.ndarray
        Log-likelihood per history (natural log).

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). "Customer-base analysis in a
       discrete-time noncontractual setting". Marketing Science 29(6), 1086-1108.
    """
    x, tx, n = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, tx, n))
    x, tx, n = np.broadcast_arrays(x, tx, n)
    shape = x.shape
    x, tx, n = x.ravel(), tx.ravel(), n.ravel()
    base = -betaln(alpha, beta) - betaln(gamma, delta)
    a = betaln(alpha + x, beta + n - x) + betaln(gamma, delta + n) + base
    gap = n - tx  # opportunities after the last transaction; the sum has gap terms
    width = int(gap.max()) if gap.size else 0
    if width > 0:
        i = np.arange(width, dtype=float)[None, :]
        terms = (betaln(alpha + x[:, None], beta + tx[:, None] - x[:, None] + i)
                 + betaln(gamma + 1, delta + tx[:, None] + i) + base)
        terms = np.where(i < gap[:, None], terms, -np.inf)
        out = logsumexp(np.column_stack([a, terms]), axis=1)
    else:
        out = a
    return out.reshape(shape)


def check_opportunities(frequency, recency, n_periods) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate BG/BB inputs: whole numbers with 0 <= x <= t_x <= n (t_x = 0 when x = 0).

    Parameters
    ----------
    frequency, recency, n_periods : array_like
        Transactions, last transaction opportunity and opportunities per history.

    Returns
    -------
    tuple of 3 numpy.ndarray
        The three columns as float arrays.

    Raises
    ------
    ModelError
        Naming the rows that break the rules.
    """
    x, tx, n = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, n_periods))
    if not (x.shape == tx.shape == n.shape):
        raise ModelError("frequency, recency and n_periods must have the same length")
    problems = []
    for name, arr in (("frequency", x), ("recency", tx), ("n_periods", n)):
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (np.floor(arr) != arr))
        if bad.size:
            problems.append(f"{name} must be a whole number >= 0; row(s) {rows_text(bad)}")
    if not problems:
        bad = np.flatnonzero((tx > n) | (x > tx) | ((x == 0) & (tx != 0)))
        if bad.size:
            problems.append("need frequency <= recency <= n_periods (recency 0 when frequency "
                            f"is 0); row(s) {rows_text(bad)}")
    if problems:
        raise ModelError("; ".join(problems))
    return x, tx, n
