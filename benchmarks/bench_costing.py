"""Allocation of 5 stages x 1,000 pools onto 1,000,000 customers vs the bare sparse chain."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from xlvalue.analytics.costing import allocate

from .common import best_of, peak_memory, report


def build(n_pools: int, n_customers: int, stages: int = 5, fan: int = 3, seed: int = 0):
    """Pools -> 1,000 nodes per stage -> ... -> customers; each node feeds `fan` targets."""
    rng = np.random.default_rng(seed)
    layers = [[f"s0_{i}" for i in range(n_pools)]]
    for s in range(1, stages):
        layers.append([f"s{s}_{i}" for i in range(n_pools)])
    layers.append([f"cust_{i}" for i in range(n_customers)])
    rows = []
    for s in range(stages):
        src, dst = layers[s], layers[s + 1]
        if s == stages - 1:  # last stage: every customer gets cost from one node
            owner = rng.integers(0, len(src), len(dst))
            rows.append(pd.DataFrame({"Stage": s + 1, "From": np.asarray(src)[owner],
                                      "To": dst, "Quantity": rng.uniform(1, 10, len(dst))}))
        else:
            targets = rng.integers(0, len(dst), (len(src), fan))
            rows.append(pd.DataFrame({"Stage": s + 1, "From": np.repeat(src, fan),
                                      "To": np.asarray(dst)[targets.ravel()],
                                      "Quantity": rng.uniform(1, 10, len(src) * fan)}))
    drivers = pd.concat(rows, ignore_index=True)
    pools = pd.DataFrame({"Pool": layers[0], "Stage": 1, "Amount": rng.uniform(1e3, 1e6, n_pools)})
    return pools, drivers


def bare_chain(pools: pd.DataFrame, drivers: pd.DataFrame):
    """The same allocation as plain row-normalised sparse products (no checks, no flows)."""
    nodes = pd.Index(pd.unique(pd.concat([pools["Pool"], drivers["From"], drivers["To"]])))
    n = len(nodes)
    cost = np.zeros(n)
    cost[nodes.get_indexer(pools["Pool"])] = pools["Amount"].to_numpy()
    for _, d in drivers.groupby("Stage", sort=True):
        src, dst = nodes.get_indexer(d["From"]), nodes.get_indexer(d["To"])
        q = d["Quantity"].to_numpy()
        tot = np.bincount(src, weights=q, minlength=n)
        m = sparse.csr_matrix((q / tot[src], (src, dst)), shape=(n, n))
        moving = np.zeros(n)
        moving[np.unique(src)] = cost[np.unique(src)]
        cost = cost - moving + m.T @ moving
    return cost


def run(quick: bool = False) -> None:
    n_cust = 100_000 if quick else 1_000_000
    pools, drivers = build(1000, n_cust)
    t_ours, a = best_of(lambda: allocate(pools, drivers), repeat=2)
    t_ref, _ = best_of(lambda: bare_chain(pools, drivers), repeat=2)
    report(f"allocation 5 stages x 1,000 pools -> {n_cust:,} customers", t_ours, t_ref,
           "bare scipy chain", "<= 1.5x")
    peak, _ = peak_memory(lambda: allocate(pools, drivers))
    print(f"  peak {peak / 1e6:,.0f} MB; conserved: {a.final.sum():.6e} of {a.total_input:.6e}")
