"""The workbook contract, declared once: input ranges, their columns, and the settings.

Readers, validators, the template builder and docs/workbook-contract.md all read this module.
Adding an input means adding one entry here. Which analysis reads which input, and the output
blocks they write, are declared by the analyses themselves (xlvalue.analyses.registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["COST_POOLS", "CUSTOMERS", "DRIVERS", "ELASTICITY", "INDICATOR_SOURCES", "INPUT_TABLES",
           "OPPORTUNITIES", "REVENUE", "SCORE_INPUTS", "SCORE_MODEL", "SEGMENTS", "SETTINGS",
           "SETTINGS_NAME", "SETTINGS_SHEET", "SURVIVORS", "TRANSACTIONS", "Column", "ColumnKind",
           "InputTable", "OutputBlock", "Setting", "indicator_source", "setting"]

ColumnKind = Literal["id", "text", "date", "number", "integer"]


@dataclass(frozen=True)
class Column:
    """One column of an input table."""

    name: str
    kind: ColumnKind
    required: bool = True
    doc: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputTable:
    """An input range: a table with a header row, read through a defined name or Excel table."""

    name: str
    sheet: str
    columns: tuple[Column, ...]
    doc: str
    unique_key: str | None = None
    extra_kind: ColumnKind | None = None  # undeclared columns are kept, converted to this kind

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Setting:
    """One key of xv_Settings, with its type, default and allowed values."""

    key: str
    kind: Literal["date", "number", "integer", "text", "choice", "list"]
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class OutputBlock:
    """An output block: a frame written under the anchored name `name` on sheet `sheet` by
    `analysis` (the list is xlvalue.analyses.registry.output_blocks())."""

    name: str
    sheet: str
    analysis: str
    doc: str


SETTINGS_NAME = "xv_Settings"
SETTINGS_SHEET = "Settings"

SETTINGS: tuple[Setting, ...] = (
    Setting("AsOfDate", "date", None,
            "End of the observation window; default: the last transaction date."),
    Setting("TransactionsFile", "text", "",
            "CSV or Parquet file holding the transactions (columns as xv_Transactions), path "
            "relative to the workbook; for logs beyond Excel's 1,048,576 rows."),
    Setting("PeriodUnit", "choice", "month",
            "Period for transacting periods, r1, discounting and forecasts.",
            choices=("week", "month", "quarter", "year")),
    Setting("TimeUnit", "choice", "weeks",
            "Unit of recency and T in the repeat-purchase summary and the BTYD models.",
            choices=("days", "weeks")),
    Setting("CalibrationEnd", "date", None,
            "Optional end of the calibration window; later purchases form the holdout."),
    Setting("RFMBins", "integer", 5, "Number of quantile bins for R, F and M scores.",
            minimum=2, maximum=10),
    Setting("RFMWeights", "list", "1,1,1", "Weights of R, F, M in the weighted RFM score."),
    Setting("FrequencyMode", "choice", "purchases",
            "RFM frequency counts purchases (rows) or distinct purchase days.",
            choices=("purchases", "days")),
    Setting("MonetaryMode", "choice", "mean",
            "RFM monetary is the mean amount per purchase or the total spend.",
            choices=("mean", "total")),
    Setting("RankBy", "choice", "spend",
            "Value used for deciles, Pareto classes, tiers: total spend or total margin.",
            choices=("spend", "margin")),
    Setting("ParetoA", "number", 0.8, "Cumulative value share closing class A.",
            minimum=0.0, maximum=1.0),
    Setting("ParetoB", "number", 0.95, "Cumulative value share closing class B.",
            minimum=0.0, maximum=1.0),
    Setting("TierCuts", "list", "0.05,0.2,0.5",
            "Cumulative customer shares closing the tiers High, Higher, General (rest: Low)."),
    Setting("MarginRate", "number", 0.3,
            "Gross-margin rate used when transactions carry neither Cost nor Margin.",
            minimum=-1.0, maximum=1.0),
    Setting("Model", "choice", "bgnbd",
            "Purchase model for CLV; auto: the one that predicts the holdout best (lowest "
            "holdout RMSE per customer; without CalibrationEnd the lowest BIC), see "
            "xv_out_ModelComparison.",
            choices=("bgnbd", "mbgnbd", "paretonbd", "nbd", "auto")),
    Setting("Covariates", "text", "",
            "xv_Customers columns that shift each customer's purchase rate and dropout "
            "(comma-separated; numbers as they are, text as one 0/1 column per value against "
            "the most frequent one); blank: none. bgnbd, mbgnbd, paretonbd."),
    Setting("Horizon", "integer", 12, "Forecast horizon in periods (PeriodUnit).",
            minimum=1, maximum=600),
    Setting("DiscountRate", "number", 0.01, "Discount rate per period (PeriodUnit).",
            minimum=0.0, maximum=1.0),
    Setting("IntervalLevel", "number", 0.9,
            "Level of the per-customer intervals of P(alive), expected purchases and CLV "
            "(xv_out_CLV *_low / *_high) from the fitted parameters' uncertainty; 0 = none.",
            minimum=0.0, maximum=0.999),
    Setting("IntervalDraws", "integer", 200,
            "Parameter draws behind those intervals (more = steadier bounds, slower); a level "
            "whose tail needs more draws takes 2/(1-level)-1 (1,999 at 0.999).",
            minimum=200, maximum=10_000),
    Setting("OpportunitiesAhead", "integer", 5,
            "BG/BB (xv_Opportunities): opportunities ahead for the expected transactions.",
            minimum=1, maximum=1000),
    Setting("RetentionHorizon", "integer", 12,
            "sBG (xv_Survivors): periods the survival curves are projected to.",
            minimum=1, maximum=600),
    Setting("OpportunityDiscountRate", "number", 0.1,
            "Discount rate per opportunity (BG/BB's DERT) or per contract period (sBG's DERL).",
            minimum=0.0001, maximum=1.0),
    Setting("MatrixActual", "number", 0.5,
            "Quantile of actual value above which a customer is high-actual (value matrix).",
            minimum=0.0, maximum=1.0),
    Setting("ScoreRevenue", "text", "",
            "Indicator whose rank is the revenue rank for rank changes (default: the first)."),
    Setting("ScoreMissing", "choice", "error",
            "Missing indicator values: error, zero (worst) or mean.",
            choices=("error", "zero", "mean")),
    Setting("MatrixPotential", "number", 0.5,
            "Quantile of potential value above which a customer is high-potential.",
            minimum=0.0, maximum=1.0),
    Setting("LifecycleWindow", "integer", 6,
            "Lifecycle stages: the recent window (periods, PeriodUnit) whose spend is compared "
            "with the spend per window before it (the trend).", minimum=1, maximum=600),
    Setting("LifecycleExplore", "number", 6,
            "Lifecycle stages: a customer whose first purchase lies fewer periods back is in "
            "exploration (0 = no exploration stage).", minimum=0.0, maximum=600.0),
    Setting("LifecycleTrend", "number", 0.2,
            "Lifecycle stages: a trend at or above it is formation, at or below minus it "
            "decline (0.2: the window's spend 1.5 times the earlier, or 2/3 of it).",
            minimum=0.01, maximum=1.0),
    Setting("LifecycleLost", "number", 0.2,
            "Lifecycle stages: a P(alive) below it is lost (0 = no lost stage).",
            minimum=0.0, maximum=1.0),
)

TRANSACTIONS = InputTable(
    name="xv_Transactions",
    sheet="Transactions",
    columns=(
        Column("CustomerID", "id", doc="Customer identifier, kept as text (00123 stays 00123).",
               aliases=("Customer", "CustomerId", "ID")),
        Column("Date", "date", doc="Purchase date: Excel date, serial number or ISO text."),
        Column("Amount", "number", doc="Purchase amount; negative = return (kept, reported).",
               aliases=("Value", "Sales")),
        Column("Cost", "number", required=False, doc="Product cost of the sale."),
        Column("Margin", "number", required=False,
               doc="Gross-margin rate of the sale (0..1), used when Cost is absent."),
        Column("Channel", "text", required=False, doc="Sales channel."),
        Column("Product", "text", required=False, doc="Product or product group."),
    ),
    doc="The transaction log: one row per purchase.",
)

CUSTOMERS = InputTable(
    name="xv_Customers",
    sheet="Customers",
    columns=(
        Column("CustomerID", "id", doc="Customer identifier, as in xv_Transactions."),
        Column("Name", "text", required=False, doc="Display name."),
        Column("Group", "text", required=False, doc="Customer group (key account, ...)."),
        Column("PotentialSpend", "number", required=False,
               doc="Total spend the customer could give per period (all suppliers)."),
        Column("ShareOfWallet", "number", required=False,
               doc="Our share of the customer's spend (0..1)."),
        Column("MarketingCost", "number", required=False,
               doc="Relationship-marketing cost per period."),
    ),
    doc="Optional customer attributes; one row per customer. Other columns are kept (as "
        "text) for the Covariates setting.",
    unique_key="CustomerID",
    extra_kind="text",
)

SEGMENTS = InputTable(
    name="xv_Segments",
    sheet="Segments",
    columns=(
        Column("Segment", "text", doc="Segment name."),
        Column("RMin", "integer", doc="Lowest R score (inclusive)."),
        Column("RMax", "integer", doc="Highest R score (inclusive)."),
        Column("FMin", "integer", doc="Lowest F score (inclusive)."),
        Column("FMax", "integer", doc="Highest F score (inclusive)."),
        Column("MMin", "integer", required=False, doc="Lowest M score (default 1)."),
        Column("MMax", "integer", required=False, doc="Highest M score (default RFMBins)."),
        Column("Action", "text", required=False, doc="Suggested action, copied to outputs."),
    ),
    doc="RFM segment rules; the first matching row wins. Default: the 11-segment scheme.",
    unique_key="Segment",
)

SCORE_MODEL = InputTable(
    name="xv_ScoreModel",
    sheet="ScoreModel",
    columns=(
        Column("Indicator", "text", doc="Indicator name: a column of xv_ScoreInputs, or "
               "rfm.<column> / clv.<column> of those analyses' per-customer outputs."),
        Column("Group", "text", required=False, doc="Indicator group (subtotals)."),
        Column("Weight", "number", doc="Weight in % (positive weights sum to 100); for a "
               "penalty item, the points subtracted at the normalised value 0."),
        Column("WeightMax", "number", required=False,
               doc="Penalty items: points subtracted at the normalised value 1 (negative)."),
        Column("Direction", "text", required=False, doc="higher (default) or lower is better."),
        Column("Normalisation", "text", required=False,
               doc="minmax (default), percentile, zscore or expert."),
        Column("Min", "number", required=False, doc="Expert scale: lowest value."),
        Column("Max", "number", required=False, doc="Expert scale: highest value."),
    ),
    doc="The weighted score model: one row per indicator.",
    unique_key="Indicator",
)

SCORE_INPUTS = InputTable(
    name="xv_ScoreInputs",
    sheet="ScoreInputs",
    columns=(Column("CustomerID", "id", doc="Customer identifier."),),
    doc="Indicator values: one row per customer, one numeric column per indicator.",
    unique_key="CustomerID",
    extra_kind="number",
)

COST_POOLS = InputTable(
    name="xv_CostPools",
    sheet="CostPools",
    columns=(
        Column("Pool", "text", doc="Cost pool (resource) name."),
        Column("Stage", "integer", doc="Stage whose drivers allocate this pool."),
        Column("Amount", "number", doc="Cost amount."),
        Column("Kind", "text", required=False,
               doc="direct / department / network / support (documentation)."),
        Column("Incremental", "text", required=False,
               doc="yes when the cost is incremental (counted in incremental profit)."),
        Column("Unallocated", "text", required=False,
               doc="yes to leave the pool unallocated (idle capacity, reported)."),
    ),
    doc="Activity-based costing: the cost pools.",
    unique_key="Pool",
)

DRIVERS = InputTable(
    name="xv_Drivers",
    sheet="Drivers",
    columns=(
        Column("Stage", "integer", doc="Stage number; stages run in increasing order."),
        Column("From", "text", doc="Node whose cost is split (pool, activity, product...)."),
        Column("To", "text", doc="Node receiving a share (activity, product, customer group)."),
        Column("Quantity", "number", doc="Driver quantity (traffic, users, floor area...)."),
    ),
    doc="Cost drivers: each row sends From's cost to To in proportion to Quantity.",
)

REVENUE = InputTable(
    name="xv_Revenue",
    sheet="Revenue",
    columns=(
        Column("Object", "text", doc="Final cost object (customer group or customer)."),
        Column("Revenue", "number", doc="Revenue of the object."),
        Column("MarketingCost", "number", required=False, doc="Marketing cost of the object."),
    ),
    doc="Revenue per final cost object, for profitability.",
    unique_key="Object",
)

ELASTICITY = InputTable(
    name="xv_Elasticity",
    sheet="Elasticity",
    columns=(
        Column("Group", "text", doc="Customer group or product."),
        Column("P1", "number", doc="Price before."),
        Column("Q1", "number", doc="Quantity before."),
        Column("P2", "number", doc="Price after."),
        Column("Q2", "number", doc="Quantity after."),
    ),
    doc="Price and quantity before and after a price change.",
)

OPPORTUNITIES = InputTable(
    name="xv_Opportunities",
    sheet="Opportunities",
    columns=(
        Column("Frequency", "integer", doc="Opportunities with a transaction after the first one "
               "(x)."),
        Column("Recency", "integer", doc="The opportunity of the last of them (t_x; 0 when "
               "Frequency is 0)."),
        Column("Periods", "integer", doc="Opportunities observed after the first transaction (n)."),
        Column("Customers", "number", required=False,
               doc="Customers with this history (default 1 per row)."),
    ),
    doc="Discrete transaction opportunities (yearly donations, events): one row per history "
        "or per customer, for the BG/BB model.",
)

SURVIVORS = InputTable(
    name="xv_Survivors",
    sheet="Survivors",
    columns=(
        Column("Period", "integer", doc="Periods since acquisition: 0, 1, 2, ..."),
        Column("Survivors", "number", doc="Customers of the cohort still active (Period 0: the "
               "cohort size)."),
        Column("Cohort", "text", required=False, doc="Cohort name (one sBG fit per cohort)."),
    ),
    doc="Contractual customers: each cohort's survivors per renewal period, for the "
        "shifted-beta-geometric model.",
)

INPUT_TABLES: tuple[InputTable, ...] = (TRANSACTIONS, CUSTOMERS, SEGMENTS, SCORE_MODEL,
                                        SCORE_INPUTS, COST_POOLS, DRIVERS, REVENUE, ELASTICITY,
                                        OPPORTUNITIES, SURVIVORS)

# Score-model indicators may name a column of another analysis' per-customer output:
# "rfm.<column>" (xv_out_RFM) or "clv.<column>" (xv_out_CLV).
INDICATOR_SOURCES: tuple[str, ...] = ("rfm", "clv")


def indicator_source(indicator: str) -> tuple[str, str] | None:
    """(analysis, column) for an indicator taken from an analysis' output, else None."""
    analysis, dot, column = indicator.partition(".")
    return (analysis, column) if dot and analysis in INDICATOR_SOURCES else None


def setting(key: str) -> Setting:
    return next(s for s in SETTINGS if s.key == key)
