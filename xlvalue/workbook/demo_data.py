"""Demo inputs that make every analysis show something: customer attributes for the value
matrix, a cost-to-serve model for customer profitability, and each score preset's worked
example (METHODS sections 4, 7 and 8; seeds 000 and 003).

Everything is deterministic (fixed seeds), so rebuilt demo workbooks are identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlvalue.analytics.scoring import normalise
from xlvalue.workbook.presets import preset as preset_table

__all__ = ["CONVERGYS_REVENUE_RANK", "PRESET_SETTINGS", "convergys_example", "demo_costing",
           "demo_customers", "preset_example"]

# ---- CDNOW demo: customers and cost to serve ------------------------------------------------


def demo_customers(log: pd.DataFrame) -> list[list]:
    """xv_Customers rows for the CDNOW sample: a group, the wallet each customer spends on CDs
    per month at all shops (PotentialSpend), our share of it (ShareOfWallet, as a survey would
    estimate it) and the catalogue cost of the customers on the mailing list (MarketingCost
    per month). With these the value matrix fills all four classes: catalogue customers who
    no longer buy have a negative CLV (BZ), open wallets make MGCs."""
    rng = np.random.default_rng(17)
    per = log.groupby("CustomerID", sort=True).agg(cds=("CDs", "sum"), orders=("Amount", "size"))
    n = len(per)
    wallet = np.round(rng.lognormal(np.log(14.0), 0.7, n), 2)
    share = np.round(rng.beta(2.0, 4.0, n), 2).clip(0.05, 0.95)
    mailed = rng.random(n) < 0.25
    marketing = np.where(mailed, np.round(rng.uniform(0.6, 1.6, n), 2), 0.0)
    group = np.where(per["cds"].to_numpy() / per["orders"].to_numpy() > 2, "bulk buyer",
                     "single buyer")
    return [[cid, None, g, float(w), float(s), float(m) if m else None]
            for cid, g, w, s, m in zip(per.index, group, wallet, share, marketing, strict=True)]


# Cost to serve of the CD shop: resources -> activities -> customers (seed 000's staged
# allocation with customers as the final objects). Amounts are for the 18 months of the log.
COST_RATES = {"CDs bought in": 0.62}  # share of revenue: the product cost of the CDs sold
SERVICE_POOLS = [  # pool, stage, amount, kind, incremental, activity, driver
    ("Order desk wages", 1, 21_000.0, "department", "yes", "Order handling", "orders"),
    ("Postage", 1, 13_800.0, "direct", "yes", "Order handling", "orders"),
    ("Warehouse", 1, 12_500.0, "department", "yes", "Picking and packing", "cds"),
    ("Catalogues", 1, 15_000.0, "direct", "yes", "Catalogue mailing", "customers"),
]
HEAD_OFFICE = 9_000.0  # support cost, not incremental: shared by the activities 2:1:1


def demo_costing(log: pd.DataFrame) -> dict[str, list[list]]:
    """xv_CostPools, xv_Drivers and xv_Revenue rows: each customer's revenue, and the cost of
    serving it allocated by orders, CDs, one catalogue per customer and revenue. Many one-CD
    customers cost more to serve than they bring, so customer profit peaks well above 100 %
    of the total before it falls back (the whale curve of seed 000)."""
    per = log.groupby("CustomerID", sort=True).agg(revenue=("Amount", "sum"),
                                                   orders=("Amount", "size"), cds=("CDs", "sum"))
    ids = per.index.astype(str).tolist()
    quantity = {"orders": per["orders"].to_numpy(float), "cds": per["cds"].to_numpy(float),
                "customers": np.ones(len(per)), "revenue": per["revenue"].to_numpy(float)}
    total = float(per["revenue"].sum())
    pools = [["CDs bought in", 1, round(COST_RATES["CDs bought in"] * total, 2), "direct", "yes",
              None]]
    drivers: list[list] = []
    drivers += [[1, "CDs bought in", c, round(q, 2)] for c, q in zip(ids, quantity["revenue"],
                                                                      strict=True)]
    pools.append(["Head office", 1, HEAD_OFFICE, "support", "no", None])
    drivers += [[1, "Head office", a, w] for a, w in (("Order handling", 2.0),
                                                       ("Picking and packing", 1.0),
                                                       ("Catalogue mailing", 1.0))]
    activities: dict[str, str] = {}
    for pool, stage, amount, kind, inc, activity, driver in SERVICE_POOLS:
        pools.append([pool, stage, amount, kind, inc, None])
        drivers.append([1, pool, activity, 1.0])
        activities[activity] = driver
    for activity, driver in activities.items():
        drivers += [[2, activity, c, float(q)] for c, q in zip(ids, quantity[driver], strict=True)]
    marketing = 15_000.0 / len(per)  # the catalogue cost each customer receives
    revenue = [[c, round(float(r), 2), round(marketing, 2)]
               for c, r in zip(ids, per["revenue"], strict=True)]
    return {"xv_CostPools": pools, "xv_Drivers": drivers, "xv_Revenue": revenue}


# ---- score presets: worked examples ---------------------------------------------------------

# Seed 003, Convergys: the top ten customers by the proxy model and their rank by revenue.
CONVERGYS_REVENUE_RANK = {"A": 1, "B": 2, "C": 62, "D": 4, "E": 40, "F": 94, "G": 12, "H": 20,
                          "I": 58, "J": 3}
CONVERGYS_CUSTOMERS = 100


def _expert_columns(model: pd.DataFrame) -> list[str]:
    return list(model.loc[model["Normalisation"] == "expert", "Indicator"])


def convergys_example() -> pd.DataFrame:
    """100 outsourcing clients whose proxy scores rank customers A-J first (in that order)
    while their revenue ranks are those of seed 003: F rises from 94 to 6, I from 58 to 9,
    C from 62 to 3, and J falls from 3 to 10.

    Revenue, revenue change, contract term and tenure are made first; each client's expert
    ratings (technical linkage, share of customer, partnership) are then set so that its
    score lands on a chosen target: 72, 70, ... 54 for A..J, below 50 for the others."""
    model = preset_table("convergys")
    rng = np.random.default_rng(3)
    n = CONVERGYS_CUSTOMERS
    top = list(CONVERGYS_REVENUE_RANK)
    ids = top + [f"C{i:03d}" for i in range(len(top) + 1, n + 1)]
    taken = set(CONVERGYS_REVENUE_RANK.values())
    rest = iter(r for r in range(1, n + 1) if r not in taken)
    rank = np.array([CONVERGYS_REVENUE_RANK.get(c) or next(rest) for c in ids])
    revenue = np.round(1000.0 * 0.965 ** (rank - 1), 1)
    growth = np.round(np.r_[[0.30, 0.25, 0.55, 0.20, 0.45, 0.60, 0.35, 0.40, 0.50, -0.10],
                            rng.uniform(-0.3, 0.2, n - 10)], 2)
    frame = pd.DataFrame({
        "CustomerID": ids,
        "current_revenue": revenue,
        "expected_next_year_spend": np.round(revenue * (1 + growth), 1),
        "revenue_change": growth,
        "contract_term": np.r_[[5, 5, 4, 4, 3, 4, 3, 3, 4, 2], rng.integers(1, 4, n - 10)],
        "years_as_customer": np.r_[[12, 10, 3, 9, 4, 2, 7, 6, 3, 11], rng.integers(1, 11, n - 10)],
    })
    objective = np.zeros(n)
    for row in model[model["Normalisation"] == "minmax"].itertuples(index=False):
        objective += row.Weight * normalise(frame[row.Indicator].to_numpy(float), "minmax")
    expert_weight = float(model.loc[model["Normalisation"] == "expert", "Weight"].sum())
    target = np.r_[np.arange(72.0, 53.0, -2.0), rng.uniform(15.0, 50.0, n - 10)]
    rating = np.clip((target - objective) / expert_weight * 10.0, 0.0, 10.0)
    for name in _expert_columns(model):
        if name == "share_of_customer":  # rated 0..1
            frame[name] = np.round(rating / 10.0, 3)
        else:
            frame[name] = np.round(rating, 2)
    return frame


# Seed 000: key accounts of a telecom operator rated on the 17 indicators (monthly billed
# revenue in thousands, costs in thousands a year, arrears in days, ratings 0..10, shares 0..1).
KEY_ACCOUNTS = pd.DataFrame({
    "CustomerID": ["Provincial government", "City bank", "Steel works", "Logistics park",
                   "University", "Hospital group", "Port authority", "Retail chain"],
    "avg_monthly_billed_revenue": [420.0, 380.0, 310.0, 150.0, 120.0, 95.0, 260.0, 60.0],
    "contribution_to_segment_revenue": [0.09, 0.08, 0.07, 0.03, 0.03, 0.02, 0.06, 0.01],
    "dedicated_operation_cost": [60.0, 15.0, 40.0, 10.0, 5.0, 8.0, 35.0, 12.0],
    "cumulative_arrears_time": [90.0, 0.0, 30.0, 0.0, 10.0, 45.0, 0.0, 60.0],
    "price_sensitivity": [3, 6, 8, 5, 7, 4, 6, 9],
    "new_service_use": [7, 9, 4, 8, 9, 6, 5, 3],
    "bandwidth_service_share": [0.6, 0.8, 0.3, 0.7, 0.9, 0.5, 0.4, 0.2],
    "social_policy_influence": [10, 7, 6, 4, 8, 6, 7, 3],
    "own_business_condition": [8, 9, 5, 8, 7, 7, 8, 4],
    "forecast_demand_next_year": [450.0, 420.0, 280.0, 200.0, 150.0, 110.0, 270.0, 55.0],
    "value_chain_role": [9, 8, 6, 7, 5, 5, 8, 3],
    "service_dependence": [9, 10, 6, 8, 8, 9, 7, 5],
    "switched_to_competitors": [1, 0, 6, 2, 1, 3, 0, 8],
    "overall_satisfaction": [7, 9, 5, 8, 8, 6, 9, 4],
    "share_of_wallet": [0.9, 0.85, 0.5, 0.8, 0.95, 0.7, 0.9, 0.3],
    "relationship_length": [15.0, 12.0, 8.0, 4.0, 10.0, 6.0, 9.0, 2.0],
    "mutual_benefit": [8, 9, 5, 7, 8, 6, 8, 3],
})

# Kotler's customer delivered value (seed 000): what four offers are worth to a customer and
# what buying them costs it, rated 0..10.
DELIVERED = pd.DataFrame({
    "CustomerID": ["Offer A", "Offer B", "Offer C", "Offer D"],
    "product_value": [9, 7, 8, 5],
    "service_value": [8, 9, 6, 5],
    "personnel_value": [7, 9, 6, 4],
    "image_value": [9, 6, 7, 5],
    "monetary_cost": [8, 5, 6, 2],
    "time_cost": [4, 3, 6, 2],
    "energy_cost": [3, 2, 5, 2],
    "psychic_cost": [2, 1, 4, 3],
})

# settings each worked example needs beside the defaults
PRESET_SETTINGS = {"convergys": {"ScoreRevenue": "current_revenue"},
                   "key-account-17": {"ScoreRevenue": "avg_monthly_billed_revenue"},
                   "delivered-value": {"ScoreRevenue": "product_value"}}


def preset_example(name: str) -> pd.DataFrame:
    """The xv_ScoreInputs rows of a preset's worked example (CustomerID + its indicators)."""
    frames = {"convergys": convergys_example, "key-account-17": lambda: KEY_ACCOUNTS.copy(),
              "delivered-value": lambda: DELIVERED.copy()}
    frame = frames[name]()
    indicators = list(preset_table(name)["Indicator"])
    return frame[["CustomerID", *indicators]]
