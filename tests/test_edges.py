"""Trust at the edges (issue 23): true problem counts per column, a broken xv_Settings name
refused, returns of customers with no purchase said exactly, '12347.0' beside 12347, year
typos and AsOfDates no analysis can cover, and the five mutants a mutation trial left alive."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName

from xlvalue.cli.main import main
from xlvalue.errors import InputError
from xlvalue.pipeline import compute
from xlvalue.workbook.contract import TRANSACTIONS
from xlvalue.workbook.ooxml import Area
from xlvalue.workbook.reader import RawRange, WorkbookReader
from xlvalue.workbook.validation import validate_table

from .conftest import make_book, write_tables

D = dt.date(2024, 1, 3)


def _compute(book: Path, only: str | None = None):
    reader = WorkbookReader.open(book)
    try:
        return compute(reader, only)
    finally:
        reader.close()


def _rows(n: int = 12) -> list[list]:
    """Four customers, a purchase a week."""
    return [[f"C{i % 4}", D + dt.timedelta(days=7 * i), 10.0 + i] for i in range(n)]


# ---- 2: every problem counted, 20 listed per column ---------------------------------------

def test_twenty_problems_listed_per_column_and_the_rest_counted():
    """30 blank ids, 25 bad dates and 500 bad amounts: 20 lines of each column (20 blank ids
    no longer hide every date and amount), then one line with the true rest per column."""
    rows = [["CustomerID", "Date", "Amount"]] + \
        [[None if i < 30 else str(i), "x" if i < 25 else D, "bad"] for i in range(500)]
    _, problems = validate_table(RawRange("xv_Transactions", "b.xlsx", Area("T", 0, 0, 500, 2),
                                          rows), TRANSACTIONS)
    lines = InputError(problems).summary().splitlines()
    assert len(lines) == 61
    assert [sum(f"T!{c}" in ln for ln in lines) for c in "ABC"] == [20, 20, 20]
    assert lines[-1] == ("... and 495 more problem(s) (xv_Transactions CustomerID: 10, "
                         "xv_Transactions Date: 5, xv_Transactions Amount: 480)")


def test_not_run_line_counts_every_problem(tmp_path):
    """A plain run leaving elasticity out for 500 bad prices says 'and 499 more (P1: 499)',
    not 'and 20 more' (the problems listed, not found)."""
    elasticity = pd.DataFrame({"Group": [f"g{i}" for i in range(500)], "P1": ["ten"] * 500,
                               "Q1": 100.0, "P2": 11.0, "Q2": 90.0})
    tx = pd.DataFrame(_rows(), columns=["CustomerID", "Date", "Amount"])
    book = write_tables(tmp_path / "b.xlsx", {"xv_Transactions": tx, "xv_Elasticity": elasticity})
    _, results, _ = _compute(book)
    assert results.not_run["elasticity"] == (
        "b.xlsx: Elasticity!B2 (xv_Elasticity): P1 'ten' is not a number (and 499 more "
        "(P1: 499))")


# ---- 4 and 8: headline figures stored as numbers (and dates) with formats, AsOfDate shown --

def test_headline_figures_are_numbers_with_formats_and_show_the_as_of_date(tmp_path, capsys):
    """xv_out_Summary holds 4 (not the text '4') formatted #,##0, the total spend 222.0
    formatted #,##0.00 and the AsOfDate as a date (a 2031-style typo shows at a glance); the
    console shows them as text."""
    book = make_book(tmp_path / "h.xlsx", _rows())
    out = tmp_path / "o.xlsx"
    assert main(["run", str(book), "--only", "rfm,ranking", "-o", str(out)]) == 0
    console = capsys.readouterr().out
    assert re.search(r"as-of date +2024-03-20\n", console)
    assert re.search(r"total spend +186.00\n", console)
    wb = load_workbook(out)
    ref = wb.defined_names["xv_out_Summary"].attr_text.split("!")[1].replace("$", "")
    cells = {row[0].value: row[1] for row in wb["xv_Summary"][ref][1:]}
    got = {k: (c.value, c.number_format) for k, c in cells.items()}
    assert got["as-of date"][0] == dt.datetime(2024, 3, 20)
    assert got["customers"] == (4, "#,##0")
    assert got["total spend"] == (pytest.approx(186.0), "#,##0.00")
    assert got["class A: share of customers"][1] == "0.0%"
    assert 0 < got["class A: share of value"][0] <= 1
    assert got["whale curve peak: % of value"][1] == '0.0"%"'


# ---- 6: a broken xv_Settings name is refused, not taken as "no settings" -----------------

@pytest.mark.parametrize("ref, says", [
    ("Settings!$A$1:$B$2,Settings!$D$1:$E$2", "expected a plain range"),
    ("'Settings!$A$1:$B$2", "expected a plain range"),
    ("Settings!$A$1:$B$2 Settings!$A$1:$A$2", "expected a plain range"),
    ("Gone!$A$1:$B$2", "refers to sheet 'Gone', which does not exist")])
def test_a_broken_settings_name_is_refused_naming_it(tmp_path, capsys, ref, says):
    """A union, an unterminated quote, an intersection or a missing sheet: check and run
    fail (exit 2) naming xv_Settings; before, CalibrationEnd was silently dropped."""
    book = make_book(tmp_path / "s.xlsx", _rows(), settings={"CalibrationEnd": D})
    wb = load_workbook(book)
    wb.defined_names["xv_Settings"] = DefinedName("xv_Settings", attr_text=ref)
    wb.save(book)
    assert main(["check", str(book)]) == 2
    err = capsys.readouterr().err
    assert "error: s.xlsx (xv_Settings): name refer" in err and says in err
    out = tmp_path / "o.xlsx"
    assert main(["run", str(book), "-q", "-o", str(out)]) == 2
    assert "(xv_Settings)" in capsys.readouterr().err and not out.exists()


# ---- 7 (and the fifth mutant): returns of customers with no purchase ---------------------

def test_returns_without_a_purchase_are_said_exactly(tmp_path):
    """C9 only returns (-25, a purchase before the log began); C1 returns -5 after buying.
    C1's return is netted; C9 is not analysed and the warning says so with the amount: the
    RFM total spend plus the left-out returns is the Amount total (before: 'kept and netted'
    for both, and the totals disagreed by 25)."""
    rows = _rows() + [["C9", D + dt.timedelta(days=3), -25.0],
                      ["C1", D + dt.timedelta(days=30), -5.0]]
    _, results, _ = _compute(make_book(tmp_path / "r.xlsx", rows), "rfm")
    rfm = results.frames["xv_out_RFM"]
    assert "C9" not in set(rfm["customer_id"])
    amount_total = sum(r[2] for r in rows)
    assert rfm["total_spend"].sum() - 25.0 == pytest.approx(amount_total)
    assert rfm.set_index("customer_id").loc["C1", "return_amount"] == -5.0
    assert "1 return(s) (negative amounts) totalling -5.00 kept and netted against spend" in \
        results.warnings
    assert ("1 return(s) totalling -25.00 left out: their 1 customer(s) ('C9') bought nothing "
            "in the window, so there is no spend to net them against and they are not "
            "analysed") in results.warnings


# ---- 8: silent slips ------------------------------------------------------------------------

def test_a_decimal_text_id_beside_the_number_is_one_customer(tmp_path):
    """The cell 12347 and the text '12347.0' (an export through a float): one customer with
    both purchases, and a warning; a lone '555.0' stays as written."""
    rows = _rows() + [[12347, D, 5.0], ["12347.0", D + dt.timedelta(days=9), 6.0],
                      ["555.0", D, 1.0]]
    _, results, _ = _compute(make_book(tmp_path / "i.xlsx", rows), "rfm")
    rfm = results.frames["xv_out_RFM"].set_index("customer_id")
    assert "12347.0" not in rfm.index and "555.0" in rfm.index
    assert rfm.loc["12347", "frequency"] == 2 and rfm.loc["12347", "total_spend"] == 11.0
    assert any("1 customer id(s) written as text with a decimal point (e.g. '12347.0') taken "
               "as the customer written without it ('12347')" in w for w in results.warnings)


def test_a_year_typo_that_becomes_asofdate_is_warned(tmp_path):
    """One purchase dated 2091 among 2024's: it becomes AsOfDate (every recency ~67 years);
    the warning names its cell and that it lies after today."""
    rows = _rows() + [["C1", dt.date(2091, 1, 10), 7.0]]
    _, results, _ = _compute(make_book(tmp_path / "y.xlsx", rows), "rfm")
    found = [w for w in results.warnings if "more than a year after 99% of the others" in w]
    assert found == [
        f"1 transaction(s) dated more than a year after 99% of the others (up to 2091-01-10 at "
        f"Transactions!B14), which becomes AsOfDate: every recency and age counts from it (and "
        f"it lies after today, {dt.date.today()}); check them for a typo in the year"]


def test_an_asofdate_after_today_is_warned(tmp_path):
    _, results, _ = _compute(make_book(tmp_path / "a.xlsx", _rows(),
                                       settings={"AsOfDate": dt.date(2090, 6, 30)}), "rfm")
    assert (f"AsOfDate 2090-06-30 (set in xv_Settings) lies after today ({dt.date.today()}): "
            "recency and age count from it; check it for a typo") in results.warnings


def test_an_ordinary_log_gets_no_date_warning(tmp_path):
    _, results, _ = _compute(make_book(tmp_path / "o.xlsx", _rows()), "rfm")
    assert not [w for w in results.warnings if "typo" in w]


# ---- 9b: a window no analysis can cover is refused --------------------------------------

def _many_customers(n: int = 40) -> list[list]:
    """Enough customers for every model to fit: the analyses that spun for ever run."""
    rng = np.random.default_rng(4)
    return [["K0", D, 10.0]] + [
        [f"K{c}", D + dt.timedelta(days=int(d)), 10.0] for c in range(n)
        for d in np.sort(rng.choice(np.arange(1, 300), int(rng.integers(1, 6)), replace=False))]


@pytest.mark.parametrize("what, settings, extra, says", [
    ("AsOfDate 9999-12-31", {"AsOfDate": dt.date(9999, 12, 31)}, [],
     "s.xlsx: Settings!B2 (xv_Settings): the observation window from the first purchase "
     "(2024-01-03) to AsOfDate (9999-12-31) spans 7,976 years, more than the 100 years an "
     "analysis covers: check AsOfDate for a typo"),
    ("a purchase on 9999-12-31", None, [["K1", dt.date(9999, 12, 31), 5.0]],
     "s.xlsx: Transactions!B{row} (xv_Transactions): the observation window from the first "
     "purchase (2024-01-03) to AsOfDate (9999-12-31) spans 7,976 years, more than the 100 "
     "years an analysis covers: the latest date 9999-12-31 looks like a typo"),
    ("a purchase on 1900-01-01", None, [["K1", 1, 5.0]],
     "Transactions!B{row} (xv_Transactions): the observation window from the first purchase "
     "(1900-01-01) to AsOfDate")])
def test_a_window_beyond_the_horizon_is_refused(tmp_path, capsys, what, settings, extra, says):
    """Before, AsOfDate 9999-12-31 (a valid date) kept check and run busy for minutes in the
    weekly tracking (420,000 weeks); now every date the reader accepts either fits the
    documented 100-year window or is refused at once, naming the date at fault."""
    rows = _many_customers() + extra
    book = make_book(tmp_path / "s.xlsx", rows, settings=settings)
    assert main(["check", str(book)]) == 2
    assert says.format(row=len(rows) + 1) in capsys.readouterr().err


@pytest.mark.parametrize("key, value, says", [
    ("AsOfDate", dt.date(2020, 1, 1), "AsOfDate 2020-01-01 is before the first purchase"),
    ("CalibrationEnd", dt.date(2030, 1, 1), "CalibrationEnd 2030-01-01 must lie between")])
def test_a_date_setting_at_fault_is_named_by_its_cell(tmp_path, capsys, key, value, says):
    book = make_book(tmp_path / "k.xlsx", _rows(), settings={"RFMBins": 5, key: value})
    assert main(["check", str(book)]) == 2
    assert f"error: k.xlsx: Settings!B3 (xv_Settings): {says}" in capsys.readouterr().err


# ---- 16: the mutants that lived --------------------------------------------------------------

def test_average_yearly_spend_divides_by_the_years():
    """Two years observed: 2 customers spending 300 and 100 in group 1 average 200 over the
    whole window, 100 a year."""
    from xlvalue.analytics.ranking import decile_table

    t = decile_table(np.array([300.0, 100.0]), np.array([300.0, 100.0]), np.array([3.0, 1.0]),
                     years=2.0, groups=1)
    assert t["avg_yearly_spend"].tolist() == [100.0]


def _defined_names(path: Path) -> list[tuple[str, str | None]]:
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/workbook.xml").decode()
    return [(n.lower(), s) for s, n in re.findall(
        r'<definedName\b(?=[^>]*?(?:localSheetId="(\d+)")?)[^>]*?name="([^"]+)"', xml)]


def test_a_rerun_never_holds_a_name_twice(tmp_path):
    """A run over its own output, and --in-place twice: every xv_out_* name once (Excel
    refuses a workbook that defines a name twice)."""
    book = make_book(tmp_path / "b.xlsx", _rows())
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    assert main(["run", str(book), "--only", "rfm", "-q", "-o", str(first)]) == 0
    assert main(["run", str(first), "--only", "rfm", "-q", "-o", str(second)]) == 0
    assert main(["run", str(book), "--only", "rfm", "-q", "--in-place"]) == 0
    assert main(["run", str(book), "--only", "rfm", "-q", "--in-place"]) == 0
    for path in (second, book):
        names = _defined_names(path)
        assert "xv_out_rfm" in {n for n, _ in names}
        assert [k for k, v in Counter(names).items() if v > 1] == [], path.name
    assert sorted(_defined_names(second)) == sorted(_defined_names(first))


def test_a_repeat_day_netting_negative_stays_out_of_the_spend_model():
    """A customer whose repeat day nets negative (returns above the purchases) has a negative
    mean repeat spend; gamma-gamma is fitted on the positive ones only, so its parameters
    (and every CLV) are those of the others."""
    from xlvalue.analytics.clv_analysis import fit_spend_model
    from xlvalue.analytics.models.gamma_gamma import GammaGammaModel
    from xlvalue.analytics.rfm import repeat_summary
    from xlvalue.analytics.transactions import TransactionLog, day_number

    d0 = day_number("2024-01-01")
    log = TransactionLog.from_arrays(np.array(["N", "N", "N"], object),
                                     np.array(["2024-01-01", "2024-02-01", "2024-02-01"],
                                              "datetime64[D]"), np.array([50.0, 20.0, -30.0]))
    negative = repeat_summary(log, d0 + 60)
    assert negative["monetary_value"].tolist() == [-10.0] and negative["frequency"].tolist() == [1]
    rng = np.random.default_rng(8)
    freq = rng.integers(1, 8, 400)
    spend = GammaGammaModel.simulate({"p": 6.0, "q": 3.5, "gamma": 15.0}, freq, seed=8)
    others = pd.DataFrame({"frequency": freq, "monetary_value": spend})
    fitted = fit_spend_model(pd.concat([others, negative[["frequency", "monetary_value"]]],
                                       ignore_index=True))
    pd.testing.assert_series_equal(fitted.params_, GammaGammaModel().fit(freq, spend).params_)


def test_potential_value_from_potential_spend_without_share_of_wallet():
    """No ShareOfWallet: the share is our spend / PotentialSpend. Spend 20 of 100: the open
    wallet is 80 a period, margin 50% -> 40, two periods at 10% -> 40/1.1 + 40/1.21; spend
    50 of 40 (more than the potential): share 1, nothing open."""
    from xlvalue.analytics.customer_value import potential_value

    got = potential_value(np.array([20.0, 50.0]), np.array([100.0, 40.0]), None,
                          np.array([0.5, 0.5]), horizon=2, rate=0.1)
    np.testing.assert_allclose(got, [40 / 1.1 + 40 / 1.21, 0.0], rtol=1e-12)


# ---- the window checks on rows and on purchase days reduced elsewhere (a cluster) ----------

def _log(rows: list[tuple[str, str, float]]):
    from xlvalue.analytics.transactions import TransactionLog

    ids, days, amounts = zip(*rows, strict=True)
    return TransactionLog.from_arrays(np.array(ids, object), np.array(days, "datetime64[D]"),
                                      np.array(amounts))


def test_window_checks_agree_on_rows_and_on_reduced_purchase_days():
    """The returns and date warnings of a log and of its purchase days (what --scheduler
    reads) are the same: a day holding a purchase and a return counts as bought."""
    from xlvalue.analytics.transactions import ReducedLog, day_number, purchase_days
    from xlvalue.workbook.window import LogDays, date_warnings, return_warnings

    log = _log([("A", "2024-01-01", 10.0), ("A", "2024-01-01", -4.0), ("B", "2024-02-01", -6.0),
                ("B", "2024-02-01", -1.0), ("C", "2024-03-01", 5.0), ("C", "2024-04-01", -2.0),
                ("D", "2024-03-05", 5.0), ("D", "2026-09-01", 5.0)])
    reduced = ReducedLog(log.customers_only(), purchase_days(log))
    as_of = day_number("2026-09-01")
    today = dt.date(2026, 10, 1)
    for d in (LogDays.of(log), LogDays.of(reduced)):
        assert return_warnings(d, as_of) == [
            "2 return(s) (negative amounts) totalling -6.00 kept and netted against spend",
            "2 return(s) totalling -7.00 left out: their 1 customer(s) ('B') bought nothing in "
            "the window, so there is no spend to net them against and they are not analysed"]
        assert date_warnings(d, as_of, False, None, today) == [
            "1 transaction(s) dated more than a year after 99% of the others (up to 2026-09-01)"
            ", which becomes AsOfDate: every recency and age counts from it; check them for a "
            "typo in the year"]
        assert date_warnings(d, day_number("2026-08-01"), True, None, today) == []


@pytest.mark.parametrize("seed", range(8))  # far dates in 1, 4 and 6; typos too many in 2, 3,
def test_far_dates_are_those_beyond_numpys_99_percent_point(seed):  # 5 and 7 (or not far)
    """Counted as numpy counts: the transactions dated more than 365 days after
    np.quantile(days, 0.99, method='lower')."""
    from xlvalue.analytics.transactions import TransactionLog
    from xlvalue.workbook.window import LogDays, date_warnings

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 600))
    day = rng.integers(19000, 19000 + int(rng.integers(10, 900)), n)
    typos = rng.choice(n, int(rng.integers(0, n // 50 + 2)), replace=False)
    day[typos] += int(rng.integers(300, 4000))
    log = TransactionLog(np.array(["x"], object), np.zeros(n, np.int32), day.astype(np.int32),
                         np.ones(n))
    far = int((day > np.quantile(day, 0.99, method="lower") + 365).sum())
    said = date_warnings(LogDays.of(log), int(day.max()), True, None, dt.date(2099, 1, 1))
    assert (said[0].startswith(f"{far:,} transaction(s) dated more than a year") if far
            else said == [])
