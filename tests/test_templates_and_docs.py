"""Committed templates equal a fresh build; generated docs are current."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from xlvalue.analyses.registry import output_sheets
from xlvalue.cli.main import main
from xlvalue.cli.reference_docs import contract_markdown
from xlvalue.pipeline import new_template
from xlvalue.workbook.contract import INPUT_TABLES, SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def contents(path: Path) -> dict:
    """Everything a user sees: values and formats per cell, tables, names, validations."""
    wb = openpyxl.load_workbook(path)
    out: dict = {"sheets": wb.sheetnames,
                 "names": {n: d.attr_text for n, d in wb.defined_names.items()}}
    for ws in wb.worksheets:
        out[ws.title] = {
            "cells": [(c.coordinate, c.value, c.number_format) for row in ws.iter_rows()
                      for c in row if c.value is not None],
            "tables": {t.displayName: t.ref for t in ws.tables.values()},
            "validations": [(str(v.sqref), v.type, v.formula1) for v in
                            ws.data_validations.dataValidation],
        }
    return out


@pytest.mark.parametrize("name, demo", [("xlvalue_template.xlsx", False),
                                        ("xlvalue_demo.xlsx", True)])
def test_committed_templates_equal_a_fresh_build(tmp_path, name, demo):
    fresh = new_template(tmp_path / name, demo=demo)
    assert contents(ROOT / "templates" / name) == contents(fresh)


def test_template_follows_the_contract(tmp_path):
    wb = openpyxl.load_workbook(new_template(tmp_path / "t.xlsx"))
    for spec in INPUT_TABLES:
        ws = wb[spec.sheet]
        assert spec.name in ws.tables
        assert [c.value for c in ws[1]] == [c.name for c in spec.columns]
    assert [r[0] for r in wb["Settings"].iter_rows(min_row=2, values_only=True)] == \
        [s.key for s in SETTINGS]
    choices = {v.formula1 for v in wb["Settings"].data_validations.dataValidation}
    assert '"week,month,quarter,year"' in choices
    assert all(s in wb.sheetnames for s in output_sheets())


def test_demo_template_holds_the_cdnow_sample():
    wb = openpyxl.load_workbook(ROOT / "templates" / "xlvalue_demo.xlsx", read_only=True)
    ws = wb["Transactions"]
    assert ws.max_row == 6920
    first = next(ws.iter_rows(min_row=2, max_row=2, values_only=True))
    assert first[0] == "00004" and first[2] == 29.33


def test_contract_doc_is_current():
    assert (ROOT / "docs" / "workbook-contract.md").read_text() == contract_markdown()


def test_udf_doc_is_current():
    from xlvalue.cli.reference_docs import udf_markdown

    text = (ROOT / "docs" / "udfs.md").read_text()
    assert text == udf_markdown() and "`XV_CLV`" in text


def test_template_cli_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "t.xlsx"
    assert main(["template", "new", str(path)]) == 0
    assert main(["template", "new", str(path)]) == 2
    assert "use --force" in capsys.readouterr().err
