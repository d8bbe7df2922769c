"""`xlvalue eval`: XV_ formulas computed without Excel equal the core results."""

from __future__ import annotations

import datetime as dt
import zipfile

import numpy as np
import openpyxl
import pytest
import python_calamine as pc
from openpyxl.worksheet.formula import ArrayFormula

from xlvalue.analytics.models import nbd_pmf
from xlvalue.analytics.ranking import whale_curve
from xlvalue.analytics.rfm import rfm_summary, score_rfm
from xlvalue.analytics.transactions import TransactionLog, day_number
from xlvalue.cli.main import main
from xlvalue.datasets import load_cdnow_sample

from .conftest import make_book

pytest.importorskip("formulas", reason="the eval extra is part of make test")


@pytest.fixture(scope="module")
def formula_book(demo_book, tmp_path_factory):
    """The demo workbook with a sheet of XV_ formulas as Excel stores spilled results, and
    a sheet of formulas chained as a user types them."""
    wb = openpyxl.load_workbook(demo_book)
    ws = wb.create_sheet("Formulas")
    ws["A1"] = ArrayFormula("A1:K2358", "=_xludf.XV_RFM(Transactions!A1:C6920, Settings!B2)")
    ws["M1"] = "=1+0.84"  # an ordinary formula between two XV_ cells
    ws["N1"] = ArrayFormula("N1:N2357", "=XV_NBD_P(C2:C2358, M1, 2.67)")
    ws["P1"] = ArrayFormula("P1:Q102", "=XV_WHALE(N1#)")  # reads the other XV_ cell's spill
    ws["S1"] = "=XV_DECILES(\"abc\")"  # not numbers: a readable error in the cell
    # the README's chain typed as plain formulas (as a user types them in Excel 365: nothing
    # records the spill ranges in the file)
    ws = wb.create_sheet("Chain")
    ws["A1"] = "=XV_REPEAT(Transactions!A1:C6920)"  # spills A1:E2358
    ws["H1"] = "=XV_BGNBD_FIT(B2:B2358, C2:C2358, D2:D2358)"  # reads A1's spill
    ws["T1"] = "=XV_PALIVE(H1#, B2:B2358, C2:C2358, D2:D2358)"  # the fit's spill by H1#
    ws["V1"] = "=XV_PALIVE(H1:S5, Chain!B:B, Chain!C:C, Chain!D:D)"  # whole columns
    ws["X1"] = "=XV_GG_FIT(A1#)"  # the whole repeat table: its repeat customers
    ws["AH1"] = "=XV_BGNBD_FIT(C2:C2358, C2:C2358, D2:D2358)"  # recency as frequency: fails
    ws["AT1"] = "=XV_PALIVE(AH1#, B2:B2358, C2:C2358, D2:D2358)"  # names the failed step
    path = tmp_path_factory.mktemp("eval") / "formulas.xlsx"
    wb.save(path)
    return path


@pytest.mark.slow
def test_eval_equals_core(formula_book, tmp_path, capsys):
    out = tmp_path / "computed.xlsx"
    report = tmp_path / "values.json"
    assert main(["eval", str(formula_book), "-o", str(out), "--report", str(report)]) == 0
    assert "11 XV_ formula(s) computed" in capsys.readouterr().out
    cells = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Formulas").to_python()
    log = TransactionLog.from_frame(load_cdnow_sample())
    core = score_rfm(rfm_summary(log, day_number("1998-06-30"))).table
    assert cells[0][:3] == ["customer_id", "recency_days", "frequency"]
    assert [r[0] for r in cells[1:2358]] == core["customer_id"].tolist()
    np.testing.assert_allclose([r[3] for r in cells[1:2358]], core["monetary"], rtol=1e-12)
    assert [r[10] for r in cells[1:2358]] == core["segment"].tolist()
    p = nbd_pmf(core["frequency"].to_numpy(), 1.84, 2.67)
    np.testing.assert_allclose([r[13] for r in cells[0:2357]], p, rtol=1e-12)
    whale = whale_curve(p).curve
    np.testing.assert_allclose([r[16] for r in cells[1:102]], whale["pct_profit"], rtol=1e-12)
    assert str(cells[0][18]).startswith("#XV! ")
    # formulas stay in the copy, the input is untouched
    with zipfile.ZipFile(out) as zf:
        sheet = next(n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")
                     and b"XV_NBD_P" in zf.read(n))
        assert b"<f" in zf.read(sheet)
    assert "computed" not in openpyxl.load_workbook(formula_book).sheetnames
    assert report.read_text().count('"formula"') > 1000


def test_eval_without_xv_formulas(capsys, tmp_path):
    book = make_book(tmp_path / "plain.xlsx", [["1", dt.date(2024, 1, 1), 10.0]],
                     {"AsOfDate": dt.date(2024, 12, 31)})
    assert main(["eval", str(book)]) == 2
    assert "no cell calls an XV_ function" in capsys.readouterr().err
    wb = openpyxl.load_workbook(book)
    wb["Settings"]["E1"] = "=XV_NBD_P(1, 2, 3) +* oops"
    wb.save(tmp_path / "bad.xlsx")
    assert main(["eval", str(tmp_path / "bad.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "cannot compute the workbook's formulas" in err and "Traceback" not in err


def test_committed_formulas_workbook_equals_a_fresh_build_and_evaluates(tmp_path, capsys):
    """templates/xlvalue_formulas.xlsx is made by code, and every formula computes."""
    from pathlib import Path

    from tests.test_templates_and_docs import contents
    from xlvalue.formula_eval.formulas_workbook import build_formulas_workbook

    def plain(path):  # array formulas compared by range and text
        return {
            k: ([(c, (v.ref, v.text) if isinstance(v, ArrayFormula) else v, f)
                 for c, v, f in s["cells"]] if isinstance(s, dict) and "cells" in s else s)
            for k, s in contents(path).items()}

    shipped = Path(__file__).resolve().parents[1] / "templates" / "xlvalue_formulas.xlsx"
    assert plain(shipped) == plain(build_formulas_workbook(tmp_path / "f.xlsx"))
    report = tmp_path / "values.csv"
    assert main(["eval", str(shipped), "--report", str(report), "-q"]) == 0
    out = capsys.readouterr()
    assert "8 XV_ formula(s) computed," in out.out and "error" not in out.out
    import pandas as pd

    values = pd.read_csv(report)
    assert not values["value"].astype(str).str.startswith("#").any()
    nbd = values.loc[values["formula"] == "'=XV_NBD_P(0,1.84,2.67)", "value"].astype(float)
    assert nbd.iloc[0] == pytest.approx(nbd_pmf(np.array([0.0]), 1.84, 2.67)[0], rel=1e-12)


def test_plain_array_formula_spills_or_says_why_not(tmp_path, capsys, engine_calls):
    """A plain (non-array) formula whose result is an array spills as in Excel 365; where
    the spill range holds data the cell says so; a text argument is 'not a number'."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"] = "=XV_ELASTICITY(10,100,11,80)"  # 2 x 3 result
    ws["A5"] = '=XV_NBD_P("abc", 1.84, 2.67)'
    ws["A7"] = "=XV_NBD_P(A8:A10, 1.84, 2.67)"  # would spill over its own input
    ws["A8"], ws["A9"], ws["A10"] = 0, 1, 2
    ws["C7"] = "=XV_NBD_P(A8:A10, 1.84, 2.67)"  # room to spill
    book = tmp_path / "plain.xlsx"
    wb.save(book)
    out = tmp_path / "computed.xlsx"
    assert main(["eval", str(book), "-o", str(out), "-q"]) == 0
    assert engine_calls == []  # all over constants (A7's spill over its own input included)
    cells = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("S").to_python()
    assert cells[0][:3] == ["point_elasticity", "arc_elasticity", "class"]
    assert cells[1][2] == "elastic"
    assert "'abc' is not a number" in cells[4][0]
    assert "A8 is not empty" in cells[6][0] and "#SPILL!" in cells[6][0]
    np.testing.assert_allclose([cells[6][2], cells[7][2], cells[8][2]],
                               nbd_pmf(np.array([0.0, 1.0, 2.0]), 1.84, 2.67), rtol=1e-12)
    err = capsys.readouterr().err
    assert "#VALUE!" not in err


def test_eval_shows_progress_and_sends_the_engine_only_the_cells_read(demo_book, tmp_path, capsys):
    """One formula in the demo workbook: progress from the first second; a formula that is
    not one XV_ call is compiled alone (no engine); the engine-only path hands the engine
    only the cells the formula reads."""
    from xlvalue.formula_eval.evaluate import evaluate

    wb = openpyxl.load_workbook(demo_book)
    wb["Settings"]["E2"] = "=XV_NBD_P(2, 1.84, 2.67) + 0"  # an operator
    wb["Settings"]["E3"] = "=XV_NBD_P(OFFSET(E5,0,0), 1.84, 2.67)"  # needs the model
    wb.save(tmp_path / "one.xlsx")
    assert main(["eval", str(tmp_path / "one.xlsx"), "--report", str(tmp_path / "v.csv")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("  reading the formulas of one.xlsx")  # progress from the start
    assert "2 of 2 computed directly" in err and "loading the formula engine" not in err
    assert "loading the formula functions" in err
    assert "Settings!E3: #XV! OFFSET needs the whole workbook model" in err
    said: list[str] = []
    evaluate(tmp_path / "one.xlsx", said.append, engine_only=True)
    assert "loading the formula engine" in said and "computing 2 formula(s) over 3 cell(s)" in said


def _same(fast, engine):
    """Cell by cell equality of two evaluations, value types included (ids stay text)."""
    assert [(r.sheet, r.cell, r.formula) for r in fast] == \
        [(r.sheet, r.cell, r.formula) for r in engine]
    for a, b in zip(fast, engine, strict=True):
        assert type(a.value) is type(b.value), (a, b)
        if isinstance(a.value, float) and np.isnan(a.value):
            assert np.isnan(b.value)
        else:
            assert a.value == b.value, (a, b)


@pytest.fixture()
def engine_calls(monkeypatch):
    """The XV_ cells each evaluation sends to the `formulas` engine."""
    from xlvalue.formula_eval import evaluate as ev

    calls: list[set] = []
    real = ev._engine_pass

    def spy(book, targets, say, *rest):
        calls.append(set(targets))
        return real(book, targets, say, *rest)

    monkeypatch.setattr(ev, "_engine_pass", spy)
    return calls


@pytest.mark.slow
def test_direct_path_equals_the_engine_on_the_shipped_formulas_workbook(engine_calls):
    """Every formula of templates/xlvalue_formulas.xlsx, chains over the spilled RFM table
    included, is computed without the engine, and equals the engine's result."""
    from pathlib import Path

    from xlvalue.formula_eval.evaluate import evaluate

    shipped = Path(__file__).resolve().parents[1] / "templates" / "xlvalue_formulas.xlsx"
    fast = evaluate(shipped)
    assert engine_calls == []
    _same(fast, evaluate(shipped, engine_only=True))
    assert len(engine_calls) == 1 and len(engine_calls[0]) == 8


def test_xv_rfm_over_the_demo_transactions_skips_the_engine(demo_book, tmp_path, capsys,
                                                            engine_calls):
    """The README's `=XV_RFM(Transactions!A1:C6920)`: a range of constants, computed
    directly (the speed-up of issue 17 fails this test if it regresses) and equal to the
    core's RFM table; customer ids like "00004" stay text."""
    wb = openpyxl.load_workbook(demo_book)
    wb["Settings"]["E2"] = "=XV_RFM(Transactions!A1:C6920)"
    wb.save(tmp_path / "rfm.xlsx")
    report = tmp_path / "v.json"
    assert main(["eval", str(tmp_path / "rfm.xlsx"), "--report", str(report)]) == 0
    assert engine_calls == []
    assert "1 of 1 computed directly" in capsys.readouterr().err
    import pandas as pd

    values = pd.read_json(report, dtype=False)
    ids = values.loc[values["cell"].str.fullmatch(r"E\d+") & (values["cell"] != "E2"), "value"]
    log = TransactionLog.from_frame(load_cdnow_sample())
    core = score_rfm(rfm_summary(log, int(log.day.max()))).table
    assert ids.tolist() == core["customer_id"].tolist()
    assert ids.iloc[0] == "00004"


@pytest.mark.slow
def test_direct_path_equals_the_engine_on_dates_blanks_text_ids_and_formula_cells(
        tmp_path, engine_calls):
    """XV_ formulas over a range of constants (a date column, date-times, blanks, text ids
    such as "00123"), one over a range holding an ordinary formula, one nested in an
    operator and one reading that formula's result are all computed without the engine, and
    equal the engine-only evaluation."""
    from xlvalue.formula_eval.evaluate import evaluate

    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    data.append(["CustomerID", "Date", "Amount"])
    rows = [("00123", dt.date(2024, 1, 5), 10.0), ("00123", dt.datetime(2024, 3, 1, 14, 30), 0.1 + 0.2),
            ("7", dt.date(2024, 2, 1), 25), ("00042", dt.date(2024, 2, 9), 1e-7),
            ("00042", dt.date(2024, 6, 30), 12345678.123456789), ("7", dt.date(2024, 5, 2), 3)]
    for row in rows:
        data.append(list(row))
    for r, row in enumerate(rows, start=2):  # the same data again in E:G, blank rows below
        for c, v in enumerate(row, start=5):
            data.cell(r, c, v)
    data["E1"], data["F1"], data["G1"] = "CustomerID", "Date", "Amount"
    data["A8"], data["B8"], data["C8"] = "00123", dt.date(2024, 7, 1), "=C2*2"  # a formula
    for col in "BF":
        for (cell,) in data[f"{col}2:{col}8"]:
            cell.number_format = "yyyy-mm-dd"
    data["J1"] = dt.date(2024, 12, 31)
    out = wb.create_sheet("Out")
    out["A1"] = ArrayFormula("A1:K4", "=XV_RFM(Data!A1:C7, Data!J1)")  # constants: direct
    out["M1"] = "=XV_RFM(Data!E1:G12,Data!$J$1)"  # trailing blank rows: direct, spilled
    out["A10"] = "=XV_RFM(Data!$A$1:$C$8, Data!J1)"  # an ordinary formula inside: the engine
    out["A20"] = "=XV_NBD_P(1, 1.84, 2.67)*2"  # an operator: the engine
    out["A22"] = "=XV_NBD_P(A20, 1.84, 2.67)"  # reads the engine's result: the engine
    out["A24"] = ArrayFormula("A24:A27", "=XV_NBD_P(Out!C2:C4, 1.84, 2.67)")  # reads A1's result
    out["C24"] = '=XV_DECILES("abc")'  # a text argument: the cell's message
    book = tmp_path / "mixed.xlsx"
    wb.save(book)
    fast = evaluate(book)
    # the engine also recomputes M1, a plain formula that spills (its range is not in the
    # file: an engine formula reading its cells must see them as before)
    assert engine_calls == []
    _same(fast, evaluate(book, engine_only=True))
    cells = {(r.sheet, r.cell): r.value for r in fast}
    assert [cells[("Out", f"A{i}")] for i in (2, 3, 4)] == ["00123", "7", "00042"]
    assert [cells[("Out", f"A{i}")] for i in (11, 12, 13)] == ["00123", "7", "00042"]
    assert [cells[("Out", f"M{i}")] for i in (2, 3, 4)] == ["00123", "7", "00042"]
    assert cells[("Out", "C2")] == 2 and cells[("Out", "C11")] == 3  # row 8 counts in A10
    assert cells[("Out", "A27")] == "#N/A"  # three results in a four-cell array range
    assert str(cells[("Out", "C24")]).startswith("#XV! ")


@pytest.mark.slow
def test_constants_reach_the_functions_as_the_engine_hands_them(tmp_path, monkeypatch,
                                                               engine_calls):
    """The fast path hands a function the very values `formulas` does: dates as serials,
    numbers through the stored text, blanks as None, text and booleans as they are."""
    from xlvalue.excel import udfs
    from xlvalue.excel.convert import REGISTRY
    from xlvalue.formula_eval.evaluate import evaluate

    seen: list[tuple] = []

    def probe(*args):
        seen.append(args)
        return 1

    monkeypatch.setattr(udfs, "XV_PROBE", probe, raising=False)
    monkeypatch.setitem(REGISTRY, "XV_PROBE", REGISTRY["XV_NBD_P"])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "D"
    ws.append(["00123", dt.date(2020, 1, 3), 1.0, True, 0.1 + 0.2])
    ws.append(["7", dt.datetime(2020, 1, 3, 12, 30), 2.5, False, 1e20])
    ws.append([None, None, "", None, 12345678.123456789])
    ws.append([5, dt.time(12, 0), -0.0, "x", 1 / 3])
    ws["H1"] = '=XV_PROBE(D!A1:E5, 2, 2.5, "a""b", TRUE, B1, D9, .5, 1E+3)'
    ws["H2"] = "=XV_PROBE(D!$A:$B)"  # whole columns: the used range (rows 1-4)
    wb.save(tmp_path / "probe.xlsx")
    evaluate(tmp_path / "probe.xlsx")
    assert engine_calls == []
    # the engine's side is taken without the whole-column call: the engine builds all
    # 1,048,576 rows of a whole column (~20 s, a tenth of the suite's time budget); the
    # whole column's rows are compared with the bounded range's first rows instead
    del ws["H2"]
    wb.save(tmp_path / "probe_engine.xlsx")
    evaluate(tmp_path / "probe_engine.xlsx", engine_only=True)
    assert len(seen) == 3 and len(engine_calls) == 1
    for fast, engine in ((seen[0], seen[2]),
                         ([[r[:2] for r in seen[1][0]]], [[r[:2] for r in seen[2][0][:4]]])):
        assert fast[0] == engine[0]
        assert [type(a) for a in fast] == [type(a) for a in engine]
        assert [[type(v) for v in row] for row in fast[0]] == \
            [[type(v) for v in row] for row in engine[0]]
    assert seen[0] == seen[2]
    assert seen[0][0][0][:2] == ["00123", 43833] and seen[0][0][2][:3] == [None, None, None]
    assert len(seen[1][0]) == 4 and seen[1][0][-1] == [5, 0.5]  # not a million rows


def test_a_reference_too_large_to_hand_over_is_refused_naming_the_cell(tmp_path, capsys):
    """=XV_RFM(A1:XFD1048576) would be 17 billion Python values: one line, exit 2, before
    any (a whole column or row is cut to the used range instead)."""
    wb = openpyxl.Workbook()
    wb.active.title = "S"
    wb["S"]["A1"] = "id"
    wb.create_sheet("T")["E5"] = "=XV_RFM(S!A1:XFD1048576)"
    wb.save(tmp_path / "wide.xlsx")
    assert main(["eval", str(tmp_path / "wide.xlsx"), "--report", str(tmp_path / "v.csv")]) == 2
    err = capsys.readouterr().err
    assert "wide.xlsx: T!E5: a reference covers 17,179,869,184 cells" in err
    assert "XLVALUE_MAX_EVAL_RANGE_CELLS" in err and "Traceback" not in err


def test_whole_columns_feeding_xv_calls_are_the_used_range_and_cycles_are_named(
        tmp_path, capsys, engine_calls):
    """Issue 23 item 9: plain formulas over whole columns that feed an XV_ call are cut to
    the used range and computed right (=SUM(S!A:XFD) is 735, where the engine gave #REF!
    and =SUM(S!A:Z) ran out of memory); a circular reference names its cells and exits 2
    (it said "2 computed" with blank values)."""
    wb = openpyxl.Workbook()
    s = wb.active
    s.title = "S"
    for ref, v in {"A1": 100, "B1": 200, "C1": 300, "A2": 35, "B2": 100}.items():
        s[ref] = v
    t = wb.create_sheet("T")
    t["A1"], t["B1"] = "=SUM(S!A:XFD)", "=XV_LTV(T!A1, 0, 0)"  # rate 0, no cost: V = Q
    t["A2"], t["B2"] = "=SUM(S!A:A)+SUM(S!1:1)", "=XV_LTV(T!A2, 0, 0)"
    t["A3"], t["B3"] = "=SUM(S!A:Z)*2", "=XV_LTV(A3, 0, 0)"
    wb.save(tmp_path / "cols.xlsx")
    report = tmp_path / "v.json"
    assert main(["eval", str(tmp_path / "cols.xlsx"), "--report", str(report), "-q"]) == 0
    assert engine_calls == []
    import json

    values = {r["cell"]: r["value"] for r in json.loads(report.read_text())}
    assert values == {"B1": 735, "B2": 135 + 600, "B3": 1470}
    t["C1"] = "=XV_NBD_P(T!D1, 1.84, 2.67)"
    t["D1"] = "=XV_NBD_P(C1 + 0, 1.84, 2.67)"
    t["E1"] = "=XV_NBD_P(T!D1, 1, 1)"  # reads the cycle
    wb.save(tmp_path / "cycle.xlsx")
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "cycle.xlsx"), "--report", str(report)]) == 2
    err = capsys.readouterr().err
    assert "T!C1: #XV! circular reference: T!C1 -> T!D1 -> T!C1" in err
    assert "T!D1: #XV! circular reference: T!C1 -> T!D1 -> T!C1" in err
    assert "T!E1: #XV! x: T!D1 shows an error: circular reference" in err
    values = {r["cell"]: r["value"] for r in json.loads(report.read_text())}
    assert values["B1"] == 735 and values["B3"] == 1470  # the rest is computed


def test_eval_report_neutralises_formula_text_in_csv(tmp_path, capsys):
    """Issue 23 item 11: data text such as +cmd|' /C calc'!A0, -1+2 or @SUM(1) reaches the
    values report (here as customer ids XV_RFM returns); in a CSV every text field that
    begins with =, +, -, @, tab or CR gets a leading ' (OWASP), numbers stay numbers; the
    JSON report keeps the text as it is."""
    import csv
    import json

    from xlvalue.workbook.reports import csv_safe

    ids = ["+cmd|' /C calc'!A0", "-1+2", "@SUM(1)", "plain"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "D"
    ws.append(["CustomerID", "Date", "Amount"])
    for i, cid in enumerate(ids):
        ws.append([cid, dt.date(2024, 1, 1 + i), 10.0 + i])
    ws["E1"] = "=XV_RFM(D!A1:C5)"
    wb.save(tmp_path / "inj.xlsx")
    csv_report, json_report = tmp_path / "v.csv", tmp_path / "v.json"
    assert main(["eval", str(tmp_path / "inj.xlsx"), "--report", str(csv_report), "-q"]) == 0
    assert main(["eval", str(tmp_path / "inj.xlsx"), "--report", str(json_report), "-q"]) == 0
    rows = list(csv.DictReader(csv_report.open(newline="")))
    shown = {r["value"] for r in rows if r["cell"][0] == "E"}
    for cid in ids[:3]:
        assert "'" + cid in shown and cid not in shown
    assert "plain" in shown
    assert rows[0]["formula"] == "'=XV_RFM(D!A1:C5)"
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
    raw = json.loads(json_report.read_text())
    assert set(ids) <= {r["value"] for r in raw} and raw[0]["formula"] == "=XV_RFM(D!A1:C5)"
    # tab and CR (the cell readers strip them from ids), numbers, dates
    assert [csv_safe(v) for v in ("\tx", "\rx", -5.0, 3, None, "a=b")] == \
        ["'\tx", "'\rx", -5.0, 3, None, "a=b"]


def test_the_eval_door_imports_no_cli_and_no_private_names():
    """Issue 22: formula_eval imported the writer's private _Package and xlvalue.cli.batch
    (cli.main -> formula_eval -> cli.batch -> cli.main): it now uses public functions of the
    workbook layer and never imports the CLI."""
    import ast
    from pathlib import Path

    import xlvalue.formula_eval

    for path in Path(xlvalue.formula_eval.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xlvalue"):
                assert not node.module.startswith("xlvalue.cli"), (path.name, node.module)
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, (path.name, node.module, private)


@pytest.mark.slow
def test_the_readme_chain_typed_as_plain_formulas_equals_the_pipeline(
        formula_book, demo_run, demo_output, tmp_path, capsys, engine_calls):
    """Issue 25 items 1 and 3: XV_REPEAT -> XV_BGNBD_FIT -> XV_PALIVE typed as plain formulas
    (the fit reads the repeat table's spill, P(alive) the fit's by H1#) gives the pipeline's
    xv_out_CLV.p_alive for every customer (same parameters, so to 1e-12); whole columns over
    the spill give the same; XV_GG_FIT(A1#) fits the repeat customers of the whole table as
    the pipeline does (xv_out_Models, 1,139 customers) and says how many it left out; a
    failing step says what failed and the step after it names the cell (it showed a bare
    #VALUE!, and H1# stopped the whole evaluation)."""
    import json

    report = tmp_path / "v.json"
    assert main(["eval", str(formula_book), "--report", str(report), "-q"]) == 0
    assert engine_calls == []
    values = {r["cell"]: r["value"] for r in json.loads(report.read_text())
              if r["sheet"] == "Chain"}
    assert values["A1"] == "customer_id" and values["E1"] == "monetary_value"
    assert values["H1"] == "parameter" and values["H2"] == "r"
    ws = demo_output["xv_CLV"]
    name = demo_output.defined_names["xv_out_CLV"]
    sheet, area = next(iter(name.destinations))
    rows = [[c.value for c in r] for r in demo_output[sheet][area.replace("$", "")]]
    assert ws.title == sheet
    header = rows[0]
    p_alive = {r[0]: r[header.index("p_alive")] for r in rows[1:]}
    ids = [values[f"A{i}"] for i in range(2, 2359)]
    assert len(ids) == 2357 and set(ids) == set(p_alive)
    np.testing.assert_allclose([values[f"T{i}"] for i in range(1, 2358)],
                               [p_alive[c] for c in ids], rtol=1e-12)
    assert [values[f"V{i}"] for i in range(1, 2358)] == [values[f"T{i}"] for i in range(1, 2358)]
    models = demo_output.defined_names["xv_out_Models"]
    sheet, area = next(iter(models.destinations))
    gg = {r[1].value: r[2].value for r in demo_output[sheet][area.replace("$", "")]
          if r[0].value == "gammagamma" and "full period" in str(r[4].value)}
    for k, name in enumerate(("p", "q", "gamma", "log_likelihood"), start=2):
        assert values[f"X{k}"] == name
        assert values[f"Y{k}"] == pytest.approx(gg[name], rel=1e-12)
    assert (values["X8"], values["Y8"]) == ("customers", gg["customers"]) == ("customers", 1139)
    assert (values["X10"], values["Y10"]) == ("left_out_no_repeat", 2357 - 1139)
    assert values["AH1"].startswith("#XV! frequency must be a whole number >= 0; row(s) 1, 2")
    assert values["AT1"] == "#XV! params: Chain!AH1 shows an error: " + values["AH1"][5:]


@pytest.mark.slow
def test_text_that_begins_with_an_equals_sign_stays_text(tmp_path, engine_calls):
    """Issue 23 item 5: customer ids stored as text `=1+1`, `=SUM(Data!C2:C4)` and
    `=HYPERLINK(...)` come back from XV_RFM as those texts (they came back as 2, 1180 and
    #NAME?), in the direct path and in the engine's."""
    from xlvalue.formula_eval.evaluate import evaluate

    ids = ["=1+1", "=SUM(Data!C2:C4)", '=HYPERLINK("http://x","y")']
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["CustomerID", "Date", "Amount"])
    for i, cid in enumerate(ids):
        ws.append([cid, dt.date(2024, 1, 1 + i), 10.0 * (i + 1)])
        ws.cell(i + 2, 1).data_type = "s"  # what Excel saves for a typed '=1+1
    ws["E1"] = "=XV_RFM(Data!A1:C4)"
    wb.save(tmp_path / "text.xlsx")
    for engine_only in (False, True):
        cells = {r.cell: r.value for r in evaluate(tmp_path / "text.xlsx", engine_only=engine_only)}
        assert sorted(cells[f"E{i}"] for i in (2, 3, 4)) == sorted(ids), engine_only
    assert len(engine_calls) == 1  # the engine-only evaluation alone


def test_spills_that_may_reach_each_others_reads_are_ordered_by_their_extent(tmp_path, capsys):
    """Two plain formulas each of which may, before it is computed, spill over what the
    other reads: the first pass guesses an order, the second orders them by the extents
    found (B1 reads A10's spill A11:A12, A10 reads constants that B1 cannot reach); a
    formula that reads its own cell is a circular reference."""
    from xlvalue.formula_eval.evaluate import evaluate

    wb = openpyxl.Workbook()
    s = wb.active
    s.title = "S"
    s["E1"], s["E2"], s["E3"] = 0, 1, 2
    s["A10"] = "=XV_NBD_P(E1:E3, 1.84, 2.67)"  # spills A10:A12
    s["B1"] = "=XV_WHALE(A11:A12)"  # A11:A12 are filled by A10's spill; spills B1:C102
    s["G1"] = "=XV_NBD_P(G1, 1.84, 2.67)"
    wb.save(tmp_path / "order.xlsx")
    cells = {r.cell: r.value for r in evaluate(tmp_path / "order.xlsx")}
    p = nbd_pmf(np.array([0.0, 1.0, 2.0]), 1.84, 2.67)
    np.testing.assert_allclose([cells["A10"], cells["A11"], cells["A12"]], p, rtol=1e-12)
    curve = whale_curve(p[1:]).curve
    np.testing.assert_allclose([cells[f"C{i}"] for i in range(2, 103)], curve.iloc[:, 1],
                               rtol=1e-12)
    assert cells["G1"].startswith("#XV! circular reference: S!G1 -> S!G1")
