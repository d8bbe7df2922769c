"""Score-model presets from the seeds, as tables in the xv_ScoreModel layout."""

from __future__ import annotations

import pandas as pd

__all__ = ["COLUMNS", "CONVERGYS", "DELIVERED_VALUE", "KEY_ACCOUNT_17", "PRESETS", "preset"]

COLUMNS = ["Indicator", "Group", "Weight", "WeightMax", "Direction", "Normalisation", "Min", "Max"]

# Seed 003, the Convergys proxy model: six weighted areas (20/25/15/20/10/10); areas with
# several proxies split their weight equally. Expert items are rated on 0..10.
CONVERGYS = [
    ("current_revenue", "average revenue", 10, None, "higher", "minmax", None, None),
    ("expected_next_year_spend", "average revenue", 10, None, "higher", "minmax", None, None),
    ("revenue_change", "revenue change", 25, None, "higher", "minmax", None, None),
    ("contract_term", "current relationship", 7.5, None, "higher", "minmax", None, None),
    ("years_as_customer", "current relationship", 7.5, None, "higher", "minmax", None, None),
    ("systems_integration", "technical linkage", 5, None, "higher", "expert", 0, 10),
    ("reporting", "technical linkage", 5, None, "higher", "expert", 0, 10),
    ("phone_web", "technical linkage", 5, None, "higher", "expert", 0, 10),
    ("email", "technical linkage", 5, None, "higher", "expert", 0, 10),
    ("share_of_customer", "share of customer", 10, None, "higher", "expert", 0, 1),
    ("partnership_stage", "partnership", 10 / 3, None, "higher", "expert", 0, 10),
    ("referral_likelihood", "partnership", 10 / 3, None, "higher", "expert", 0, 10),
    ("future_value", "partnership", 10 / 3, None, "higher", "expert", 0, 10),
]

# Seed 000, the 17-indicator key-account system (weights by expert assessment):
# contribution 40, characteristics 34, relationship 26; two penalty ranges.
KEY_ACCOUNT_17 = [
    ("avg_monthly_billed_revenue", "contribution", 35, None, "higher", "minmax", None, None),
    ("contribution_to_segment_revenue", "contribution", 5, None, "higher", "minmax", None, None),
    ("dedicated_operation_cost", "contribution", -2, -9, "higher", "minmax", None, None),
    ("cumulative_arrears_time", "contribution", -3, -8, "higher", "minmax", None, None),
    ("price_sensitivity", "characteristics", 5, None, "lower", "expert", 0, 10),
    ("new_service_use", "characteristics", 3, None, "higher", "expert", 0, 10),
    ("bandwidth_service_share", "characteristics", 3, None, "higher", "expert", 0, 1),
    ("social_policy_influence", "characteristics", 5, None, "higher", "expert", 0, 10),
    ("own_business_condition", "characteristics", 3, None, "higher", "expert", 0, 10),
    ("forecast_demand_next_year", "characteristics", 3.5, None, "higher", "minmax", None, None),
    ("value_chain_role", "characteristics", 8, None, "higher", "expert", 0, 10),
    ("service_dependence", "characteristics", 3.5, None, "higher", "expert", 0, 10),
    ("switched_to_competitors", "relationship", 6, None, "lower", "expert", 0, 10),
    ("overall_satisfaction", "relationship", 8.5, None, "higher", "expert", 0, 10),
    ("share_of_wallet", "relationship", 5, None, "higher", "expert", 0, 1),
    ("relationship_length", "relationship", 4, None, "higher", "minmax", None, None),
    ("mutual_benefit", "relationship", 2.5, None, "higher", "expert", 0, 10),
]

# Seed 000 (Kotler): delivered value = total customer value - total customer cost.
DELIVERED_VALUE = [
    ("product_value", "total customer value", 25, None, "higher", "expert", 0, 10),
    ("service_value", "total customer value", 25, None, "higher", "expert", 0, 10),
    ("personnel_value", "total customer value", 25, None, "higher", "expert", 0, 10),
    ("image_value", "total customer value", 25, None, "higher", "expert", 0, 10),
    ("monetary_cost", "total customer cost", 0, -25, "higher", "expert", 0, 10),
    ("time_cost", "total customer cost", 0, -25, "higher", "expert", 0, 10),
    ("energy_cost", "total customer cost", 0, -25, "higher", "expert", 0, 10),
    ("psychic_cost", "total customer cost", 0, -25, "higher", "expert", 0, 10),
]

PRESETS = {"convergys": CONVERGYS, "key-account-17": KEY_ACCOUNT_17,
           "delivered-value": DELIVERED_VALUE}


def preset(name: str) -> pd.DataFrame:
    """A preset score model as an xv_ScoreModel frame."""
    try:
        rows = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None
    return pd.DataFrame(rows, columns=COLUMNS)
