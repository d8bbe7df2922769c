"""Reading and validating every input range a run needs, collecting all problems at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xlvalue.analytics.transactions import TransactionLog, day_number
from xlvalue.errors import InputError, Problem, ProblemCollector
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
from xlvalue.workbook.reader import RawRange, WorkbookReader
from xlvalue.workbook.settings import Settings, read_settings
from xlvalue.workbook.validation import CleanTable, validate_table

__all__ = ["InputRecord", "Inputs", "available_analyses", "read_inputs"]


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
    summary: pd.DataFrame | None = None  # RFM summary computed elsewhere (Dask), no log
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
    table, found = validate_table(raw, spec)
    problems.extend(found)
    return table


def _record(raw: RawRange) -> InputRecord:
    return InputRecord(raw.name, f"{raw.area.sheet}!{raw.area.a1}", max(len(raw.rows) - 1, 0),
                       raw.sha256())


def read_inputs(reader: WorkbookReader, analyses: set[str], scheduler: str | None = None
                ) -> Inputs:
    """Read settings and the tables the analyses need; raise InputError with every problem.

    With a Dask scheduler and a TransactionsFile, the RFM summary is computed on the cluster
    and the log itself never comes into this process (rfm and ranking only).
    """
    problems = ProblemCollector()
    records: list[InputRecord] = []
    raw_settings = None
    if reader.has(SETTINGS_NAME):
        try:
            raw_settings = reader.read(SETTINGS_NAME)
            records.append(_record(raw_settings))
        except InputError as exc:
            problems.extend(exc.problems)
    settings, found, warnings = read_settings(raw_settings)
    problems.extend(found)
    tables: dict[str, CleanTable] = {}
    log_file = str(settings["TransactionsFile"] or "").strip()
    distributed = None
    file_log = None
    if scheduler and analyses & set(TRANSACTIONS.required_for):
        if not log_file:
            problems.add(Problem("--scheduler works on a TransactionsFile (set it in xv_Settings)",
                                 book=reader.book, name=SETTINGS_NAME))
        elif analyses - {"rfm", "ranking"}:
            problems.add(Problem("with --scheduler only rfm and ranking run on the cluster; add "
                                 "--only rfm,ranking", book=reader.book))
    if log_file and analyses & set(TRANSACTIONS.required_for) and not problems:
        path = Path(log_file)
        if not path.is_absolute():
            path = Path(getattr(reader, "path", Path("."))).parent / path
        if scheduler:
            distributed = _distributed_summary(path, settings, scheduler, records, problems)
        else:
            try:
                from xlvalue.workbook.transactions_file import read_transactions_file

                file_log, rows, digest = read_transactions_file(path, settings["MarginRate"])
                records.append(InputRecord("TransactionsFile", str(path), rows, digest))
            except InputError as exc:
                problems.extend(exc.problems)
    for spec in INPUT_TABLES:
        if spec.name in tables or (spec is TRANSACTIONS and log_file):
            continue  # a named TransactionsFile replaces xv_Transactions, read or not
        needed = bool(analyses & set(spec.required_for))
        if not needed and not reader.has(spec.name):
            continue
        table = _read_table(reader, spec, needed, problems, records)
        if table is not None:
            tables[spec.name] = table
    tx = tables.get(TRANSACTIONS.name)
    customers = tables.get(CUSTOMERS.name)
    segments = tables.get(SEGMENTS.name)
    inputs = Inputs(reader.book, settings, tx,
                    customers.frame if customers else None,
                    segments.frame if segments else None, records, warnings, tables=tables)
    if distributed is not None:
        inputs.summary, inputs.as_of, inputs.first_day = distributed
    derived = "scores" in analyses and bool(inputs.indicator_sources())
    if derived and tx is None and file_log is None and not problems:
        problems.add(Problem("indicators rfm.* / clv.* need the transaction log (xv_Transactions "
                             "or TransactionsFile)", book=reader.book, name="xv_ScoreModel"))
    if (tx is not None or file_log is not None) and not problems and (
            analyses & set(TRANSACTIONS.required_for) or derived):
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


def _distributed_summary(path: Path, settings: Settings, scheduler: str,
                         records: list[InputRecord], problems: ProblemCollector):
    from xlvalue.cluster.dask_rfm import client_for, rfm_summary_dask
    from xlvalue.workbook.transactions_file import file_sha256

    if not path.exists():
        problems.add(Problem("TransactionsFile not found", book=str(path), name=SETTINGS_NAME))
        return None
    client = client_for(scheduler)
    try:
        result = rfm_summary_dask(path, settings["AsOfDate"], settings["PeriodUnit"],
                                  settings["FrequencyMode"], settings["MonetaryMode"],
                                  settings["MarginRate"], client)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    except Exception as exc:  # parse errors inside the cluster: one line
        problems.add(Problem(f"the cluster could not read the file ({type(exc).__name__}: "
                             f"{exc})", book=path.name, name="TransactionsFile"))
        return None
    finally:
        client.close()
    records.append(InputRecord("TransactionsFile", str(path), -1, file_sha256(path)))
    return result


def _prepare_log(inputs: Inputs, log: TransactionLog | None, empty: Problem,
                 problems: ProblemCollector) -> None:
    """Check the log against the settings (as-of date, calibration end) and attach it."""
    if log is None or len(log) == 0:
        problems.add(empty)
        return
    settings = inputs.settings
    first, last = int(log.day.min()), int(log.day.max())
    as_of = settings["AsOfDate"]
    as_of_day = last if as_of is None else day_number(as_of)
    if as_of_day < first:
        problems.add(Problem(
            f"AsOfDate {np.datetime64(as_of_day, 'D')} is before the first purchase "
            f"({np.datetime64(first, 'D')})", book=inputs.book, name=SETTINGS_NAME))
        return
    later = int((log.day > as_of_day).sum())
    if later:
        inputs.warnings.append(f"{later} transaction(s) after AsOfDate "
                               f"{np.datetime64(as_of_day, 'D')} are outside the window")
    neg = log.amount < 0
    if neg.any():
        inputs.warnings.append(f"{int(neg.sum())} return(s) (negative amounts) totalling "
                               f"{log.amount[neg].sum():.2f} kept and netted against spend")
    cal = settings["CalibrationEnd"]
    if cal is not None and not (first <= day_number(cal) < as_of_day):
        problems.add(Problem(f"CalibrationEnd {cal} must lie between the first purchase and "
                             "AsOfDate", book=inputs.book, name=SETTINGS_NAME))
    if inputs.customers is not None:
        known = set(log.customer_ids)
        missing = int((~inputs.customers["CustomerID"].isin(known)).sum())
        if missing:
            inputs.warnings.append(f"{missing} customer(s) in xv_Customers have no transactions")
    inputs.log = log
    inputs.as_of = as_of_day
    inputs.first_day = first


def _check_segments(table: CleanTable, bins: int, problems: ProblemCollector) -> None:
    f = table.frame
    for col in ("RMin", "RMax", "FMin", "FMax", "MMin", "MMax"):
        if col not in f:
            continue
        bad = np.flatnonzero(f[col].notna() & ((f[col] < 1) | (f[col] > bins)))
        for i in bad[:5]:
            problems.add(table.problem(int(i), col, f"{col} {f[col].iloc[i]:g} is outside the "
                                       f"scores 1..{bins} (RFMBins)"))
    if SEGMENTS.unique_key and f.empty:
        problems.add(Problem("xv_Segments has no rules; delete the range to use the default "
                             "segments", book=table.source.book, name=SEGMENTS.name))


def available_analyses(reader: WorkbookReader) -> set[str]:
    """Analyses whose required input ranges all exist and hold data (for a plain `run`)."""
    from xlvalue.workbook.contract import ANALYSES

    from_file = set()
    if reader.has(SETTINGS_NAME):
        try:
            settings, _, _ = read_settings(reader.read(SETTINGS_NAME))
            if str(settings["TransactionsFile"] or "").strip():
                from_file.add(TRANSACTIONS.name)
        except InputError:
            pass  # reported when the inputs are read
    out = set()
    for analysis in ANALYSES:
        needs = [t.name for t in INPUT_TABLES if analysis in t.required_for]
        if all(n in from_file or reader.has_data(n) for n in needs):
            out.add(analysis)
    return out
