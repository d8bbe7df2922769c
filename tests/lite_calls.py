"""One call of every XV_ function on a transactions table, as the classic door and as Lite pass it.

The classic door receives ranges as 2-D lists with datetimes and options as single values;
xlwings Lite (Office.js) passes every argument as a 2-D list and dates as Excel serial numbers.
`classic_calls` derives each function's arguments from the transactions (scores, repeat
summary and fitted parameters come from the functions themselves); `lite_args` turns them into
what Lite hands over. Used by tests/test_lite*.py and benchmarks/bench_lite.py. Imports only
what xlwings Lite can load (no openpyxl), so the blocked-import test can use it too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from xlvalue.workbook.template_content import DEMO_TABLES

EPOCH = dt.datetime(1899, 12, 30)


def column(rows: list[list], name: str, keep=lambda _row: True) -> list[list]:
    """One column of a result (header row first) as a one-column range, header included."""
    j = rows[0].index(name)
    return [[name]] + [[r[j]] for r in rows[1:] if keep(r)]


def classic_calls(transactions: list[list], module: Any) -> dict[str, tuple]:
    """Arguments for every XV_ function; `module` gives the functions that derive inputs."""
    rfm = module.XV_RFM(transactions)
    repeat = module.XV_REPEAT(transactions, None, "weeks")
    f, r, t = (column(repeat, c) for c in ("frequency", "recency", "T"))
    repeaters, age = repeat[0].index("frequency"), repeat[0].index("T")
    observed = (column(repeat, "frequency", lambda row: row[age] > 0),  # NBD: periods > 0
                column(repeat, "T", lambda row: row[age] > 0))
    spend = repeat[0].index("monetary_value")

    def repeater(row: list) -> bool:  # gamma-gamma: repeat buyers with a positive mean spend
        return row[repeaters] > 0 and row[spend] > 0

    gg_f = column(repeat, "frequency", repeater)
    gg_m = column(repeat, "monetary_value", repeater)
    bg = module.XV_BGNBD_FIT(f, r, t)
    gg = module.XV_GG_FIT(gg_f, gg_m)
    total = column(rfm, "total_spend")
    profit = [total[0]] + [[v - 40.0] for (v,) in total[1:]]
    ids = column(rfm, "customer_id")
    score_inputs = [["CustomerID", "spend", "orders"]] + [
        [i, s, q] for (i,), (s,), (q,) in zip(ids[1:], total[1:], column(rfm, "frequency")[1:],
                                               strict=True)]
    score_model = [["Indicator", "Group", "Weight", "WeightMax", "Direction", "Normalisation"],
                   ["spend", "value", 70, None, "higher", "percentile"],
                   ["orders", "loyalty", 30, None, "higher", "minmax"]]
    pools = [["Pool", "Stage", "Amount", "Kind", "Incremental", "Unallocated"],
             *DEMO_TABLES["xv_CostPools"]]
    drivers = [["Stage", "From", "To", "Quantity"], *DEMO_TABLES["xv_Drivers"]]
    return {
        "XV_RFM": (transactions, None, 5),
        "XV_RFM_SEGMENT": (column(rfm, "R"), column(rfm, "F"), column(rfm, "M")),
        "XV_REPEAT": (transactions, None, "weeks"),
        "XV_DECILES": (total, column(rfm, "frequency"), 1.5),
        "XV_PARETO": (total, 0.8, 0.95),
        "XV_WHALE": (profit,),
        "XV_NBD_P": ([[0.0], [1.0], [2.0], [5.0]], 0.5, 1.2, 2.0),
        "XV_NBD_FIT": observed,
        "XV_GG_FIT": (gg_f, gg_m),
        "XV_BGNBD_FIT": (f, r, t),
        "XV_MBGNBD_FIT": (f, r, t),
        "XV_PARETONBD_FIT": (f, r, t),
        "XV_PALIVE": (bg, f, r, t, "bgnbd"),
        "XV_EXPECTED_PURCHASES": (bg, 10.0, f, r, t),
        "XV_CLV": (bg, gg, f, r, t, column(repeat, "monetary_value"), 12, None, 0.01, 0.3),
        "XV_LTV": ([[110.0, 100.0, 131.0], [50.0, 60.0, 70.0]],
                   [[10.0, 10.0, 10.0], [5.0, 5.0, 80.0]], 0.1),
        "XV_SCORE": (score_model, score_inputs, "spend", "zero"),
        "XV_ALLOCATE": (pools, drivers),
        "XV_ELASTICITY": ([[10.0], [10.0]], [[100.0], [100.0]], [[11.0], [11.0]], [[80.0], [96.0]]),
        **_retention_calls(module),
    }


def _retention_calls(module: Any) -> dict[str, tuple]:
    """BG/BB on the demo's donation histories, sBG on its regular cohort."""
    from xlvalue.workbook.template_content import demo_opportunities

    hist = demo_opportunities()
    x, tx, n, w = ([[row[j]] for row in hist] for j in range(4))
    bgbb = module.XV_BGBB_FIT(x, tx, n, w)
    survivors = [[row[1]] for row in DEMO_TABLES["xv_Survivors"] if row[2] == "regular"]
    sbg = module.XV_SBG_FIT(survivors)
    return {"XV_BGBB_FIT": (x, tx, n, w), "XV_BGBB_PREDICT": (bgbb, x, tx, n, 5, 0.1),
            "XV_SBG_FIT": (survivors,), "XV_SBG_PREDICT": (sbg, [[0.0], [1.0], [7.0]], 0.1)}


def _lite_cell(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return (v - EPOCH) / dt.timedelta(days=1)
    if isinstance(v, dt.date):
        return float((v - EPOCH.date()).days)
    return v


def lite_args(args: tuple) -> tuple:
    """What Lite passes: each argument a 2-D list, dates as serial numbers, omitted ones None."""
    out = []
    for a in args:
        if a is None:
            out.append(None)
        elif isinstance(a, list):
            out.append([[_lite_cell(v) for v in row] for row in a])
        else:
            out.append([[_lite_cell(a)]])
    return tuple(out)


def transactions_rows(n: int) -> list[list]:
    """n purchases as an xv_Transactions range (header first, datetimes as Excel holds them):
    the CDNOW master log (69,659 purchases) repeated with the copy number in the customer id,
    so that the models fit as on CDNOW whatever the size."""
    from xlvalue.datasets import load_cdnow_master

    df = load_cdnow_master()
    ids, dates, amounts = (df["CustomerID"].tolist(), df["Date"].dt.to_pydatetime().tolist(),
                           df["Amount"].astype(float).tolist())
    rows: list[list] = [["CustomerID", "Date", "Amount"]]
    copy = 0
    while len(rows) <= n:
        rows.extend([f"{c}-{copy}", d, a] for c, d, a in zip(ids, dates, amounts, strict=True))
        copy += 1
    return rows[:n + 1]
