"""The ribbon's actions as xlwings Lite scripts: read the open workbook, run, write the blocks.

Each script takes the workbook that Lite passes in (`book: xw.Book`) and goes through the same
flow as the classic ribbon (pipeline.run_book through the XlwingsWorkbook adapter), so both
doors run the same analyses and report the same warnings. The per-analysis scripts are
generated from the registry of analyses, like the ribbon's buttons: one script per analysis
that declares a button. Messages go to Lite's output pane (print) and to an Excel alert where
the runtime has one; user errors are the located problems, never a traceback. Under Lite the
script decorator discards return values; the True/False/count returned here serve the tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import xlwings as xw
from xlwings import script

from xlvalue.analyses import registry
from xlvalue.errors import XlvalueError
from xlvalue.excel.macros import CHECK_TITLE, check_message, clear_outputs, done_message
from xlvalue.excel.xlwings_book import XlwingsWorkbook
from xlvalue.pipeline import compute, run_book
from xlvalue.workbook.contract import SETTINGS_NAME, SETTINGS_SHEET
from xlvalue.workbook.ooxml import Area
from xlvalue.workbook.reader import RangeSource, RawRange
from xlvalue.workbook.template_content import DEMO_SETTINGS, input_tables, settings_rows

__all__ = ["CHECK_TITLE", "MemorySource", "analysis_script", "analysis_scripts", "fill_demo",
           "run", "tell", "xv_check_inputs", "xv_clear_outputs", "xv_demo", "xv_run_all"]


def tell(book: Any, text: str, title: str = "xlvalue") -> None:
    """Print to Lite's output pane and show an alert where the Excel runtime has one."""
    print(f"{title}\n{text}")
    try:
        book.app.alert(text, title=title)
    except NotImplementedError:  # xlwings' base App: no alert here; the output pane has it
        pass


def run(book: Any, only: str | None = None, source: RangeSource | None = None) -> bool:
    """Run the analyses (all with inputs, or `only`) and write the xv_out_* blocks.

    The inputs are read from the book, or from `source` (the demo's inputs held in memory).
    """
    xb = XlwingsWorkbook(book)
    try:
        done = run_book(source or xb, xb, only, lambda m: print(f"xlvalue: {m} ..."))
    except XlvalueError as exc:
        tell(book, str(exc), CHECK_TITLE)
        return False
    print(f"xlvalue: done\n{done.written}")
    message = done_message(done.messages)
    if message:
        tell(book, message)
    return True


@script(name="xlvalue: Run all")
def xv_run_all(book: xw.Book):
    """Every analysis whose input ranges hold data (the ribbon's Run all)."""
    return run(book)


@script(name="xlvalue: Check inputs")
def xv_check_inputs(book: xw.Book):
    """Validate every input range without writing anything: the run's own path (so what the
    check accepts, the run accepts), minus the writing."""
    xb = XlwingsWorkbook(book)
    try:
        inputs, results, _ = compute(xb, None)
    except XlvalueError as exc:
        tell(book, str(exc), CHECK_TITLE)
        return False
    tell(book, check_message(inputs, results))
    return True


def analysis_script(name: str, label: str, tip: str, only: str, module: str = __name__
                    ) -> Callable:
    """The Lite script of one analysis' button: runs `only` on the book Lite passes in."""
    def call(book):
        return run(book, only)

    call.__name__ = call.__qualname__ = f"xv_{name}"
    call.__module__ = module  # Lite names a script after the module it is registered from
    call.__doc__ = tip
    call.__annotations__ = {"book": xw.Book}  # Lite injects the workbook by this type hint
    return script(name=f"xlvalue: {label}")(call)


def analysis_scripts(module: str = __name__) -> dict[str, Callable]:
    """A script per analysis with a button, by function name (xv_rfm, xv_clv, ...)."""
    out = {}
    for a in registry.all_analyses():
        if a.button is not None:
            f = analysis_script(a.name, a.button.label, a.button.tip,
                                ",".join((a.name, *a.also_runs)), module)
            out[f.__name__] = f
    return out


@script(name="xlvalue: Clear outputs")
def xv_clear_outputs(book: xw.Book):
    """Empty xlvalue's output sheets and delete the xv_out_* names."""
    removed = clear_outputs(book)
    print(f"xlvalue: cleared the output sheets, removed {removed} xv_out_* names")
    return removed


def _excel_value(v: Any) -> Any:
    """Dates as datetimes (what Excel stores and xlwings returns)."""
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v


def _read_back(v: Any) -> Any:
    """A written value as the adapter reads it again: numbers as doubles, blanks as ''."""
    v = _excel_value(v)
    if v is None:
        return ""
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


class MemorySource(RangeSource):
    """Input ranges held in memory, read like the workbook they were written to.

    A Lite script's writes reach Excel only when the script ends (its Book API sends them as
    one batch), so the Demo script cannot read back the inputs it has just written; it runs
    on these copies of them instead.
    """

    def __init__(self, book: str, ranges: dict[str, RawRange]):
        self._book, self.ranges = book, ranges

    @property
    def book(self) -> str:
        return self._book

    def has(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k in self.ranges)

    def read(self, name: str) -> RawRange:
        return next(v for k, v in self.ranges.items() if k.lower() == name.lower())


def _fresh_sheet(book: Any, name: str) -> Any:
    sheets = list(book.sheets)
    sheet = next((s for s in sheets if str(s.name).lower() == name.lower()), None)
    if sheet is None:
        sheet = book.sheets.add(name, after=sheets[-1])
    sheet.clear()
    return sheet


def _write_named(book: Any, sheet: Any, name: str, rows: list[list], text_columns=(),
                 date_columns=(), width: int | None = None) -> RawRange:
    """Write rows from A1 and define `name` over them (header row included, `width` columns
    of them); returns the named cells as the adapter would read them."""
    full = max(len(r) for r in rows)
    width = width or full
    last = (len(rows), width)
    for j in text_columns:  # ids stay text (Excel would read '00012' as 12)
        sheet.range((1, j + 1), (last[0], j + 1)).number_format = "@"
    sheet.range((1, 1)).value = [[_excel_value(v) for v in r] + [None] * (full - len(r))
                                 for r in rows]
    for j in date_columns:
        if last[0] > 1:
            sheet.range((2, j + 1), (last[0], j + 1)).number_format = "yyyy-mm-dd"
    for n in list(book.names):
        if str(n.name).split("!", 1)[-1].lower() == name.lower():
            n.delete()
    address = sheet.range((1, 1), last).get_address(True, True, include_sheetname=True)
    book.names.add(name, "=" + address)
    cells = [[_read_back(v) for v in (list(r) + [None] * (full - len(r)))[:width]] for r in rows]
    return RawRange(name, str(book.name), Area(str(sheet.name), 0, 0, last[0] - 1, width - 1),
                    cells)


def fill_demo(book: Any) -> MemorySource:
    """Write the demo workbook's inputs (CDNOW sample and the demo tables) into the book;
    returns them as a source to run on (the book shows them only after the script)."""
    ranges = {SETTINGS_NAME: _write_named(book, _fresh_sheet(book, SETTINGS_SHEET),
                                          SETTINGS_NAME, settings_rows(DEMO_SETTINGS), width=2)}
    for content in input_tables(demo=True):
        spec = content.spec
        data = content.rows or [[None] * len(content.columns)]
        kinds = [c.kind for c in spec.columns]
        ranges[spec.name] = _write_named(
            book, _fresh_sheet(book, spec.sheet), spec.name, [content.columns, *data],
            [j for j, k in enumerate(kinds) if k == "id"],
            [j for j, k in enumerate(kinds) if k == "date"])
    return MemorySource(str(book.name), ranges)


@script(name="xlvalue: Demo")
def xv_demo(book: xw.Book):
    """Fill the open workbook with the demo inputs (CDNOW sample, ...) and run everything."""
    source = fill_demo(book)
    print("xlvalue: demo inputs written (Settings, Transactions, ...)")
    return run(book, source=source)
