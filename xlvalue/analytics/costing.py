"""Activity-based costing in stages (METHODS.md section 8) and customer profitability.

Cost sits on named nodes (pools, activities, products, customer groups, customers). Each
stage moves the cost of its source nodes to targets in proportion to driver quantities:
cost_j = sum_i cost_i d_ij / sum_j' d_ij'. A stage is one sparse row-normalised matrix
product; nothing loops over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from xlvalue.errors import MAX_REPORTED, InputError, Problem, remainder

__all__ = ["REVENUE_BANDS", "Allocation", "allocate", "elasticity", "profitability",
           "revenue_per_marketing", "yes_flags"]

REVENUE_BANDS = ((100_000, np.inf, "> 100k"), (20_000, 100_000, "20k-100k"),
                 (10_000, 20_000, "10k-20k"), (-np.inf, 10_000, "< 10k"))


@dataclass
class Allocation:
    """Result of pushing pool costs through the stages.

    Attributes
    ----------
    final : pandas.Series
        Cost per final object (nodes never used as a source; currency).
    flows : pandas.DataFrame
        stage, from, to, amount (currency): every movement of cost.
    unallocated : pandas.Series
        Pools explicitly left unallocated (idle capacity; currency).
    total_input : float
        Cost of the pools allocated (currency).
    warnings : list of str
        Notes for the user (e.g. idle capacity left).
    """

    final: pd.Series  # cost per final object (nodes never used as a source)
    flows: pd.DataFrame  # stage, from, to, amount
    unallocated: pd.Series  # pools explicitly left unallocated (idle capacity)
    total_input: float
    warnings: list[str] = field(default_factory=list)


def yes_flags(values: pd.Series) -> np.ndarray:
    """Truthy flag cells (yes, y, true, 1, x; any case) as booleans.

    Parameters
    ----------
    values : pandas.Series
        Cells of a yes/no column.

    Returns
    -------
    numpy.ndarray of bool
    """
    return values.astype(str).str.strip().str.lower().isin(("yes", "y", "true", "1", "x")).to_numpy()


def _problem(msg: str, row: int | None = None, name: str = "drivers") -> Problem:
    return Problem(msg if row is None else f"row {row}: {msg}", name=name)


def allocate(pools: pd.DataFrame, drivers: pd.DataFrame, include: np.ndarray | None = None
             ) -> Allocation:
    """Allocate pool amounts through the driver stages (activity-based costing).

    Each stage moves the cost of its source nodes to targets in proportion to the driver
    quantities, cost_j = sum_i cost_i d_ij / sum_j' d_ij', as one sparse matrix product.

    Parameters
    ----------
    pools : pandas.DataFrame
        Pool, Stage, Amount (currency) and optionally Unallocated (yes/no).
    drivers : pandas.DataFrame
        Stage, From, To, Quantity (driver units, >= 0).
    include : numpy.ndarray of bool, optional
        Mask of the pools to allocate (e.g. incremental costs only).

    Returns
    -------
    Allocation

    Raises
    ------
    InputError
        Negative quantities, self-allocation, pools without drivers, drivers summing to zero,
        a cycle, or lost cost, with the rows named; each problem's `name` is the argument it
        is about ("pools" or "drivers"), which the caller turns into its own table's name.

    References
    ----------
    .. [1] Kaplan, R. S. and Cooper, R. (1998). Cost & Effect: Using Integrated Cost
       Systems to Drive Profitability and Performance. Harvard Business School Press.
    """
    problems: list[Problem] = []
    pools = pools.reset_index(drop=True)
    drivers = drivers.reset_index(drop=True)
    if include is not None:
        pools = pools[np.asarray(include, bool)].reset_index(drop=True)
    neg = np.flatnonzero(drivers["Quantity"].to_numpy() < 0)
    for i in neg[:MAX_REPORTED]:
        problems.append(_problem(f"driver quantity {drivers['Quantity'].iloc[i]:g} is negative",
                                 int(i) + 2))
    problems += remainder(min(neg.size, MAX_REPORTED), neg.size, "Quantity",
                          "the driver quantity is negative", name="drivers")
    idle = yes_flags(pools.get("Unallocated", pd.Series("", index=pools.index)))
    nodes = pd.Index(pd.unique(pd.concat([pools["Pool"].astype(str), drivers["From"].astype(str),
                                          drivers["To"].astype(str)], ignore_index=True)))
    n = len(nodes)
    cost = np.zeros(n)
    active = ~idle
    np.add.at(cost, nodes.get_indexer(pools.loc[active, "Pool"].astype(str)),
              pools.loc[active, "Amount"].to_numpy(dtype=float))
    stages = sorted(drivers["Stage"].unique())
    src_all = nodes.get_indexer(drivers["From"].astype(str))
    dst_all = nodes.get_indexer(drivers["To"].astype(str))
    qty_all = drivers["Quantity"].to_numpy(dtype=float)
    self_loop = np.flatnonzero(src_all == dst_all)
    for i in self_loop[:MAX_REPORTED]:
        problems.append(_problem(f"'{drivers['From'].iloc[i]}' allocates to itself", int(i) + 2))
    problems += remainder(min(self_loop.size, MAX_REPORTED), self_loop.size, "From",
                          "a node allocates to itself", name="drivers")
    # every pool must be moved by a driver of its own stage, unless left unallocated
    driven = pd.MultiIndex.from_arrays([drivers["Stage"].astype(float), drivers["From"].astype(str)])
    pool_keys = pd.MultiIndex.from_arrays([pools["Stage"].astype(float), pools["Pool"].astype(str)])
    orphan = np.flatnonzero(active & ~pool_keys.isin(driven))
    for i in orphan[:MAX_REPORTED]:
        problems.append(_problem(f"pool '{pools['Pool'].iloc[i]}' (stage {pools['Stage'].iloc[i]:g}) "
                                 "has no drivers; add drivers or mark it Unallocated",
                                 int(i) + 2, name="pools"))
    problems += remainder(min(orphan.size, MAX_REPORTED), orphan.size, "Pool",
                          "a pool has no drivers", name="pools")
    if problems:
        raise InputError(problems)
    flows = []
    used_as_source = np.zeros(n, bool)
    for stage in stages:
        rows = np.flatnonzero(drivers["Stage"].to_numpy() == stage)
        src, dst, qty = src_all[rows], dst_all[rows], qty_all[rows]
        totals = np.bincount(src, weights=qty, minlength=n)
        sources = np.unique(src)
        zero = sources[totals[sources] <= 0]
        for node in zero[:MAX_REPORTED]:
            problems.append(_problem(f"drivers of '{nodes[node]}' at stage {stage:g} sum to zero"))
        problems += remainder(min(zero.size, MAX_REPORTED), zero.size, "Quantity",
                              "a node's drivers sum to zero", name="drivers")
        if problems:
            raise InputError(problems)
        share = sparse.csr_matrix((qty / totals[src], (src, dst)), shape=(n, n))
        moving = np.zeros(n)
        moving[sources] = cost[sources]
        arrived = share.T @ moving
        cost[sources] = 0.0
        cost += arrived
        used_as_source[sources] = True
        flow = moving[src] * qty / totals[src]
        flows.append(pd.DataFrame({"stage": stage, "from": nodes[src], "to": nodes[dst],
                                   "amount": flow}))
    stuck = np.flatnonzero(used_as_source & (np.abs(cost) > 1e-9 * max(np.abs(cost).sum(), 1)))
    if stuck.size:
        names = ", ".join(f"'{nodes[i]}'" for i in stuck[:5]) + (
            f" and {stuck.size - 5} more" if stuck.size > 5 else "")
        raise InputError(Problem(f"cost arrives at {names} after the stage that allocates it: "
                                 "the driver graph has a cycle or stages out of order",
                                 name="drivers"))
    final = pd.Series(cost[~used_as_source], index=nodes[~used_as_source], name="cost")
    total_in = float(pools.loc[active, "Amount"].sum())
    if not np.isclose(final.sum(), total_in, rtol=1e-9, atol=1e-9):
        raise InputError(Problem(f"allocation lost cost: {final.sum():.6g} out of {total_in:.6g}"))
    unallocated = pools.loc[~active].set_index("Pool")["Amount"].astype(float)
    warnings = []
    if len(unallocated):
        warnings.append(f"{len(unallocated)} pool(s) left unallocated (idle capacity): "
                        f"{unallocated.sum():,.2f}")
    is_target = np.zeros(n, bool)
    is_target[dst_all] = True
    keep = is_target[~used_as_source]
    return Allocation(final[keep],
                      pd.concat(flows, ignore_index=True) if flows else pd.DataFrame(
                          columns=["stage", "from", "to", "amount"]),
                      unallocated, total_in, warnings)


def profitability(revenue: pd.Series, fac: pd.Series, incremental: pd.Series) -> pd.DataFrame:
    """Per object: revenue, fully allocated and incremental cost and profit, margins, shares.

    Parameters
    ----------
    revenue : pandas.Series
        Revenue per object (currency), indexed by object name.
    fac : pandas.Series
        Fully allocated cost per object (currency).
    incremental : pandas.Series
        Incremental cost per object (currency).

    Returns
    -------
    pandas.DataFrame
        object, revenue, fac, profit_fac, incremental_cost, profit_incremental (currency),
        revenue_margin_fac, cost_margin_fac, revenue_margin_incremental and the shares of
        revenue and profit (fractions).

    References
    ----------
    .. [1] Kaplan, R. S. and Cooper, R. (1998). Cost & Effect: Using Integrated Cost
       Systems to Drive Profitability and Performance. Harvard Business School Press.
    """
    idx = revenue.index.union(fac.index)
    rev = revenue.reindex(idx).fillna(0.0)
    full = fac.reindex(idx).fillna(0.0)
    inc = incremental.reindex(idx).fillna(0.0)
    out = pd.DataFrame({"object": idx.astype(str), "revenue": rev.to_numpy(),
                        "fac": full.to_numpy(), "profit_fac": (rev - full).to_numpy(),
                        "incremental_cost": inc.to_numpy(),
                        "profit_incremental": (rev - inc).to_numpy()})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["revenue_margin_fac"] = np.where(out["revenue"] != 0, out["profit_fac"] / out["revenue"], np.nan)
        out["cost_margin_fac"] = np.where(out["fac"] != 0, out["profit_fac"] / out["fac"], np.nan)
        out["revenue_margin_incremental"] = np.where(
            out["revenue"] != 0, out["profit_incremental"] / out["revenue"], np.nan)
        for col, share in (("revenue", "share_of_revenue"), ("profit_fac", "share_of_profit_fac"),
                           ("profit_incremental", "share_of_profit_incremental")):
            total = out[col].sum()
            out[share] = out[col] / total if total else np.nan
    return out


def revenue_per_marketing(revenue: np.ndarray, marketing: np.ndarray) -> pd.DataFrame:
    """Revenue per 100 of marketing cost by revenue band (> 100k, 20k-100k, 10k-20k, < 10k).

    Parameters
    ----------
    revenue : array_like
        Revenue per customer (currency).
    marketing : array_like
        Marketing cost per customer (currency).

    Returns
    -------
    pandas.DataFrame
        band, customers, revenue, marketing_cost (currency), revenue_per_100_marketing.
    """
    rev = np.asarray(revenue, dtype=float)
    mkt = np.asarray(marketing, dtype=float)
    rows = []
    for lo, hi, label in REVENUE_BANDS:
        mask = (rev > lo) & (rev <= hi) if np.isfinite(hi) else rev > lo
        r, m = rev[mask].sum(), mkt[mask].sum()
        rows.append((label, int(mask.sum()), r, m, 100 * r / m if m else np.nan))
    return pd.DataFrame(rows, columns=["band", "customers", "revenue", "marketing_cost",
                                       "revenue_per_100_marketing"])


def elasticity(p1, q1, p2, q2) -> pd.DataFrame:
    """Point and arc (midpoint) price elasticity; |arc| > 1 is elastic (METHODS section 9).

    Parameters
    ----------
    p1, q1 : array_like
        Price (currency) and quantity (units) before.
    p2, q2 : array_like
        Price and quantity after.

    Returns
    -------
    pandas.DataFrame
        point_elasticity, arc_elasticity (dimensionless) and class (elastic, inelastic, unit
        elastic or undefined).

    References
    ----------
    .. [1] Allen, R. G. D. (1934). "The concept of arc elasticity of demand". Review of
       Economic Studies 1(3), 226-229.
    """
    p1, q1, p2, q2 = (np.asarray(v, dtype=float) for v in (p1, q1, p2, q2))
    with np.errstate(invalid="ignore", divide="ignore"):
        point = ((q2 - q1) / q1) / ((p2 - p1) / p1)
        arc = ((q2 - q1) / ((q1 + q2) / 2)) / ((p2 - p1) / ((p1 + p2) / 2))
    flag = np.where(~np.isfinite(arc), "undefined",
                    np.where(np.abs(arc) > 1, "elastic",
                             np.where(np.abs(arc) < 1, "inelastic", "unit elastic")))
    return pd.DataFrame({"point_elasticity": point, "arc_elasticity": arc, "class": flag})
