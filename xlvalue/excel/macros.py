"""Ribbon macros: the add-in's one VBA callback hands a button's id to `ribbon`, which runs
the same flow as the Lite scripts (pipeline.run_book) on `xw.Book.caller()`.

The buttons come from the registry of analyses (xlvalue.excel.ribbon). User errors are shown
in an alert with the located problems, never as a Python traceback; progress goes to Excel's
status bar.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from xlvalue.errors import XlvalueError
from xlvalue.excel.ribbon import OTHER_BUTTONS, run_buttons
from xlvalue.excel.xlwings_book import XlwingsWorkbook
from xlvalue.pipeline import compute, run_book

__all__ = ["CHECK_TITLE", "OTHER_BUTTONS", "check_inputs", "check_message", "clear_outputs", "done_message",
           "new_template", "ribbon", "run"]

CHECK_TITLE = "xlvalue: please check the inputs"


def _caller(book: Any = None) -> XlwingsWorkbook:
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    return XlwingsWorkbook(book)


def _alert(xb: XlwingsWorkbook, text: str, title: str = "xlvalue", mode: str = "info") -> None:
    """A message box in Excel (xlwings App.alert: Windows and macOS)."""
    xb.xlbook.app.alert(text, title=title, mode=mode)


def done_message(notes: list[str]) -> str | None:
    """What a door says after a run: nothing when all went well, else the warnings."""
    return "Done, with warnings:\n" + "\n".join(notes) if notes else None


def run(only: str | None = None, book: Any = None) -> bool:
    """Run analyses on the calling workbook and write the xv_out_* blocks; False on user error."""
    xb = _caller(book)
    try:
        xb.status("xlvalue: reading inputs ...")
        done = run_book(xb, xb, only, lambda m: xb.status(f"xlvalue: {m} ..."))
    except XlvalueError as exc:
        _alert(xb, str(exc), CHECK_TITLE, "critical")
        return False
    finally:
        xb.status(False)
    message = done_message(done.messages)
    if message:
        _alert(xb, message)
    return True


def check_message(inputs, results) -> str:
    """What Check inputs says when the inputs are valid: each range read, then the warnings."""
    lines = [f"{r.name}: {r.address}, {r.rows} rows" for r in inputs.records]
    return "Inputs are valid.\n" + "\n".join(lines + results.warnings)


def check_inputs(book: Any = None) -> bool:
    """Validate every input range without writing anything: the path a run takes (so a
    workbook the check accepts is one the run accepts), minus the writing."""
    xb = _caller(book)
    try:
        inputs, results, _ = compute(xb, None)
    except XlvalueError as exc:
        _alert(xb, str(exc), CHECK_TITLE, "critical")
        return False
    _alert(xb, check_message(inputs, results))
    return True


def clear_outputs(book: Any = None) -> int:
    """Empty xlvalue's output sheets and delete the xv_out_* names; returns names removed."""
    from xlvalue.analyses.registry import output_sheets

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

    from xlvalue.pipeline import new_template as build  # openpyxl: desktop Excel only

    path = build(Path(tempfile.mkdtemp(prefix="xlvalue_")) / "xlvalue_template.xlsx")
    xw.Book(str(path))
    return path


def ribbon(control_id: str, book: Any = None) -> Any:
    """Dispatch a ribbon button (the VBA callback passes control.Id)."""
    buttons = run_buttons()
    if control_id in buttons:
        return run(buttons[control_id], book)
    if control_id == "xvCheck":
        return check_inputs(book)
    if control_id == "xvClear":
        return clear_outputs(book)
    if control_id == "xvNewTemplate":
        return new_template()
    raise ValueError(f"unknown ribbon control {control_id!r}")
