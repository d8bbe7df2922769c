"""Deciles, Pareto classes, whale curve and tiers (METHODS.md section 3)."""

from __future__ import annotations

import numpy as np
import pytest

from xlvalue.analytics.ranking import (
    abc_classes,
    decile_groups,
    decile_table,
    pareto_table,
    tier_table,
    value_tiers,
    whale_curve,
)
from xlvalue.errors import InputError


def test_pareto_classes_by_hand():
    values = np.array([400.0, 150.0, 800.0, 30.0, 5.0])  # total 1385
    # ranked 800, 400, 150, 30, 5; value above each: 0, 57.8 %, 86.6 %, 97.5 %, 99.6 %
    assert list(abc_classes(values, 0.8, 0.95)) == ["A", "B", "A", "C", "C"]
    t = pareto_table(values, 0.8, 0.95)
    assert list(t["customers"]) == [2, 1, 2]
    assert t["share_of_value"].sum() == pytest.approx(1.0)
    assert t["share_of_value"].iloc[0] == pytest.approx(1200 / 1385)


def test_deciles_equal_groups_and_shares_sum_to_one():
    rng = np.random.default_rng(1)
    spend = rng.gamma(1.0, 100.0, 1000)
    g = decile_groups(spend)
    assert (np.bincount(g)[1:] == 100).all()
    assert spend[g == 1].min() >= spend[g == 2].max()  # group 1 = most valuable
    t = decile_table(spend, spend, np.ones(1000), years=1.0)
    assert t["share_of_spend"].sum() == pytest.approx(1.0, abs=1e-12)
    assert t["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert (t["customers"] == 100).all()


def test_whale_curve_with_loss_makers_peaks_above_100():
    profit = np.array([-40.0, 50.0, 20.0, -10.0, 30.0])  # total 50
    w = whale_curve(profit)
    # ranked 50, 30, 20, -10, -40 -> cumulative 100 %, 160 %, 200 %, 180 %, 100 %
    assert w.peak_pct_profit == pytest.approx(200.0)
    assert w.peak_pct_customers == pytest.approx(60.0)
    assert w.customers_at_peak == 3
    assert w.curve["pct_profit"].iloc[-1] == pytest.approx(100.0)
    assert w.curve["pct_profit"].iloc[0] == 0.0


def test_whale_curve_refuses_non_positive_total():
    with pytest.raises(InputError, match="zero or negative total"):
        whale_curve(np.array([10.0, -10.0]))


def test_value_tiers_by_customer_share():
    values = np.arange(100, 0, -1, dtype=float)  # 100 customers, distinct values
    tiers = value_tiers(values, [0.05, 0.2, 0.5])
    assert list(tiers[:5]) == ["High"] * 5 and tiers[5] == "Higher"
    assert (tiers == "Higher").sum() == 15 and (tiers == "General").sum() == 30
    assert (tiers == "Low").sum() == 50
    t = tier_table(values, tiers)
    assert t["share_of_value"].sum() == pytest.approx(1.0)


def test_tier_cuts_validated():
    with pytest.raises(InputError, match="TierCuts"):
        value_tiers(np.ones(5), [0.5, 0.2, 0.7])
