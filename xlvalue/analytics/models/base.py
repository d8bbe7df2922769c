"""Shared maximum-likelihood machinery for the purchase and spend models.

Parameters are optimised on the log scale (all are positive) with scipy's L-BFGS-B, the data
are compressed to unique patterns with counts (identical likelihood, fewer evaluations), and
standard errors come from a central-difference Hessian of the total log-likelihood at the
optimum. Starting values are fixed per model, so fits are deterministic.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from xlvalue.analytics.models.covariates import ROLES, Covariates, covariate_matrix
from xlvalue.errors import ModelError

__all__ = ["CONVERGED_GRADIENT", "COVARIATE_START_SIZE", "DIFFERENCED_HESSIAN_AT",
           "NEWTON_GRADIENT", "PREDICTIONS", "WARM_START_PATTERNS", "WARM_START_SIZE", "Z_95",
           "MLEModel", "Patterns", "RecencyModel", "check_prediction_inputs",
           "check_rfm_arrays", "checks_inputs", "compress", "gradient_hessian",
           "limited_blas_threads", "numeric_hessian", "rows_text"]

Z_95 = 1.96  # the standard normal 97.5 % quantile as lifetimes rounds it, so the bounds agree


@functools.cache
def _blas_controller() -> ThreadpoolController | None:
    """The BLAS libraries loaded in this process, found once (a lookup costs ~5 ms); None
    where they cannot be inspected (e.g. Pyodide in xlwings Lite: nothing to limit there)."""
    try:
        return ThreadpoolController()
    except Exception:
        return None


def limited_blas_threads(threads: int | None = 1) -> contextlib.AbstractContextManager:
    """A context in which the BLAS libraries use at most `threads` threads (None: unchanged).

    Fits and forecasts work on vectors of a few thousand distinct patterns, where BLAS worker
    threads gain nothing and, on a busy machine, fight other processes for the cores: a BG/NBD
    fit of 300,000 customers on 2 cores beside two busy processes took 14.2 s with OpenBLAS's
    default threads and 1.4 s with one (benchmarks/bench_busy.py).

    Parameters
    ----------
    threads : int or None, default 1
        Most BLAS threads; None leaves them as they are.

    Returns
    -------
    contextlib.AbstractContextManager
    """
    controller = _blas_controller()
    if threads is None or controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=threads, user_api="blas")


@dataclass(frozen=True)
class Patterns:
    """Unique data rows (columns of equal length) and how many customers share each.

    `levels[j]` holds the distinct values of column j and the index of each row into them, so
    that expensive special functions of one column (gammaln(r + x), log(alpha + T), ...) are
    evaluated once per distinct value rather than once per row.

    Attributes
    ----------
    columns : tuple of numpy.ndarray
        The distinct rows, one array per data column (the columns' own units).
    weights : numpy.ndarray of float
        Customers (summed weights) per distinct row.
    inverse : numpy.ndarray of int64
        For each input row, its distinct row.
    levels : tuple of (values, index) pairs
        Per column: its distinct values and each distinct row's index into them.
    cache : dict
        Per-model derived indexes (e.g. value pairs), made on first use.
    """

    columns: tuple[np.ndarray, ...]
    weights: np.ndarray
    inverse: np.ndarray
    levels: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    cache: dict = field(default_factory=dict)  # per-model derived indexes (e.g. value pairs)

    @property
    def n_customers(self) -> float:
        """Number of customers (sum of the weights)."""
        return float(self.weights.sum())

    def subsample(self, size: int, seed: int = 0) -> Patterns:
        """About `size` patterns standing for all of them, for a fit's starting values.

        With k = patterns / size, every pattern of weight >= k is kept as it is and the
        others are drawn with probability 1/k and weight multiplied by k, so every weighted
        sum over patterns (the log-likelihood and its derivatives) is estimated without bias.
        Levels are renumbered over the kept patterns; `inverse` is empty (no rows map here).

        Parameters
        ----------
        size : int
            Patterns wanted (about).
        seed : int, default 0
            Seed of the draw (fits stay deterministic).

        Returns
        -------
        Patterns
        """
        k = len(self.weights) / size
        if k <= 1:
            return self
        heavy = self.weights >= k
        keep = heavy | (np.random.default_rng(seed).random(len(self.weights)) < 1.0 / k)
        weights = np.where(heavy, self.weights, self.weights * k)[keep]
        levels = []
        for values, index in self.levels:
            used, renumbered = np.unique(index[keep], return_inverse=True)
            levels.append((values[used], renumbered))
        return Patterns(tuple(c[keep] for c in self.columns), weights,
                        np.zeros(0, np.int64), tuple(levels))


def compress(*columns: np.ndarray, weights: np.ndarray | None = None) -> Patterns:
    """Unique rows of the stacked columns, with summed weights (1 per customer by default).

    Each column is factorised by hashing (pandas). Rows whose value in the column with the
    most distinct values (e.g. a recency in fractions of a day) appears nowhere else are
    patterns on their own; only the other rows have their codes combined into one integer
    key that is factorised again (few distinct keys: a small hash table). Linear time, no
    sort of the rows; on 1,000,000 customers with continuous recency about half the time of
    factorising every row's combined key.

    Parameters
    ----------
    *columns : array_like
        Data columns of equal length (e.g. frequency, recency, T).
    weights : array_like, optional
        Customers each row stands for (default 1 each).

    Returns
    -------
    Patterns
        The distinct rows, the shared rows' patterns first, in order of first appearance.
    """
    cols = [np.asarray(c, dtype=float).ravel() for c in columns]
    n = len(cols[0])
    codes = []
    values = []
    for c in cols:
        code, uniq = pd.factorize(c)
        codes.append(code.astype(np.int64, copy=False))
        values.append(np.asarray(uniq, dtype=float))
    widest = int(np.argmax([len(v) for v in values]))
    shared = None
    if len(values[widest]) > n // 8:  # many distinct values: some rows are alone in theirs
        alone = np.bincount(codes[widest], minlength=len(values[widest]))[codes[widest]] == 1
        if alone.any():
            shared = np.flatnonzero(~alone)
            single = np.flatnonzero(alone)
    rows = shared if shared is not None else slice(None)
    key = codes[0][rows]
    for code, uniq in zip(codes[1:], values[1:], strict=True):
        key = key * len(uniq) + code[rows]  # cardinalities multiply: fine below 2**63
    inverse, first = _factorize_first(key)
    if shared is not None:  # the shared rows' patterns, then one pattern per lone row
        m = len(first)
        full = np.empty(n, np.int64)
        full[shared] = inverse
        full[single] = np.arange(m, m + len(single))
        inverse, first = full, np.concatenate([shared[first], single])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    counts = np.bincount(inverse, weights=w, minlength=len(first))
    uniq_cols = tuple(c[first] for c in cols)
    levels = tuple((v, code[first]) for v, code in zip(values, codes, strict=True))
    return Patterns(uniq_cols, counts, inverse, levels)


def _factorize_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of an integer key and the index of the first row of each code."""
    inverse, _ = pd.factorize(key)
    # codes are numbered in order of first appearance: a first appearance is a new running max
    is_first = np.empty(len(inverse), bool)
    if len(inverse):
        is_first[0] = True
        is_first[1:] = inverse[1:] > np.maximum.accumulate(inverse)[:-1]
    return inverse.astype(np.int64), np.flatnonzero(is_first)


def numeric_hessian(f, x: np.ndarray, rel_step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function (k is small: 2 to 4 parameters).

    Parameters
    ----------
    f : callable
        Scalar function of a parameter vector.
    x : numpy.ndarray
        Point of evaluation (k parameters).
    rel_step : float, default 1e-4
        Step relative to each parameter's size (at least 1e-3 absolute).

    Returns
    -------
    numpy.ndarray
        k x k symmetric matrix of second derivatives.
    """
    k = len(x)
    h = rel_step * np.maximum(np.abs(x), 1e-3)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = v
    return hess


# the prediction methods; each is decorated with `checks_inputs` where it is defined (a test
# holds every model to it)
PREDICTIONS = ("conditional_probability_alive", "conditional_expected_number_of_purchases_up_to_time",
               "expected_number_of_purchases_up_to_time", "conditional_expected_average_profit",
               "probability_of_n_purchases_up_to_time")


def checks_inputs(method):
    """Decorator: `method` checks its inputs first (see check_prediction_inputs).

    The arguments named frequency, recency, T, t and monetary_value are checked before the
    method runs, so a frequency of -1 or NaN, a recency beyond T or a negative horizon is an
    error naming the rows, never a number. Every model's prediction methods carry it.

    Parameters
    ----------
    method : callable
        A prediction method.

    Returns
    -------
    callable
        The method, checking its inputs first (marked ``checks_inputs = True``).
    """
    signature = inspect.signature(method)

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        check_prediction_inputs(signature.bind(self, *args, **kwargs).arguments)
        return method(self, *args, **kwargs)

    checked.checks_inputs = True  # type: ignore[attr-defined]
    return checked


def check_prediction_inputs(arguments: dict) -> None:
    """Refuse prediction inputs no customer can have, naming the rows.

    Parameters
    ----------
    arguments : dict
        A prediction's arguments by name: frequency, recency and T are checked together
        (check_rfm_arrays, broadcast), a lone frequency (gamma-gamma) must be whole and >= 0,
        monetary_value finite, and t (a horizon) finite and >= 0.

    Raises
    ------
    ModelError
        Saying which input is wrong and in which row(s).
    """
    names = ("frequency", "recency", "T")
    if all(arguments.get(k) is not None for k in names):
        try:
            cols = np.broadcast_arrays(*(np.asarray(arguments[k], dtype=float) for k in names))
        except ValueError:
            raise ModelError("frequency, recency and T must have the same length") from None
        check_rfm_arrays(*cols)
    elif arguments.get("frequency") is not None:
        x = np.atleast_1d(np.asarray(arguments["frequency"], dtype=float))
        bad = np.flatnonzero(~np.isfinite(x) | (x < 0) | (np.floor(x) != x))
        if bad.size:
            raise ModelError(f"frequency must be a whole number >= 0; row(s) {rows_text(bad)}")
    if arguments.get("monetary_value") is not None:
        m = np.atleast_1d(np.asarray(arguments["monetary_value"], dtype=float))
        bad = np.flatnonzero(~np.isfinite(m))
        if bad.size:
            raise ModelError(f"monetary_value is not a finite number in row(s) {rows_text(bad)}")
    if arguments.get("t") is not None:
        t = np.atleast_1d(np.asarray(arguments["t"], dtype=float))
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ModelError("t (the time ahead) must be a finite number >= 0")


CONVERGED_GRADIENT = 1e-5  # largest |d mean log-likelihood / d log parameter| at an optimum
NEWTON_GRADIENT = 1e-8  # where Newton's method stops (each step about squares it)
# models without an analytic Hessian difference their gradient once the gradient is this small
DIFFERENCED_HESSIAN_AT = 1e-6  # close enough that the standard errors agree to ~4 digits
# above this many distinct patterns a fit starts from the fit of a subsample of this size
WARM_START_PATTERNS = 60_000
WARM_START_SIZE = 30_000
# a covariate fit starts from the plain fit of a subsample this size
COVARIATE_START_SIZE = 10_000


@dataclass(frozen=True)
class _Optimum:
    """Where an optimiser stopped: log parameters, log-likelihood, its gradient and Hessian
    in the natural parameters (None where not computed) and the optimiser's word."""

    logp: np.ndarray
    ll: float
    grad: np.ndarray | None
    hess: np.ndarray | None
    message: str


def _central_gradient(f, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function (models without an analytic one)."""
    out = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = step
        out[i] = (f(x + e) - f(x - e)) / (2 * step)
    return out


def gradient_hessian(grad, x: np.ndarray, rel_step: float = 1e-6,
                     grad0: np.ndarray | None = None) -> np.ndarray:
    """Hessian by differences of an analytic gradient.

    Forward differences (k evaluations) when the gradient at x is known, else central (2k).
    Standard errors need ~5 digits, not more.

    Parameters
    ----------
    grad : callable
        Gradient of the function, a vector of k.
    x : numpy.ndarray
        Point of evaluation (k parameters).
    rel_step : float, default 1e-6
        Step relative to each parameter's size.
    grad0 : numpy.ndarray, optional
        The gradient at x, when already known.

    Returns
    -------
    numpy.ndarray
        k x k symmetric matrix of second derivatives.
    """
    k = len(x)
    h = rel_step * np.maximum(np.abs(x), 1e-3)
    cols = []
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        if grad0 is not None:
            cols.append((grad(x + e) - grad0) / h[i])
        else:
            cols.append((grad(x + e) - grad(x - e)) / (2 * h[i]))
    hess = np.column_stack(cols)
    return (hess + hess.T) / 2


class MLEModel:
    """Base of the fitted models: subclasses give names, starts and per-pattern log-likelihoods.

    Parameters are optimised on the log scale with L-BFGS-B over the compressed patterns;
    standard errors come from the inverse Hessian of the total log-likelihood.

    Attributes
    ----------
    params_ : pandas.Series
        Maximum-likelihood estimates, indexed by `param_names` (the model's time unit for
        rate parameters, e.g. alpha in weeks when T is in weeks).
    variance_matrix_ : pandas.DataFrame
        Asymptotic covariance of the estimates (inverse Hessian of the log-likelihood).
    standard_errors_ : pandas.Series
        Square roots of the diagonal of `variance_matrix_`.
    log_likelihood_ : float
        Log-likelihood at the optimum (natural log).
    converged_ : bool
        True when the optimiser reports success and no parameter sits at its bound.
    message_ : str
        The optimiser's message, or why the fit is not trusted.
    n_customers_ : int
        Customers fitted (sum of the weights).
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    model_name: ClassVar[str] = ""
    # BLAS threads while fitting (None: the library's default); see limited_blas_threads
    blas_threads: ClassVar[int | None] = 1
    has_gradient: ClassVar[bool] = False  # an analytic gradient (_loglik_grad or the total)
    has_hessian: ClassVar[bool] = False  # an analytic Hessian (_total_loglik_grad_hess)

    params_: pd.Series
    variance_matrix_: pd.DataFrame
    standard_errors_: pd.Series
    log_likelihood_: float
    converged_: bool
    message_: str
    n_customers_: int

    def _unidentified(self, patterns: Patterns) -> str | None:
        """Why these data cannot identify the parameters, in plain words (None: they can).

        Customers who all share one history say nothing about how customers differ, which
        is what every model here estimates.
        """
        if len(patterns.weights) == 1:
            return (f"all {patterns.n_customers:g} customers have the same history, so nothing "
                    "shows how customers differ; fit it on more, varied customers (a longer "
                    "window)")
        return None

    def _start(self, patterns: Patterns) -> np.ndarray:
        return np.ones(len(self.param_names))

    def _loglik(self, params: np.ndarray, patterns: Patterns) -> np.ndarray:
        raise NotImplementedError

    def _loglik_grad(self, params: np.ndarray, patterns: Patterns
                     ) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-pattern log-likelihood and its gradient (params x patterns), if analytic."""
        return None

    def _total_loglik_grad(self, params: np.ndarray, patterns: Patterns
                           ) -> tuple[float, np.ndarray]:
        """Log-likelihood and gradient summed over customers; models may sum smarter."""
        ll, grad = self._loglik_grad(params, patterns)  # type: ignore[misc]
        return float(patterns.weights @ ll), grad @ patterns.weights

    def _total_ll(self, params: np.ndarray, patterns: Patterns) -> float:
        """Log-likelihood summed over customers (-inf where it is not finite)."""
        if self.has_gradient:
            total = self._total_loglik_grad(params, patterns)[0]
        else:
            total = float(np.dot(patterns.weights, self._loglik(params, patterns)))
        return total if np.isfinite(total) else -np.inf

    def _fit_patterns(self, patterns: Patterns) -> MLEModel:
        """Maximise the likelihood of the patterns with BLAS limited to `blas_threads`."""
        with limited_blas_threads(self.blas_threads):
            return self._maximise(patterns)

    def _maximise(self, patterns: Patterns, x0: np.ndarray | None = None,
                  sample_size: int | None = None) -> MLEModel:
        """Maximum likelihood in three steps, each exact for what it is used for.

        1. L-BFGS-B from the model's start on the patterns, or, above `WARM_START_PATTERNS`
           patterns, on a subsample standing for them (`Patterns.subsample`): only a start;
        2. on all patterns, Newton's method with the analytic Hessian where the model has
           one (quadratic convergence from that start: two or three passes over the data
           instead of some forty), else L-BFGS-B again;
        3. standard errors from the Hessian at the optimum (analytic, or differences of the
           analytic gradient, or of the likelihood).
        """
        n = patterns.n_customers
        if n < len(self.param_names) + 1:
            raise ModelError(f"{self.model_name}: {n:g} customer(s) are too few to fit "
                             f"{len(self.param_names)} parameters; use more customers (a longer "
                             "window) or a model with fewer parameters")
        why = self._unidentified(patterns)
        if why:  # the optimiser would "converge" on meaningless numbers: say so instead
            raise ModelError(f"{self.model_name} cannot be fitted: {why}")
        if x0 is None:
            x0 = self._to_u(self._start(patterns))
        large = len(patterns.weights) > WARM_START_PATTERNS
        sample = patterns.subsample(sample_size or WARM_START_SIZE) if large else patterns
        # on a subsample, a start only (Newton or L-BFGS-B on all patterns follows): looser
        first = self._quasi_newton(sample, x0, start_only=large)
        found = None
        if self._analytic_hessian():
            found = self._newton(patterns, first.logp)
        elif large and self.has_gradient:  # Newton with the subsample's Hessian to begin with
            p = self._from_u(first.logp)
            with np.errstate(all="ignore"):
                hess0 = gradient_hessian(lambda q: self._total_loglik_grad(q, sample)[1], p,
                                         grad0=first.grad)
            found = self._newton(patterns, first.logp, hess0 if np.all(np.isfinite(hess0))
                                 else None)
        if found is None:
            found = self._quasi_newton(patterns, first.logp) if large else first
        self._record(found, patterns)
        return self

    def _linear(self) -> np.ndarray:
        """Which parameters are optimised as they are (covariate coefficients, named
        ``role:column``); the others are positive and optimised on the log scale."""
        return np.array([":" in name for name in self.param_names], dtype=bool)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the optimisation variables: +-20 on the log scale, +-50 for
        coefficients."""
        edge = np.where(self._linear(), 50.0, 20.0)
        return -edge, edge

    def _to_u(self, params: np.ndarray) -> np.ndarray:
        """Optimisation variables of parameters: log p, or p itself for coefficients."""
        p = np.asarray(params, dtype=float)
        return np.where(self._linear(), p, np.log(np.where(self._linear(), 1.0, p)))

    def _from_u(self, u: np.ndarray) -> np.ndarray:
        """Parameters of optimisation variables (the inverse of `_to_u`)."""
        linear = self._linear()
        return np.where(linear, u, np.exp(np.where(linear, 0.0, u)))

    def _dp_du(self, params: np.ndarray) -> np.ndarray:
        """d parameter / d optimisation variable: p on the log scale, 1 for coefficients."""
        return np.where(self._linear(), 1.0, params)

    def _analytic_hessian(self) -> bool:
        """Whether this fit has an analytic Hessian (the model's, without covariates)."""
        return self.has_hessian and not self._linear().any()

    def _quasi_newton(self, patterns: Patterns, x0: np.ndarray, start_only: bool = False
                      ) -> _Optimum:
        """L-BFGS-B on the log parameters from x0 (the gradient analytic where the model has
        one), with the optimiser's last evaluation kept for the Hessian. `start_only`: the
        result only starts Newton's method, so the mean log-likelihood need not settle
        beyond 1e-11 relative."""
        n = patterns.n_customers
        analytic = self.has_gradient

        def objective(logp: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                value = -self._total_ll(self._from_u(logp), patterns) / n
            return value if np.isfinite(value) else 1e300

        last: dict = {}  # the optimiser's final evaluation is reused for the Hessian

        def objective_grad(logp: np.ndarray) -> tuple[float, np.ndarray]:
            p = self._from_u(logp)
            with np.errstate(all="ignore"):
                ll, grad = self._total_loglik_grad(p, patterns)
                last.update(logp=logp.copy(), ll=ll, grad=grad)
                value = -ll / n
                g = -grad * self._dp_du(p) / n  # chain rule for log parameters
            if not (np.isfinite(value) and np.all(np.isfinite(g))):
                return 1e300, np.zeros_like(logp)
            return value, g

        res = minimize(objective_grad if analytic else objective, x0, jac=analytic,
                       method="L-BFGS-B", bounds=list(zip(*self._bounds(), strict=True)),
                       options={"maxiter": 2000, "ftol": 1e-11 if start_only else 1e-15,
                                "gtol": 1e-10})
        params = self._from_u(res.x)
        grad = None
        if analytic:
            if np.array_equal(last.get("logp"), res.x):
                ll, grad = last["ll"], last["grad"]
            else:
                with np.errstate(all="ignore"):
                    ll, grad = self._total_loglik_grad(params, patterns)
        else:
            ll = self._total_ll(params, patterns)
        reason = str(res.message).removeprefix("ABNORMAL:").strip(" :") or "no reason given"
        return _Optimum(res.x, float(ll), grad, None, reason)

    def _total_loglik_grad_hess(self, params: np.ndarray, patterns: Patterns
                                ) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient and Hessian summed over customers (models with
        `has_hessian`)."""
        raise NotImplementedError

    def _newton(self, patterns: Patterns, x0: np.ndarray, hess0: np.ndarray | None = None,
                max_steps: int = 30) -> _Optimum | None:
        """Newton's method on the log parameters from x0, halving a step that lowers the
        likelihood; None where it cannot go on (a Hessian that is not negative definite, no
        step that helps), and the caller falls back to L-BFGS-B.

        In u = log p the gradient is g p and the Hessian p_i p_j H_ij + [i = j] g_i p_i.
        H is the model's analytic Hessian (`has_hessian`); otherwise `hess0` (the Hessian of
        the subsample's fit, which estimates the full one) until the gradient is small, then
        differences of the analytic gradient there, kept to the end and reported for the
        standard errors (taken that close to the optimum, they agree with the Hessian at it
        to the digits standard errors need). The iteration stops when the largest gradient
        of the mean log-likelihood in u is below `NEWTON_GRADIENT`.
        """
        n = patterns.n_customers
        analytic = self._analytic_hessian()
        low, high = self._bounds()
        linear = self._linear()

        def evaluate(logp: np.ndarray):
            with np.errstate(all="ignore"):
                if analytic:
                    ll, g, h = self._total_loglik_grad_hess(self._from_u(logp), patterns)
                else:
                    (ll, g), h = self._total_loglik_grad(self._from_u(logp), patterns), None
            ok = np.isfinite(ll) and np.all(np.isfinite(g)) and (
                h is None or np.all(np.isfinite(h)))
            return (ll, g, h) if ok else None

        def differenced(p: np.ndarray, g: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return gradient_hessian(lambda q: self._total_loglik_grad(q, patterns)[1], p,
                                        grad0=g)

        logp = np.clip(np.asarray(x0, dtype=float), low, high)
        now = evaluate(logp)
        if now is None:
            return None
        estimate, exact = hess0, False
        for step_number in range(max_steps):
            ll, g, h = now
            p = self._from_u(logp)
            dp = self._dp_du(p)
            g_u = g * dp
            largest = np.max(np.abs(g_u)) / n
            if not analytic:
                # the subsample's Hessian for the first steps; differences of the gradient
                # once close, or when the estimate makes slow progress
                if not exact and (estimate is None or largest <= DIFFERENCED_HESSIAN_AT
                                  or step_number >= 3):
                    estimate, exact = differenced(p, g), True
                h = estimate
            if largest <= NEWTON_GRADIENT:
                return _Optimum(logp, ll, g, h, "Newton's method")
            h_u = h * np.outer(dp, dp) + np.diag(np.where(linear, 0.0, g_u))
            try:
                np.linalg.cholesky(-h_u)  # an ascent step needs -H positive definite
                step = np.linalg.solve(-h_u, g_u)
            except np.linalg.LinAlgError:
                if analytic or exact:
                    return None
                estimate, exact = differenced(p, g), True
                continue
            for _ in range(40):
                trial = np.clip(logp + step, low, high)
                after = evaluate(trial)
                if after is not None and after[0] >= ll - 1e-13 * abs(ll):
                    break
                step = step / 2
            else:
                return None
            if np.array_equal(trial, logp):
                return None
            logp, now = trial, after
        return None

    def _record(self, found: _Optimum, patterns: Patterns) -> None:
        """Set params_, log_likelihood_, convergence, standard errors from an optimum."""
        n = patterns.n_customers
        params = self._from_u(found.logp)
        ll = found.ll
        if not np.isfinite(ll):
            raise ModelError(f"{self.model_name}: the likelihood is not finite at the optimum; "
                             "check the input data")
        low, high = self._bounds()
        on_bound = bool(np.any((found.logp <= low + 0.01) | (found.logp >= high - 0.01)))
        self.params_ = pd.Series(params, index=list(self.param_names), name=self.model_name)
        self.log_likelihood_ = ll
        # converged = at an optimum: the gradient of the mean log-likelihood in the log
        # parameters vanishes (to CONVERGED_GRADIENT) inside the bounds. scipy's own flag
        # also fails when rounding stops the line search *at* the optimum ("ABNORMAL")
        if found.grad is not None:
            gradient = found.grad * self._dp_du(params) / n
        else:
            def objective(logp: np.ndarray) -> float:
                with np.errstate(all="ignore"):
                    value = -self._total_ll(self._from_u(logp), patterns) / n
                return value if np.isfinite(value) else 1e300
            gradient = _central_gradient(objective, found.logp)
        largest = float(np.max(np.abs(gradient))) if np.all(np.isfinite(gradient)) else np.inf
        self.gradient_ = largest
        self.converged_ = largest <= CONVERGED_GRADIENT and not on_bound
        if on_bound:
            self.message_ = ("a parameter ran to its bound: the data do not identify the model; "
                             "use a simpler model (e.g. NBD) or a longer observation window")
        elif self.converged_:
            self.message_ = f"converged: largest gradient {largest:.1e} at the optimum"
        else:
            self.message_ = (f"stopped before reaching an optimum (largest gradient "
                             f"{largest:.1e}; optimiser: {found.message}); the parameters are "
                             "not reliable: fit more customers or a longer window, or another "
                             "model")
        self.n_customers_ = int(round(n))
        with np.errstate(all="ignore"):
            if found.hess is not None:
                hess = -found.hess
            elif found.grad is not None:
                hess = gradient_hessian(
                    lambda p: -self._total_loglik_grad(p, patterns)[1], params, grad0=-found.grad)
            else:
                hess = numeric_hessian(lambda p: -self._total_ll(p, patterns), params)
            try:
                cov = np.linalg.inv(hess)
            except np.linalg.LinAlgError:
                cov = np.full((len(params), len(params)), np.nan)
            se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        names = list(self.param_names)
        self.variance_matrix_ = pd.DataFrame(cov, index=names, columns=names)
        self.standard_errors_ = pd.Series(se, index=names)

    def log_variance_matrix(self) -> np.ndarray:
        """Covariance of the log-parameters by the delta method: V / (p p^T).

        Intervals draw from N(log p, this): positive parameters stay positive.

        Returns
        -------
        numpy.ndarray
            k x k covariance of log(params_).
        """
        p = self._check_fitted()
        if self._linear().any():
            raise ModelError(f"{self.model_name} with covariates has no intervals from "
                             "parameter draws yet; fit it without covariates for intervals")
        if not hasattr(self, "variance_matrix_"):
            raise ModelError(f"{self.model_name} has no variance matrix (parameters were set, "
                             "not fitted)")
        return self.variance_matrix_.to_numpy() / np.outer(p, p)

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """Wald 95 % intervals of the parameters: estimate -/+ 1.96 standard errors.

        Returns
        -------
        pandas.DataFrame
            One row per parameter, columns ``lower 95% bound`` and ``upper 95% bound``
            (lifetimes' names), in the parameters' own units.
        """
        self._check_fitted()
        half = Z_95 * self.standard_errors_
        return pd.DataFrame({"lower 95% bound": self.params_ - half,
                             "upper 95% bound": self.params_ + half})

    @property
    def n_params(self) -> int:
        """Number of model parameters."""
        return len(self.param_names)

    @property
    def aic(self) -> float:
        """Akaike information criterion, 2k - 2 log L."""
        return 2 * self.n_params - 2 * self.log_likelihood_

    @property
    def bic(self) -> float:
        """Bayesian information criterion, k log(n customers) - 2 log L."""
        return self.n_params * np.log(self.n_customers_) - 2 * self.log_likelihood_

    def __repr__(self) -> str:
        """``<xlvalue.BetaGeoModel: fitted with 2357 subjects, a: 0.79, alpha: 4.41, ...>``,
        lifetimes' form (parameters sorted by name, two decimals)."""
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"<xlvalue.{name}>"
        subjects = (f" fitted with {self.n_customers_:d} subjects,"
                    if hasattr(self, "n_customers_") else "")
        params = ", ".join(f"{k}: {v:.2f}" for k, v in sorted(self.params_.items()))
        return f"<xlvalue.{name}:{subjects} {params}>"

    def _check_fitted(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise ModelError(f"{self.model_name} is not fitted yet")
        return self.params_.to_numpy()

    @property
    def summary(self) -> pd.DataFrame:
        """The fitted parameters as lifetimes' ``summary`` shows them.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name, columns ``coef`` (estimate), ``se(coef)`` (standard
            error from the inverse Hessian of the log-likelihood), ``lower 95% bound`` and
            ``upper 95% bound`` (Wald intervals, ``coef -/+ 1.96 se``).
        """
        ci = self.confidence_intervals_
        return pd.DataFrame({"coef": self.params_, "se(coef)": self.standard_errors_,
                             "lower 95% bound": ci["lower 95% bound"],
                             "upper 95% bound": ci["upper 95% bound"]})

    def fit_report(self) -> pd.DataFrame:
        """Parameters with standard errors, then log-likelihood, AIC, BIC, convergence: the
        long table of the workbook's models block and the XV_*_FIT functions.

        Returns
        -------
        pandas.DataFrame
            Columns ``model``, ``parameter``, ``estimate``, ``std_error``; the rows after the
            parameters carry no standard error (NaN).
        """
        self._check_fitted()
        rows = [(self.model_name, name, float(self.params_[name]),
                 float(self.standard_errors_[name])) for name in self.param_names]
        rows += [(self.model_name, "log_likelihood", self.log_likelihood_, np.nan),
                 (self.model_name, "AIC", self.aic, np.nan),
                 (self.model_name, "BIC", self.bic, np.nan),
                 (self.model_name, "customers", float(self.n_customers_), np.nan),
                 (self.model_name, "converged", float(self.converged_), np.nan)]
        return pd.DataFrame(rows, columns=["model", "parameter", "estimate", "std_error"])


class RecencyModel(MLEModel):
    """Base of the purchase models fitted on (frequency, recency, T): BG/NBD, MBG/NBD,
    Pareto/NBD and the NBD.

    Models that name the parameters their covariates scale (`covariate_scales`) also fit
    static covariates (see xlvalue.analytics.models.covariates): the coefficients join
    `params_` as ``purchase:<column>`` and ``dropout:<column>``.
    """

    # the parameters static covariates scale by exp(-g . z): (purchase, dropout); None: none
    covariate_scales: ClassVar[tuple[str | None, str | None]] = (None, None)
    covariates_: Covariates = Covariates()  # the columns of the last fit (none by default)

    def _unidentified(self, patterns: Patterns) -> str | None:
        x, t = patterns.columns[0], patterns.columns[2]
        if not np.any(t > 0):
            return ("every customer was first seen on the last day of the window (T = 0), so "
                    "there was no time to observe purchases; move AsOfDate later or use a "
                    "longer log")
        if not np.any(x > 0):
            return ("no customer made a repeat purchase, so the model cannot tell how often "
                    "customers buy or when they stop; use a longer window, or more customers")
        return super()._unidentified(patterns)

    def fit(self, frequency, recency, T, weights=None, purchase_covariates=None,
            dropout_covariates=None):
        """Fit on repeat purchases, recency and age; identical customers are fitted once.

        Parameters
        ----------
        frequency : array_like
            Repeat purchases x per customer (whole numbers >= 0).
        recency : array_like
            Time of the last purchase since the first, t_x (the model's time unit, e.g. weeks;
            0 when x = 0).
        T : array_like
            Time since the first purchase (same unit; >= recency).
        weights : array_like, optional
            Customers each row stands for (default 1).
        purchase_covariates, dropout_covariates : pandas.DataFrame, optional
            Static covariates, one row per customer (same order), one numeric column each:
            alpha_i = alpha0 exp(-g_p . z_i) and the dropout scale (beta for Pareto/NBD, b for
            BG/NBD and MBG/NBD) times exp(-g_d . z_i). A positive coefficient means more
            purchases, or an earlier end. The coefficients join `params_` as
            ``purchase:<column>`` and ``dropout:<column>``, with standard errors.

        Returns
        -------
        self
            The fitted model (`params_`, `variance_matrix_`, `log_likelihood_`, ...).

        Raises
        ------
        ModelError
            Input that is not a valid (x, t_x, T) summary, with the rows named, too few
            customers, or covariates the model does not take or that are not numbers.
        """
        x, tx, t = check_rfm_arrays(frequency, recency, T)
        names_p, z_p = covariate_matrix(purchase_covariates, len(x), "purchase")
        names_d, z_d = covariate_matrix(dropout_covariates, len(x), "dropout")
        self.__dict__.pop("param_names", None)  # the class's names unless covariates follow
        self.covariates_ = Covariates()
        if not (names_p or names_d):
            return self._fit_patterns(compress(x, tx, t, weights=weights))
        for role, names, scale in zip(ROLES, (names_p, names_d), self.covariate_scales,
                                      strict=True):
            if names and scale is None:
                raise ModelError(f"{self.model_name} takes no {role} covariates")
        # start: the fit without covariates of a subsample (a start needs no more), every
        # coefficient 0 (all customers alike)
        plain = type(self)()._fit_patterns(compress(x, tx, t, weights=weights)
                                           .subsample(COVARIATE_START_SIZE))
        self.covariates_ = Covariates(names_p, names_d)
        self.param_names = type(self).param_names + self.covariates_.names
        patterns = compress(x, tx, t, *z_p.T, *z_d.T, weights=weights)
        x0 = np.concatenate([np.log(plain.params_.to_numpy()),
                             np.zeros(len(names_p) + len(names_d))])
        with limited_blas_threads(self.blas_threads):
            return self._maximise(patterns, x0)

    def _pattern_loglik_grad(self, values: list, x: np.ndarray, tx: np.ndarray, t: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Per-customer log-likelihood and gradient in the model's own parameters, each
        possibly one value per customer (models with `covariate_scales`)."""
        raise NotImplementedError

    def _covariate_loglik_grad(self, params: np.ndarray, patterns: Patterns
                               ) -> tuple[float, np.ndarray]:
        """Log-likelihood and gradient with covariates, summed over the patterns.

        The scaled parameter of customer i is p_i = p0 exp(-g . z_i), so d LL / d p0 is
        sum_i dLL_i/dp_i p_i / p0 and d LL / d g = -sum_i dLL_i/dp_i p_i z_i.
        """
        base = len(type(self).param_names)
        values, scaled = self._scaled_values(params, patterns.columns[3:])
        x, tx, t = patterns.columns[:3]
        ll, g = self._pattern_loglik_grad(values, x, tx, t)
        w = patterns.weights
        grad = np.empty(len(params))
        grad[:base] = g @ w
        for index, z, block in scaled:
            share = w * g[index] * values[index]  # weight x dLL/dp_i x p_i
            grad[index] = share.sum() / params[index]
            grad[block] = -(z.T @ share)
        return float(w @ ll), grad

    def _scaled_values(self, params: np.ndarray, columns) -> tuple[list, list]:
        """The model's parameters with the covariate-scaled ones as per-customer arrays, and
        (parameter index, covariate matrix, coefficient slice) of each scaled one."""
        names = type(self).param_names
        base = len(names)
        values = list(params[:base])
        scaled = []
        start = base
        for role_columns, scale in zip((self.covariates_.purchase, self.covariates_.dropout),
                                       self.covariate_scales, strict=True):
            k = len(role_columns)
            if not k:
                continue
            offset = start - base
            z = np.column_stack(columns[offset:offset + k])
            block = slice(start, start + k)
            index = names.index(scale)
            values[index] = params[index] * np.exp(-(z @ params[block]))
            scaled.append((index, z, block))
            start += k
        return values, scaled

    def _customer_params(self, shape: tuple[int, ...], purchase_covariates=None,
                         dropout_covariates=None) -> list:
        """The fitted parameters for customers whose inputs broadcast to `shape` (one frame
        row per element): scalars, and with covariates each scaled parameter as an array of
        that shape from the given frames.

        Raises
        ------
        ModelError
            Frames missing for a model fitted with covariates, or given to one without.
        """
        params = self._check_fitted()
        if not self.covariates_ and purchase_covariates is None and dropout_covariates is None:
            return list(params)
        n = int(np.prod(shape))
        z_p, z_d = self.covariates_.matrices(n, purchase_covariates, dropout_covariates)
        columns = [*z_p.T, *z_d.T]
        return [np.reshape(v, shape) if np.ndim(v) else v
                for v in self._scaled_values(params, columns)[0]]

    @staticmethod
    def mean_rate(patterns: Patterns) -> float:
        """Average purchase rate x / T over customers (for starting values).

        Parameters
        ----------
        patterns : Patterns
            Compressed (x, t_x, T) rows.

        Returns
        -------
        float
            Purchases per time unit (at least 1e-3).
        """
        x, t = patterns.columns[0], patterns.columns[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = np.where(t > 0, x / np.where(t > 0, t, 1), 0.0)
        return max(float(np.average(rates, weights=patterns.weights)), 1e-3)

    @checks_inputs
    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T,
                                                             purchase_covariates=None,
                                                             dropout_covariates=None
                                                             ) -> np.ndarray:
        """Expected purchases in the next t time units given each customer's history.

        Parameters
        ----------
        t : float or array_like
            Horizon (the model's time unit).
        frequency, recency, T : array_like
            Repeat purchases x, recency t_x and age T (time unit of the fit).
        purchase_covariates, dropout_covariates : pandas.DataFrame, optional
            For a model fitted with covariates: the customers' covariates (the fitted
            columns, one row per customer).

        Returns
        -------
        numpy.ndarray
            E[Y(t) | x, t_x, T] per customer (purchases): the model's expected purchases of a
            customer alive at T times P(alive), the factorisation FHL 2005 eq. 10 and
            Schmittlein et al. 1987 share (the intervals evaluate the two factors apart).
        """
        covariates = {"purchase_covariates": purchase_covariates,
                      "dropout_covariates": dropout_covariates}
        return (self.expected_purchases_if_alive(t, frequency, T, **covariates)
                * self.conditional_probability_alive(frequency, recency, T, **covariates))

    def expected_purchases_if_alive(self, t, frequency, T, purchase_covariates=None,
                                    dropout_covariates=None) -> np.ndarray:
        """E[Y(t) | x, T, alive at T] (each model's closed form; see the subclasses)."""
        raise NotImplementedError

    @checks_inputs
    def conditional_probability_alive(self, frequency, recency, T, purchase_covariates=None,
                                      dropout_covariates=None) -> np.ndarray:
        """P(alive at T | x, t_x, T) (each model's closed form; see the subclasses)."""
        raise NotImplementedError


def check_rfm_arrays(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the (frequency, recency, T) inputs of the BTYD models.

    Parameters
    ----------
    frequency, recency, T : array_like
        Repeat purchases, recency and age per customer.

    Returns
    -------
    tuple of 3 numpy.ndarray
        The three columns as float arrays.

    Raises
    ------
    ModelError
        Naming the rows that are not finite, not whole, negative, or with recency > T.
    """
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t = np.asarray(T, dtype=float)
    if not (x.shape == tx.shape == t.shape):
        raise ModelError("frequency, recency and T must have the same length")
    problems = []
    for name, arr in (("frequency", x), ("recency", tx), ("T", t)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            problems.append(f"{name} is not a finite number in row(s) {rows_text(bad)}")
    bad = np.flatnonzero((x < 0) | (np.floor(x) != x))
    if bad.size:
        problems.append(f"frequency must be a whole number >= 0; row(s) {rows_text(bad)}")
    bad = np.flatnonzero(tx > t + 1e-9)
    if bad.size:
        problems.append(f"recency exceeds T in row(s) {rows_text(bad)}")
    bad = np.flatnonzero((tx < 0) | ((x == 0) & (tx != 0)))
    if bad.size:
        problems.append(f"recency must be >= 0, and 0 when frequency is 0; row(s) {rows_text(bad)}")
    bad = np.flatnonzero(t < 0)
    if bad.size:
        problems.append(f"T must be >= 0; row(s) {rows_text(bad)}")
    if problems:
        raise ModelError("; ".join(problems))
    return x, tx, t


def rows_text(idx: np.ndarray, limit: int = 5) -> str:
    """Rows (0-based indexes) as 1-based numbers for a message: "2, 5, 9 and 12 more"."""
    shown = ", ".join(str(i + 1) for i in idx[:limit])
    return shown + (f" and {idx.size - limit} more" if idx.size > limit else "")
