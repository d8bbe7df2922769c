"""Per-customer intervals for P(alive), expected purchases and CLV from parameter uncertainty.

The fitted log-parameters are asymptotically normal with the covariance the fit already has
(the inverse Hessian, carried to the log scale by the delta method). We draw parameter
vectors from that normal, evaluate each customer's quantities at every draw and report the
equal-tailed quantiles (default 90 %: the 5th and 95th percentiles of the draws) at the
Weibull positions (d + 1) q of the d sorted draws: a value exchangeable with the draws falls
between them with probability exactly `level`, where numpy's default rule (positions
(d - 1) q + 1) gives (d - 1) level / (d + 1): 89.1 % for 90 % at 200 draws, 81.4 % at 20.
Measured coverage of the true values on simulated data: benchmarks/bench_coverage.py and
docs/models.md §M1.

Cost: customers are compressed to distinct (x, t_x, T) patterns, and the purchase models'
expectation splits into P(alive | x, t_x, T) times E[purchases | x, T, alive], whose
hypergeometric terms are evaluated once per distinct (x, T) pair. Customers are sorted by
(pair, pattern) and taken in blocks, so every array is bounded (draws x block) and each
block touches few patterns. BG/NBD, MBG/NBD, NBD and gamma-gamma evaluate all draws at once
(parameter arrays broadcast against the data); Pareto/NBD, whose likelihood branches on its
parameters, takes the draws one at a time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xlvalue.analytics.models import BetaGeoModel, GammaGammaModel, NBDModel
from xlvalue.analytics.models.base import compress
from xlvalue.errors import ModelError

__all__ = ["BLOCK_ELEMENTS", "CustomerIntervals", "DEFAULT_DRAWS", "DEFAULT_LEVEL", "IntervalOptions",
           "MAX_LOG_SE", "MAX_NODES", "RateWeights", "at_draws", "customer_intervals", "parameter_draws",
           "population_interval", "total_purchases_interval", "valid_spend"]

DEFAULT_LEVEL = 0.9
DEFAULT_DRAWS = 200
MAX_LOG_SE = 5.0  # beyond a factor e^5 at one standard error, intervals say nothing useful
BLOCK_ELEMENTS = 4_000_000  # draws x customers x periods per block: ~32 MB per array
_VECTORISED = (BetaGeoModel, NBDModel, GammaGammaModel)  # formulas broadcast over draws


@dataclass(frozen=True)
class IntervalOptions:
    """Interval level, number of parameter draws and the random seed (fixed, so a run is
    reproducible).

    Attributes
    ----------
    level : float, default 0.9
        Two-sided coverage (fraction, 0..1 exclusive).
    draws : int, default 200
        Parameter draws (>= 20; levels whose tails need more get more, see `n_draws`).
    seed : int
        Seed of numpy's default generator.
    """

    level: float = DEFAULT_LEVEL
    draws: int = DEFAULT_DRAWS
    seed: int = 20_101

    def __post_init__(self):
        if not 0 < self.level < 1:
            raise ModelError(f"interval level must be between 0 and 1 (exclusive), got {self.level}")
        if int(self.draws) != self.draws or self.draws < 20:
            raise ModelError(f"interval draws must be a whole number >= 20, got {self.draws}")

    @property
    def quantiles(self) -> tuple[float, float]:
        """The lower and upper quantile levels, (1 - level) / 2 and 1 - (1 - level) / 2."""
        tail = (1 - self.level) / 2
        return tail, 1 - tail

    @property
    def n_draws(self) -> int:
        """The draws taken: `draws`, or more when the level's tails need them.

        The lower bound sits at position (d + 1) (1 - level) / 2 of the d sorted draws, so it
        is a draw only when d >= 2 / (1 - level) - 1: 19 at 90 %, 199 at 99 %, 1,999 at
        99.9 %. Fewer would clip the bounds to the extreme draws and cover less than `level`.

        Returns
        -------
        int
        """
        need = int(np.ceil(2 / (1 - self.level) - 1 - 1e-9))
        return max(int(self.draws), need)


def parameter_draws(model, n_draws: int, rng: np.random.Generator,
                    valid: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Parameter vectors (n_draws x k) from N(log params, log-scale covariance), exponentiated.

    `valid` (draws -> bool mask) rejects draws where a quantity does not exist (gamma-gamma's
    q <= 1); rejected draws are replaced by fresh ones.

    Parameters
    ----------
    model : fitted model
        With `params_` and `log_variance_matrix`.
    n_draws : int
        Number of draws.
    rng : numpy.random.Generator
        Random source.
    valid : callable, optional
        Mask of the acceptable draws.

    Returns
    -------
    numpy.ndarray
        n_draws x k parameter vectors (the parameters' units).

    Raises
    ------
    ModelError
        A singular Hessian, or too few valid draws.
    """
    p = np.asarray(model.params_, dtype=float)
    cov = model.log_variance_matrix()
    if not np.all(np.isfinite(cov)):
        raise ModelError(f"{model.model_name}: the fit has no finite variance matrix (the Hessian "
                         "is singular), so no intervals")
    spread = float(np.sqrt(np.max(np.diag(cov)))) if len(p) else 0.0
    if spread > MAX_LOG_SE:
        raise ModelError(f"{model.model_name}: the data leave the parameters too uncertain for "
                         f"intervals (a log-scale standard error of {spread:.3g}, the parameter "
                         f"uncertain by a factor of {np.exp(min(spread, 700)):.3g})")
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    root = v * np.sqrt(np.clip(w, 0.0, None))
    out = np.empty((0, len(p)))
    for _ in range(20):
        z = rng.standard_normal((n_draws, len(p)))
        with np.errstate(over="ignore"):
            new = np.exp(np.log(p) + z @ root.T)
        new = new[np.all(np.isfinite(new) & (new > 0), axis=1)]
        if valid is not None:
            new = new[valid(new)]
        out = np.vstack([out, new])
        if len(out) >= n_draws:
            return out[:n_draws]
    raise ModelError(f"{model.model_name}: too few parameter draws give finite predictions "
                     f"({len(out)} of {20 * n_draws}); the fit is too uncertain for intervals")


def _view(model, params: np.ndarray):
    """A copy of `model` whose parameters are `params` (k x ...: arrays broadcast per draw)."""
    m = copy.copy(model)
    m._check_fitted = lambda: params  # type: ignore[method-assign]
    return m


def at_draws(model, draws: np.ndarray, fn: Callable, ndim: int = 2,
             draws_last: bool = False) -> np.ndarray:
    """fn(model at each draw), stacked on a leading (draws_last: trailing) draws axis.

    The data fn passes have `ndim` dimensions, the first (draws_last: the last) of length 1:
    vectorised models see parameters shaped (draws, 1, ...) ((..., 1, draws)) that take the
    place of that axis; the other models are called once per draw.

    Parameters
    ----------
    model : fitted model
        The model whose parameters are replaced by each draw.
    draws : numpy.ndarray
        draws x k parameter vectors.
    fn : callable
        Quantity of a model, e.g. ``lambda m: m.conditional_probability_alive(x, tx, T)``.
    ndim : int, default 2
        Dimensions of the data fn passes.
    draws_last : bool, default False
        Put the draws on the last axis instead of the first.

    Returns
    -------
    numpy.ndarray
        fn's values with a draws axis.
    """
    k, d = draws.shape[1], draws.shape[0]
    if isinstance(model, _VECTORISED):
        shape = (k,) + ((1,) * (ndim - 1) + (d,) if draws_last else (d,) + (1,) * (ndim - 1))
        return np.asarray(fn(_view(model, draws.T.reshape(shape))))
    if draws_last:
        return np.stack([np.asarray(fn(_view(model, p)))[..., 0] for p in draws], axis=-1)
    return np.stack([np.asarray(fn(_view(model, p)))[0] for p in draws])


def valid_spend(draws: np.ndarray) -> np.ndarray:
    """Gamma-gamma draws with a finite expected spend (q > 1).

    Parameters
    ----------
    draws : numpy.ndarray
        draws x 3 (p, q, gamma).

    Returns
    -------
    numpy.ndarray of bool
    """
    return draws[:, 1] > 1


@dataclass
class RateWeights:
    """Margin rate x discount factor per customer and forecast period, as scale[c] x
    table[group[c]]: customers sharing a margin-history group share a row of the table.

    Attributes
    ----------
    scale : numpy.ndarray
        Per customer, a factor (e.g. its last margin rate, fraction).
    group : numpy.ndarray of int
        Per customer, its row of `table`.
    table : numpy.ndarray
        groups x periods weights (rate path x discount factor).
    """

    scale: np.ndarray  # (customers,)
    group: np.ndarray  # (customers,) int rows of table
    table: np.ndarray  # (groups, periods)

    @classmethod
    def flat(cls, n: int, scale: float, factors: np.ndarray) -> RateWeights:
        """The same weights for everyone: scale x discount factors.

        Parameters
        ----------
        n : int
            Number of customers.
        scale : float
            Common factor (e.g. a margin rate, fraction).
        factors : numpy.ndarray
            Discount factor per period.

        Returns
        -------
        RateWeights
        """
        return cls(np.full(n, float(scale)), np.zeros(n, np.int64),
                   np.asarray(factors, dtype=float)[None, :])


@dataclass
class CustomerIntervals:
    """Lower and upper bounds per customer (NaN where a quantity is not asked for).

    Attributes
    ----------
    p_alive_low, p_alive_high : numpy.ndarray
        Bounds of P(alive) (probability).
    expected_purchases_low, expected_purchases_high : numpy.ndarray
        Bounds of the expected purchases over the horizon (count).
    clv_low, clv_high : numpy.ndarray
        Bounds of the CLV (currency).
    """

    p_alive_low: np.ndarray
    p_alive_high: np.ndarray
    expected_purchases_low: np.ndarray
    expected_purchases_high: np.ndarray
    clv_low: np.ndarray
    clv_high: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        """The bounds as named columns.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        return dict(self.__dict__)


def customer_intervals(model, frequency, recency, T, ends: np.ndarray,
                       options: IntervalOptions = IntervalOptions(),
                       spend_model: GammaGammaModel | None = None, monetary=None,
                       spend=None, weights: RateWeights | None = None,
                       fixed_cost=None) -> CustomerIntervals:
    """Interval bounds of P(alive), expected purchases up to ends[-1] and CLV per customer.

    Parameters
    ----------
    model : fitted purchase model (BG/NBD, MBG/NBD, Pareto/NBD, NBD)
        With `variance_matrix_`.
    frequency, recency, T : array_like
        Repeat purchases, recency and age (model time units).
    ends : numpy.ndarray
        Ends of the forecast periods (model time units, increasing); purchases are counted
        up to the last one.
    options : IntervalOptions
        Level, draws, seed.
    spend_model : GammaGammaModel, optional
        Fitted spend model with `variance_matrix_`; its draws enter CLV. Without it, CLV uses
        `spend` (fixed per customer).
    monetary : array_like, optional
        Mean repeat spend per customer (needed with `spend_model`).
    spend : array_like, optional
        Fixed expected spend per customer (without `spend_model`).
    weights : RateWeights, optional
        Margin rate x discount per period (default: discount-free, rate 1).
    fixed_cost : array_like, optional
        Per customer, discounted costs independent of purchases (marketing), subtracted.

    Returns
    -------
    CustomerIntervals
        clv_* are NaN when neither `spend_model` nor `spend` is given.
    """
    x, tx, t = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
    n = len(x)
    ends = np.asarray(ends, dtype=float)
    horizon = len(ends)
    rng = np.random.default_rng(options.seed)
    draws = parameter_draws(model, options.n_draws, rng)
    with_clv = spend_model is not None or spend is not None
    spend_draws = None
    if spend_model is not None:
        spend_draws = parameter_draws(spend_model, options.n_draws, rng, valid_spend)
    m = None if monetary is None else np.asarray(monetary, dtype=float).ravel()
    fixed = np.zeros(n) if fixed_cost is None else np.asarray(fixed_cost, dtype=float).ravel()
    w = weights if weights is not None else RateWeights.flat(n, 1.0, np.ones(horizon))
    out = CustomerIntervals(*(np.full(n, np.nan) for _ in range(6)))
    if n == 0:
        return out

    patterns = compress(x, tx, t)
    pairs = compress(*patterns.columns[::2])  # distinct (x, T) of the patterns
    order = np.lexsort((tx, t, x))  # blocks hold few x levels, (x, T) pairs and patterns
    block = max(256, BLOCK_ELEMENTS // (options.n_draws * max(horizon, 4)))
    with np.errstate(all="ignore"):  # far-out draws may overflow: their bounds come out NaN
        for lo in range(0, n, block):
            _interval_block(order[lo:lo + block], out, model, draws, spend_model, spend_draws,
                            patterns, pairs, x, m, spend, w, fixed, ends, options, with_clv)
    return out


def _interval_block(idx, out, model, draws, spend_model, spend_draws, patterns, pairs, x, m,
                    spend, w, fixed, ends, options, with_clv) -> None:
    """customer_intervals for the customers at idx (sorted so they share patterns)."""
    px, ptx, pt = patterns.columns
    pair_x, pair_t = pairs.columns
    pat, pat_inv = np.unique(patterns.inverse[idx], return_inverse=True)
    pair, pair_inv = np.unique(pairs.inverse[pat], return_inverse=True)
    bx, btx, bt = px[pat][None, :], ptx[pat][None, :], pt[pat][None, :]
    alive = at_draws(model, draws, lambda v, bx=bx, btx=btx, bt=bt:
                     v.conditional_probability_alive(bx, btx, bt))
    alive = np.ascontiguousarray(np.broadcast_to(alive, (len(draws), len(pat))).T)
    cum = _purchases_if_alive(model, draws, pair_x[pair], pair_t[pair], ends)  # (P, D, H)
    total = alive * cum[pair_inv, :, -1]  # (patterns, D)
    lo_q, hi_q = _quantiles(alive, options.quantiles)
    out.p_alive_low[idx], out.p_alive_high[idx] = lo_q[pat_inv], hi_q[pat_inv]
    lo_q, hi_q = _quantiles(total, options.quantiles)
    out.expected_purchases_low[idx] = lo_q[pat_inv]
    out.expected_purchases_high[idx] = hi_q[pat_inv]
    if not with_clv:
        return
    per_period = np.diff(cum, axis=2, prepend=0.0)  # (pairs, D, H)
    # weighted purchases per distinct (pair, margin group) of the block's customers
    combo = compress(pair_inv[pat_inv], w.group[idx])
    cp, cg = (c.astype(np.int64) for c in combo.columns)
    weighted = np.einsum("cdh,ch->cd", per_period[cp], w.table[cg])  # (combos, D)
    value = alive[pat_inv]  # (customers, D), a new array
    value *= weighted[combo.inverse]
    value *= w.scale[idx, None]
    if spend_draws is not None:
        cx, cm = x[idx][:, None], m[idx][:, None]
        value *= at_draws(spend_model, spend_draws, lambda v, cx=cx, cm=cm:
                          v.conditional_expected_average_profit(cx, cm), draws_last=True)
    else:
        value *= np.asarray(spend, dtype=float)[idx, None]
    value -= fixed[idx, None]
    out.clv_low[idx], out.clv_high[idx] = _quantiles(value, options.quantiles)


def _quantiles(values: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise quantiles of a rows x draws array at the Weibull positions (numpy's
    method="weibull": the (d + 1) q-th of the d sorted draws, interpolated), so that a value
    exchangeable with the draws lies between the two with probability q_high - q_low; a sort
    of contiguous rows is several times faster than np.quantile's partition here."""
    s = np.sort(values, axis=1)
    d = values.shape[1]
    out = []
    for level in q:
        h = min(max((d + 1) * level - 1, 0.0), d - 1.0)  # 0-based position
        i = min(int(np.floor(h)), d - 2)
        out.append(s[:, i] + (h - i) * (s[:, i + 1] - s[:, i]))
    return out[0], out[1]


MAX_NODES = 48  # Chebyshev nodes at most (long horizons relative to alpha need more)


def _purchases_if_alive(model, draws: np.ndarray, x: np.ndarray, T: np.ndarray,
                        ends: np.ndarray) -> np.ndarray:
    """E[purchases up to each end | x, T, alive] per (x, T) pair and draw: (pairs, D, H).

    BG/NBD and MBG/NBD depend on (x, T, t) only through x and w = log(1 + t / (alpha + T)),
    and are analytic in w within |Im w| < pi (the 2F1 branch point z = 1 lies at w = +-i pi
    + ...). So per draw and distinct x the model's own formula is evaluated at Chebyshev
    nodes in w (at T = 0, t = alpha (e^w - 1)) and interpolated (Clenshaw). The nodes are as
    many as the Bernstein ellipse reaching that strip needs for ~1e-11 (8 to 48; tested
    against the direct 2F1), and 2F1 is called for (x levels x nodes) instead of
    (pairs x periods) points per draw. Other models are evaluated directly.
    """
    d = len(draws)
    if not isinstance(model, BetaGeoModel):
        cum = at_draws(model, draws, lambda v: v.expected_purchases_if_alive(
            ends[None, None, :], x[None, :, None], T[None, :, None]), ndim=3)
        return np.ascontiguousarray(np.broadcast_to(cum, (d, len(x), len(ends))).transpose(1, 0, 2))
    alpha = draws[:, 1]
    w = np.log1p(ends[None, None, :] / (alpha[None, :, None] + T[:, None, None]))  # (P, D, H)
    wmax = np.log1p(ends[-1] / (alpha + T.min()))  # (D,)
    # Bernstein ellipse through the strip edge: y = i 2 pi / W in [-1, 1] coordinates
    beta = 2 * np.pi / float(wmax.max())
    rho = beta + np.sqrt(beta * beta + 1)
    n_nodes = int(np.clip(np.ceil(np.log(1e11) / np.log(rho)), 8, MAX_NODES))
    k = np.arange(n_nodes)
    theta = np.pi * (k + 0.5) / n_nodes
    nodes = wmax[:, None] * (1 + np.cos(theta))[None, :] / 2  # (D, N)
    levels, level_of = np.unique(x, return_inverse=True)
    t_nodes = (alpha[:, None] * np.expm1(nodes))[:, None, :]  # (D, 1, N) at T = 0
    f = at_draws(model, draws, lambda v: v.expected_purchases_if_alive(
        t_nodes, levels[None, :, None], 0.0), ndim=3)  # (D, X, N)
    coef = f @ (np.cos(np.outer(theta, k)) * (2.0 / n_nodes))  # (D, X, N)
    coef[..., 0] /= 2
    c = coef.transpose(1, 0, 2)[level_of]  # (P, D, N)
    y = w  # Clenshaw's recurrence in three buffers, no temporaries per term
    y *= (2 / wmax)[None, :, None]
    y -= 1
    y2 = 2 * y
    b1 = np.broadcast_to(c[:, :, -1, None], y.shape).copy()
    b2 = np.zeros_like(y)
    b0 = np.empty_like(y)
    for j in range(n_nodes - 2, 0, -1):
        np.multiply(y2, b1, out=b0)
        b0 -= b2
        b0 += c[:, :, j, None]
        b0, b1, b2 = b2, b0, b1
    b1 *= y
    b1 -= b2
    b1 += c[:, :, 0, None]
    return b1


def population_interval(model, fn: Callable, options: IntervalOptions = IntervalOptions()
                        ) -> tuple[float, float]:
    """Interval of a population-level total over the parameter draws.

    fn(model) returns one value per customer (data shaped (1, customers), see `at_draws`) and
    their sum is the quantity, e.g. the expected purchases of the whole customer base; the
    quantiles of the sum over the draws.

    Parameters
    ----------
    model : fitted model
        With `variance_matrix_`.
    fn : callable
        Per-customer quantity of a model.
    options : IntervalOptions
        Level, draws, seed.

    Returns
    -------
    tuple of 2 floats
        Lower and upper bounds (fn's unit).
    """
    rng = np.random.default_rng(options.seed)
    draws = parameter_draws(model, options.n_draws, rng)
    totals = at_draws(model, draws, fn).reshape(len(draws), -1).sum(axis=1)
    lo, hi = np.quantile(totals, options.quantiles, method="weibull")
    return float(lo), float(hi)


def total_purchases_interval(model, t: float, frequency, recency, T,
                             options: IntervalOptions = IntervalOptions()) -> tuple[float, float]:
    """Interval of the customer base's total expected purchases in the next t time units.

    The population-level quantity, the fast way `customer_intervals` takes: P(alive) per
    distinct pattern times the if-alive expectation per distinct (x, T) pair, per draw.

    Parameters
    ----------
    model : fitted purchase model
        With `variance_matrix_`.
    t : float
        Horizon (model time units).
    frequency, recency, T : array_like
        Repeat purchases, recency and age per customer (model time units).
    options : IntervalOptions
        Level, draws, seed.

    Returns
    -------
    tuple of 2 floats
        Lower and upper bounds (purchases).
    """
    x, tx, tt = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
    rng = np.random.default_rng(options.seed)
    draws = parameter_draws(model, options.n_draws, rng)
    patterns = compress(x, tx, tt)
    px, ptx, pt = patterns.columns
    pairs = compress(px, pt)
    with np.errstate(all="ignore"):
        alive = at_draws(model, draws, lambda v: v.conditional_probability_alive(
            px[None, :], ptx[None, :], pt[None, :]))  # (D, patterns)
        cum = _purchases_if_alive(model, draws, pairs.columns[0], pairs.columns[1],
                                  np.array([float(t)]))[:, :, 0]  # (pairs, D)
    totals = (alive * cum[pairs.inverse].T) @ patterns.weights
    lo, hi = np.quantile(totals, options.quantiles, method="weibull")
    return float(lo), float(hi)
