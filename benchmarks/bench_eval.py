"""`xlvalue eval` of one formula in the demo workbook: the reduced model (only the cells the
XV_ formulas read go to the `formulas` engine) against the old whole-workbook model, both
measured in this run (issue 17: ~21 s before, target at least 5x faster)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import openpyxl

from xlvalue.formula_eval.evaluate import _register, evaluate
from xlvalue.workbook.template import build_template

from .common import report


def _whole_workbook(book: Path) -> object:
    """The old path: openpyxl loads every cell, `formulas` compiles the whole workbook."""
    import formulas

    _register()
    return formulas.ExcelModel().loads(str(book)).finish().calculate()


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        book = build_template(Path(tmp) / "demo.xlsx", demo=True)
        wb = openpyxl.load_workbook(book)
        wb["Settings"]["E2"] = "=XV_NBD_P(2, 1.84, 2.67)"
        wb.save(book)
        evaluate(book)  # imports and function registration out of the timings
        ours = min(_timed(lambda: evaluate(book)) for _ in range(1 if quick else 3))
        old = _timed(lambda: _whole_workbook(book))
        report("eval: one XV_ formula in the demo workbook", ours, old,
               "whole-workbook model", "ratio <= 0.2 (5x faster)")
        print(f"  speed-up {old / ours:.1f}x", flush=True)
