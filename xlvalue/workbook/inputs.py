"""Reading and validating every input range a run needs, collecting all problems at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xlvalue.analytics.transactions import (
    PurchaseDays,
    ReducedLog,
    TransactionLog,
    day_number,
    merge_decimal_ids,
)
from xlvalue.errors import MAX_REPORTED, InputError, Problem, ProblemCollector, remainder
from xlvalue.workbook.contract import (
    CUSTOMERS,
    INPUT_TABLES,
    SCORE_MODEL,
    SEGMENTS,
    SETTINGS_NAME,
    TRANSACTIONS,
    InputTable,
    indicator_source,
)
from xlvalue.workbook.ooxml import Area, cell_ref
from xlvalue.workbook.reader import RawRange, WorkbookReader
from xlvalue.workbook.settings import Settings, read_settings
from xlvalue.workbook.validation import CleanTable, validate_table
from xlvalue.workbook.window import LogDays, date_warnings, return_warnings, window_problem

__all__ = ["FileReader", "InputRecord", "InputUse", "Inputs", "available_analyses", "read_inputs"]

# Reads a TransactionsFile: (path, default margin rate) -> (log, rows, sha256). The default
# reads it here; a cluster door passes one that reads it in parts and returns a ReducedLog.
FileReader = Callable[[Path, float], tuple["TransactionLog | ReducedLog", int, str]]
# analysis name -> (input tables it requires, input tables it reads when present)
InputUse = Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]


@dataclass
class InputRecord:
    """What was read from one input range (for the run log)."""

    name: str
    address: str
    rows: int
    sha256: str


@dataclass
class Inputs:
    """Validated inputs of one run."""

    book: str
    settings: Settings
    transactions: CleanTable | None = None
    customers: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    records: list[InputRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    log: TransactionLog | None = None
    as_of: int = 0
    tables: dict[str, CleanTable] = field(default_factory=dict)
    days: PurchaseDays | None = None  # purchase days reduced elsewhere (a cluster); log has
    # then only the customers
    first_day: int = 0  # first transaction day of the log
    log_released: bool = False  # the log's rows were dropped after use (see pipeline.analyse)

    def frame(self, name: str) -> pd.DataFrame | None:
        """The validated frame of an input table, or None when the workbook has none."""
        table = self.tables.get(name)
        return table.frame if table is not None else None

    def indicator_sources(self) -> set[str]:
        """The analyses (rfm, clv) whose outputs the score model's indicators name."""
        model = self.frame(SCORE_MODEL.name)
        if model is None:
            return set()
        return {found[0] for found in map(indicator_source, model["Indicator"].astype(str))
                if found is not None}


def _read_table(reader: WorkbookReader, spec: InputTable, required: bool,
                problems: ProblemCollector, records: list[InputRecord]) -> CleanTable | None:
    if not reader.has(spec.name):
        if required:
            problems.add(Problem(
                f"no defined name or Excel table '{spec.name}' ({spec.doc.rstrip('.')}; "
                f"columns {', '.join(c.name for c in spec.columns if c.required)})",
                book=reader.book, name=spec.name))
        return None
    try:
        raw = reader.read(spec.name)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    records.append(_record(raw))
    below = _rows_below(reader, raw)
    if below is not None:
        problems.add(below)
    table, found = validate_table(raw, spec)
    problems.extend(found)
    return table


LAST_ROW = 1_048_575  # 0-based last row of a sheet


def _rows_below(reader: WorkbookReader, raw: RawRange) -> Problem | None:
    """Rows filled directly below an input range are never dropped silently.

    Appending below a table without resizing it (pandas' overlay writer, openpyxl's
    ws.append) leaves the new rows outside the range. The rule: if the row right below the
    range (below its totals row, if any) holds a value in the range's columns, the run of
    filled rows from there is reported with how to extend the range. Cells further down,
    after a blank row, are the sheet's own business (notes, other tables).
    """
    read_area = getattr(reader, "read_area", None)  # the headless reader; Excel resizes itself
    a = raw.area
    table = getattr(reader, "tables", {}).get(raw.name.lower())
    start = a.r1 + 1 + (table.totals_rows if table is not None else 0)
    if read_area is None or start > LAST_ROW:
        return None
    cells = read_area(Area(a.sheet, start, a.c0, LAST_ROW, a.c1))
    filled = 0
    for row in cells:
        if all(c == "" or c is None for c in row):
            break
        filled += 1
    if not filled:
        return None
    last = start + filled  # 1-based last filled row
    new_ref = f"{cell_ref(a.r0, a.c0)}:{cell_ref(last - 1, a.c1)}"
    how = (f"resize the table to {new_ref} (Excel: Table Design > Resize Table; openpyxl: "
           f"set the table's ref to '{new_ref}')" if table is not None else
           f"extend the name to {a.sheet}!{new_ref} (Formulas > Name Manager)")
    return Problem(f"{filled:,} filled row(s) directly below the range (rows {start + 1:,} to "
                   f"{last:,}) are not part of it and would be left out; {how}, or clear them",
                   book=raw.book, sheet=a.sheet, cell=cell_ref(start, a.c0), name=raw.name)


def _record(raw: RawRange) -> InputRecord:
    return InputRecord(raw.name, f"{raw.area.sheet}!{raw.area.a1}", max(len(raw.rows) - 1, 0),
                       raw.sha256())


def read_inputs(reader: WorkbookReader, analyses: set[str], use: InputUse,
                read_file: FileReader | None = None, file_roots: Sequence[Path] = ()) -> Inputs:
    """Read settings and the tables the analyses need; raise InputError with every problem.

    `use` says which tables each analysis requires and which it reads when present (the
    registry of analyses declares it). A TransactionsFile is confined to the workbook's folder
    and `file_roots`; `read_file` reads it (default: here, whole; a cluster door reads it in
    parts).
    """
    def requiring(table: str) -> list[str]:
        return sorted(a for a in analyses if table in use.get(a, ((), ()))[0])

    def reading(table: str) -> list[str]:
        return sorted(a for a in analyses if table in use.get(a, ((), ()))[1])

    problems = ProblemCollector()
    records: list[InputRecord] = []
    raw_settings = None
    settings_gone = not reader.has(SETTINGS_NAME)
    if not settings_gone:
        # a name that exists but cannot be read (a union, an unterminated quote, a sheet that
        # is gone) is refused: taken as "no settings" it would silently drop every setting
        try:
            raw_settings = reader.read(SETTINGS_NAME)
            records.append(_record(raw_settings))
        except InputError as exc:
            problems.extend(exc.problems)
    settings, found, warnings = read_settings(raw_settings)
    if settings_gone:
        warnings = [f"no {SETTINGS_NAME} range in the workbook (the Settings sheet or its name "
                    "was deleted): the default settings are used", *warnings]
    problems.extend(found)
    tables: dict[str, CleanTable] = {}
    log_file = str(settings["TransactionsFile"] or "").strip()
    file_log = None
    if read_file is not None and requiring(TRANSACTIONS.name) and not log_file:
        problems.add(Problem("--scheduler works on a TransactionsFile (set it in xv_Settings)",
                             book=reader.book, name=SETTINGS_NAME))
    if log_file and requiring(TRANSACTIONS.name) and not problems:
        try:
            from xlvalue.workbook.transactions_file import (
                read_transactions_file,
                resolve_transactions_file,
            )

            book_path = getattr(reader, "path", None)
            if book_path is None:  # an Excel door: no folder known to confine the file to
                raise InputError(Problem(
                    "TransactionsFile is read by the command line (xlvalue run / batch), which "
                    "knows the workbook's folder; inside Excel, put the transactions in "
                    "xv_Transactions, or clear TransactionsFile", book=reader.book,
                    name=SETTINGS_NAME))
            path = resolve_transactions_file(log_file, Path(book_path), file_roots)
            file_log, rows, digest = (read_file or read_transactions_file)(
                path, settings["MarginRate"])
            records.append(InputRecord("TransactionsFile", path.name, rows, digest))
        except InputError as exc:
            problems.extend(exc.problems)
    for spec in INPUT_TABLES:
        if spec.name in tables or (spec is TRANSACTIONS and log_file):
            continue  # a named TransactionsFile replaces xv_Transactions, read or not
        needed = bool(requiring(spec.name))
        if not needed and not (reading(spec.name) and reader.has(spec.name)):
            continue  # another analysis's table is not read (nor can it fail this run)
        table = _read_table(reader, spec, needed, problems, records)
        if table is not None:
            tables[spec.name] = table
    tx = tables.get(TRANSACTIONS.name)
    customers = tables.get(CUSTOMERS.name)
    segments = tables.get(SEGMENTS.name)
    inputs = Inputs(reader.book, settings, tx,
                    customers.frame if customers else None,
                    segments.frame if segments else None, records, warnings, tables=tables)
    model = tables.get("xv_ScoreModel")
    derived = "scores" in analyses and bool(inputs.indicator_sources())
    for spec in INPUT_TABLES:  # an analysis asked for must have rows to work on
        wanted = requiring(spec.name)
        table = tables.get(spec.name)
        if wanted and spec is not TRANSACTIONS and table is not None and table.frame.empty:
            problems.add(Problem(f"{spec.name} holds no data rows; {', '.join(wanted)} "
                                 "needs at least one (fill the table, or leave the analysis "
                                 "out of --only)", book=reader.book, sheet=table.source.area.sheet,
                                 cell=table.source.area.a1, name=spec.name))
    if "scores" in analyses and model is not None and not derived:
        values = tables.get("xv_ScoreInputs")
        if values is None and not reader.has("xv_ScoreInputs"):
            problems.add(Problem("no xv_ScoreInputs table (CustomerID and one column per "
                                 "indicator), and xv_ScoreModel names no rfm./clv. indicator",
                                 book=reader.book, name="xv_ScoreInputs"))
        elif values is not None and values.frame.empty:
            problems.add(Problem("xv_ScoreInputs holds no data rows: fill one row per customer, "
                                 "or name rfm./clv. indicators in xv_ScoreModel",
                                 book=reader.book, sheet=values.source.area.sheet,
                                 cell=values.source.area.a1, name="xv_ScoreInputs"))
    if derived and tx is None and file_log is None and not problems:
        problems.add(Problem("indicators rfm.* / clv.* need the transaction log (xv_Transactions "
                             "or TransactionsFile)", book=reader.book, name="xv_ScoreModel"))
    if (tx is not None or file_log is not None) and not problems and (
            requiring(TRANSACTIONS.name) or derived):
        if file_log is not None:
            _prepare_log(inputs, file_log, Problem("the transaction log has no rows",
                                                   book=log_file, name="TransactionsFile"),
                         problems)
        else:
            assert tx is not None
            src = tx.source
            log = TransactionLog.from_frame(tx.frame, settings["MarginRate"]) \
                if not tx.frame.empty else None
            _prepare_log(inputs, log, Problem("the transaction log has no rows", book=src.book,
                                              sheet=src.area.sheet, cell=src.area.a1,
                                              name=src.name), problems)
    if segments is not None and not problems:
        _check_segments(segments, settings["RFMBins"], problems)
    problems.raise_if_any()
    return inputs


def _prepare_log(inputs: Inputs, log: TransactionLog | ReducedLog | None, empty: Problem,
                 problems: ProblemCollector) -> None:
    """Check the log against the settings and its window (as-of date, calibration end, a
    window no analysis can cover, dates that look like typos, returns) and attach it."""
    if log is None or len(log) == 0:
        problems.add(empty)
        return
    if isinstance(log, TransactionLog):  # '12347.0' beside 12347: one customer
        log, gone = merge_decimal_ids(log)
        if gone.size:
            inputs.warnings.append(
                f"{gone.size:,} customer id(s) written as text with a decimal point (e.g. "
                f"'{gone[0]}') taken as the customer written without it ('{gone[0].split('.')[0]}'"
                "), as a number cell of that id is read; store the ids one way")
    d = LogDays.of(log)
    customers = log.customers if isinstance(log, ReducedLog) else log
    settings = inputs.settings
    first, last = int(d.day.min()), int(d.day.max())
    as_of = settings["AsOfDate"]
    as_of_day = last if as_of is None else day_number(as_of)
    if as_of_day < first:
        problems.add(settings.problem("AsOfDate", (
            f"AsOfDate {np.datetime64(as_of_day, 'D')} is before the first purchase "
            f"({np.datetime64(first, 'D')})"), inputs.book))
        return
    tx = inputs.transactions
    locate = None if tx is None else (lambda i, message: tx.problem(i, "Date", message))
    too_long = window_problem(d, as_of_day, None if as_of is None else settings.problem(
        "AsOfDate", "", inputs.book), inputs.book, locate)
    if too_long is not None:
        problems.add(too_long)
        return
    later = d.count(d.day > as_of_day)
    if later:
        inputs.warnings.append(f"{later} transaction(s) after AsOfDate "
                               f"{np.datetime64(as_of_day, 'D')} are outside the window")
    inputs.warnings += date_warnings(d, as_of_day, as_of is not None, locate)
    inputs.warnings += return_warnings(d, as_of_day)
    del d
    cal = settings["CalibrationEnd"]
    if cal is not None and not (first <= day_number(cal) < as_of_day):
        problems.add(settings.problem("CalibrationEnd", f"CalibrationEnd {cal} must lie between "
                                      "the first purchase and AsOfDate", inputs.book))
    if inputs.customers is not None:
        known = set(customers.customer_ids)
        missing = int((~inputs.customers["CustomerID"].isin(known)).sum())
        if missing:
            inputs.warnings.append(f"{missing} customer(s) in xv_Customers have no transactions")
    if isinstance(log, ReducedLog):
        inputs.log, inputs.days = log.customers, log.days
    else:
        inputs.log = log
    inputs.as_of = as_of_day
    inputs.first_day = first


def _check_segments(table: CleanTable, bins: int, problems: ProblemCollector) -> None:
    f = table.frame
    for col in ("RMin", "RMax", "FMin", "FMax", "MMin", "MMax"):
        if col not in f:
            continue
        bad = np.flatnonzero(f[col].notna() & ((f[col] < 1) | (f[col] > bins)))
        for i in bad[:MAX_REPORTED]:
            problems.add(table.problem(int(i), col, f"{col} {f[col].iloc[i]:g} is outside the "
                                       f"scores 1..{bins} (RFMBins)"))
        src = table.source
        problems.extend(remainder(min(bad.size, MAX_REPORTED), bad.size, col,
                                  f"{col} is outside the scores 1..{bins}", book=src.book,
                                  sheet=src.area.sheet, name=src.name))
    if SEGMENTS.unique_key and f.empty:
        problems.add(Problem("xv_Segments has no rules; delete the range to use the default "
                             "segments", book=table.source.book, name=SEGMENTS.name))


def available_analyses(reader: WorkbookReader, use: InputUse) -> set[str]:
    """Analyses whose required input ranges all exist and hold data (for a plain `run`)."""
    from_file = set()
    if reader.has(SETTINGS_NAME):
        try:
            settings, _, _ = read_settings(reader.read(SETTINGS_NAME))
            if str(settings["TransactionsFile"] or "").strip():
                from_file.add(TRANSACTIONS.name)
        except InputError:
            pass  # reported when the inputs are read
    out = set()
    for analysis, (needs, _optional) in use.items():
        if all(n in from_file or reader.has_data(n) for n in needs):
            out.add(analysis)
    return out
