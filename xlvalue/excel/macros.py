"""Ribbon macros: one entry per button, each running the same pipeline as `xlvalue run`.

The add-in's VBA callback calls `ribbon(control.Id)` through xlwings' RunPython; the workbook
is `xw.Book.caller()`. User errors are shown in an alert with the located problems, never as a
Python traceback; progress goes to Excel's status bar.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from xlvalue.cli.headless_run import compute
from xlvalue.errors import XlvalueError
from xlvalue.excel.xlwings_book import XlwingsWorkbook
from xlvalue.pipeline import sheet_outputs

__all__ = ["OTHER_BUTTONS", "RUN_BUTTONS", "check_inputs", "clear_outputs", "new_template",
           "ribbon", "run"]

# ribbon control id -> the analyses it runs (None: everything the workbook has inputs for)
RUN_BUTTONS: dict[str, str | None] = {
    "xvRunAll": None,
    "xvRFM": "rfm,ranking",
    "xvCLV": "clv",
    "xvScores": "scores",
    "xvCosting": "costing,elasticity",
    "xvCharts": None,  # charts are rebuilt by every run
}
OTHER_BUTTONS = ("xvCheck", "xvClear", "xvNewTemplate")


def _caller(book: Any = None) -> XlwingsWorkbook:
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    return XlwingsWorkbook(book)


def _alert(xb: XlwingsWorkbook, text: str, title: str = "xlvalue", mode: str = "info") -> None:
    """A message box in Excel (xlwings App.alert: Windows and macOS)."""
    xb.xlbook.app.alert(text, title=title, mode=mode)


def run(only: str | None = None, book: Any = None) -> bool:
    """Run analyses on the calling workbook and write the xv_out_* blocks; False on user error."""
    xb = _caller(book)
    try:
        xb.status("xlvalue: reading inputs ...")
        _, results, log = compute(xb, only, lambda m: xb.status(f"xlvalue: {m} ..."))
        xb.status("xlvalue: writing results ...")
        xb.write_sheets(sheet_outputs(results, log))
        warnings = list(results.warnings) + [
            f"chart not drawn on macOS (its columns are not adjacent; `xlvalue run` draws it): {c}"
            for c in xb.skipped_charts]
        if warnings:
            _alert(xb, "Done, with warnings:\n" + "\n".join(warnings))
        return True
    except XlvalueError as exc:
        _alert(xb, str(exc), "xlvalue: please check the inputs", "critical")
        return False
    finally:
        xb.status(False)


def check_inputs(book: Any = None) -> bool:
    """Validate every input range without writing anything: the path a run takes (so a
    workbook the check accepts is one the run accepts), minus the writing."""
    xb = _caller(book)
    try:
        inputs, results, _ = compute(xb, None)
    except XlvalueError as exc:
        _alert(xb, str(exc), "xlvalue: please check the inputs", "critical")
        return False
    lines = [f"{r.name}: {r.address}, {r.rows} rows" for r in inputs.records]
    _alert(xb, "Inputs are valid.\n" + "\n".join(lines + results.warnings))
    return True


def clear_outputs(book: Any = None) -> int:
    """Empty xlvalue's output sheets and delete the xv_out_* names; returns names removed."""
    from xlvalue.workbook.contract import output_sheets

    xb = _caller(book)
    ours = {s.lower() for s in output_sheets()}
    for sheet in xb.xlbook.sheets:
        if str(sheet.name).lower() in ours:
            for chart in list(sheet.charts):
                chart.delete()
            sheet.clear()
    removed = 0
    for name in list(xb.xlbook.names):
        if str(name.name).split("!", 1)[-1].lower().startswith("xv_out_"):
            name.delete()
            removed += 1
    return removed


def new_template() -> Path:
    """Write a fresh template workbook to a temporary folder and open it in Excel."""
    import xlwings as xw

    from xlvalue.workbook.template import build_template  # openpyxl: desktop Excel only

    path = build_template(Path(tempfile.mkdtemp(prefix="xlvalue_")) / "xlvalue_template.xlsx")
    xw.Book(str(path))
    return path


def ribbon(control_id: str, book: Any = None) -> Any:
    """Dispatch a ribbon button (the VBA callback passes control.Id)."""
    if control_id in RUN_BUTTONS:
        return run(RUN_BUTTONS[control_id], book)
    if control_id == "xvCheck":
        return check_inputs(book)
    if control_id == "xvClear":
        return clear_outputs(book)
    if control_id == "xvNewTemplate":
        return new_template()
    raise ValueError(f"unknown ribbon control {control_id!r}")
