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
    """The demo workbook with a sheet of XV_ formulas as Excel stores spilled results."""
    wb = openpyxl.load_workbook(demo_book)
    ws = wb.create_sheet("Formulas")
    ws["A1"] = ArrayFormula("A1:K2358", "=_xludf.XV_RFM(Transactions!A1:C6920, Settings!B2)")
    ws["M1"] = "=1+0.84"  # an ordinary formula between two XV_ cells
    ws["N1"] = ArrayFormula("N1:N2357", "=XV_NBD_P(C2:C2358, M1, 2.67)")
    ws["P1"] = ArrayFormula("P1:Q102", "=XV_WHALE(N1#)")  # reads the other XV_ cell's spill
    ws["S1"] = "=XV_DECILES(\"abc\")"  # not numbers: a readable error in the cell
    path = tmp_path_factory.mktemp("eval") / "formulas.xlsx"
    wb.save(path)
    return path


@pytest.mark.slow
def test_eval_equals_core(formula_book, tmp_path, capsys):
    out = tmp_path / "computed.xlsx"
    report = tmp_path / "values.json"
    assert main(["eval", str(formula_book), "-o", str(out), "--report", str(report)]) == 0
    assert "4 XV_ formula(s) computed" in capsys.readouterr().out
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
    nbd = values.loc[values["formula"] == "=XV_NBD_P(0,1.84,2.67)", "value"].astype(float)
    assert nbd.iloc[0] == pytest.approx(nbd_pmf(np.array([0.0]), 1.84, 2.67)[0], rel=1e-12)


def test_plain_array_formula_spills_or_says_why_not(tmp_path, capsys):
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
    cells = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("S").to_python()
    assert cells[0][:3] == ["point_elasticity", "arc_elasticity", "class"]
    assert cells[1][2] == "elastic"
    assert "'abc' is not a number" in cells[4][0]
    assert "A8 is not empty" in cells[6][0] and "#SPILL!" in cells[6][0]
    np.testing.assert_allclose([cells[6][2], cells[7][2], cells[8][2]],
                               nbd_pmf(np.array([0.0, 1.0, 2.0]), 1.84, 2.67), rtol=1e-12)
    err = capsys.readouterr().err
    assert "#VALUE!" not in err


def test_eval_shows_progress_and_is_fast_on_one_formula(demo_book, tmp_path, capsys):
    """One formula in the demo workbook: only the cells it reads reach the formula engine."""
    wb = openpyxl.load_workbook(demo_book)
    wb["Settings"]["E2"] = "=XV_NBD_P(2, 1.84, 2.67)"
    wb.save(tmp_path / "one.xlsx")
    assert main(["eval", str(tmp_path / "one.xlsx"), "--report", str(tmp_path / "v.csv")]) == 0
    err = capsys.readouterr().err
    assert "loading the formula engine" in err and "computing 1 formula(s) over 1 cell(s)" in err
