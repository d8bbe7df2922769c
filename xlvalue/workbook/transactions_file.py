"""Transactions from a CSV or Parquet file named in xv_Settings (logs beyond Excel's rows).

pyarrow reads the file straight into the log's compact columns: customer ids are
dictionary-encoded (int32 codes; each distinct id is cleaned once), dates are converted per
distinct value (or taken as they are when the file stores dates), amounts stay float64, and
each column is released as soon as it is converted. A 10-million-row file never becomes a
frame of Python strings. Problems name the file and the line (CSV) or row (Parquet), like
cell references do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from xlvalue.analytics.memory import release_memory
from xlvalue.analytics.transactions import TransactionLog
from xlvalue.errors import MAX_REPORTED, InputError, Problem
from xlvalue.workbook.contract import TRANSACTIONS
from xlvalue.workbook.validation import convert_dates, convert_numbers

__all__ = ["CSV_SUFFIXES", "NUMBER_COLUMNS", "PARQUET_SUFFIXES", "ParquetColumns", "TableColumns",
           "customer_codes", "day_numbers", "file_sha256", "float_values", "read_transactions_file",
           "stream_days", "stream_floats"]

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
NUMBER_COLUMNS = ("Amount", "Cost", "Margin")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _columns(found: list[str], where: str) -> dict[str, str]:
    """The file's column name of each contract column (aliases, any case)."""
    lookup = {c.strip().lower(): c for c in found}
    mapping: dict[str, str] = {}
    missing = []
    for col in TRANSACTIONS.columns:
        for candidate in (col.name, *col.aliases):
            if candidate.lower() in lookup:
                mapping[lookup[candidate.lower()]] = col.name
                break
        else:
            if col.required:
                missing.append(col.name)
    if missing:
        raise InputError(Problem(f"missing column(s) {', '.join(missing)} (found: "
                                 f"{', '.join(found) or 'nothing'})", book=where,
                                 name="TransactionsFile"))
    return mapping


def read_transactions_file(path: Path, default_margin_rate: float = 0.3
                           ) -> tuple[TransactionLog, int, str]:
    """The validated transaction log of a file, its number of rows and its SHA-256."""
    where = path.name
    if not path.exists():
        raise InputError(Problem("TransactionsFile not found", book=str(path),
                                 name="xv_Settings"))
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise InputError(Problem(f"TransactionsFile must be .csv, .tsv or .parquet, not "
                                 f"'{suffix}'", book=where, name="xv_Settings"))
    csv = suffix in CSV_SUFFIXES
    try:
        columns = _read_csv(path, where) if csv else _read_parquet(path, where)
    except InputError:
        raise
    except Exception as exc:  # pyarrow parse errors: one line, no traceback
        raise InputError(Problem(f"cannot read the file ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0]})", book=where,
                                 name="TransactionsFile")) from None
    first_line, unit = (2, "line") if csv else (1, "row")
    problems: list[Problem] = []

    def report(mask: np.ndarray, message: Callable[[int], str]) -> None:
        """One problem per bad row (up to the limit); message(i) describes row i."""
        for i in np.flatnonzero(mask)[:MAX_REPORTED]:
            problems.append(Problem(message(int(i)), book=where,
                                    cell=f"{unit} {i + first_line}", name="TransactionsFile"))

    ids, code, bad = customer_codes(columns.batches("CustomerID"))
    release_memory()
    n = len(code)
    report(bad, lambda i: "CustomerID is blank")
    if _is_temporal(columns.type("Date")):  # stored dates: streamed, only nulls can be bad
        day, bad = stream_days(columns.batches("Date"), n)
        report(bad, lambda i: "Date is blank")
    else:  # text or numbers, converted per distinct value; bad cells are quoted
        date = columns.whole("Date")
        day, bad = day_numbers(date)
        report(bad, lambda i: "Date is blank" if not date[i].is_valid else
               f"Date {date[i].as_py()!r} is not a date (expected ISO text like 2024-03-31 or "
               "20240331)")
        del date
    release_memory()
    numbers: dict[str, np.ndarray] = {}
    for name in NUMBER_COLUMNS:
        if name not in columns:
            continue
        col = None
        if _is_numeric(columns.type(name)):  # streamed into one float64 array
            values, blank = stream_floats(columns.batches(name), n)
        else:  # text: converted whole, bad cells quoted
            col = columns.whole(name)
            values, blank = float_values(col)
        bad = ~np.isfinite(values) & (~blank if name != "Amount" else True)
        report(bad, lambda i, name=name, values=values, blank=blank, col=col:
               f"{name} is blank" if blank[i] else
               f"{name} {col[i].as_py() if col is not None else values[i]!r} is not a number")
        numbers[name] = values
        del col
    release_memory()
    if problems:
        raise InputError(problems)
    log = TransactionLog.from_codes(ids, code, day, numbers["Amount"], numbers.get("Cost"),
                                    numbers.get("Margin"), default_margin_rate)
    return log, n, file_sha256(path)


def _is_temporal(t) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _is_numeric(t) -> bool:
    return pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)


def _read_parquet(path: Path, where: str) -> ParquetColumns:
    """The contract's columns of a Parquet file, each read only when it is asked for."""
    schema = pq.ParquetFile(path).schema_arrow
    mapping = _columns(schema.names, where)
    return ParquetColumns(path, {v: k for k, v in mapping.items()}, schema)


class ParquetColumns:
    """A Parquet file's columns by contract name, streamed in batches or read whole, once
    each: a converted column is released before the next one is read."""

    def __init__(self, path: Path, names: dict[str, str], schema) -> None:
        self.path, self.names, self.schema = path, names, schema

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def type(self, name: str):
        return self.schema.field(self.names[name]).type

    def batches(self, name: str):
        file_name = self.names.pop(name)
        with pq.ParquetFile(self.path) as pf:
            for batch in pf.iter_batches(batch_size=1 << 20, columns=[file_name]):
                yield batch.column(0)

    def whole(self, name: str):
        return pq.read_table(self.path, columns=[self.names.pop(name)]).column(0)


def _read_csv(path: Path, where: str) -> TableColumns:
    """The contract's columns of a CSV file: ids and dates as text, numbers as float64 (as
    text when a cell is not a number, so that it can be located)."""
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    names = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    mapping = _columns(names, where)
    inverse = {v: k for k, v in mapping.items()}
    types = {inverse["CustomerID"]: pa.string(), inverse["Date"]: pa.string()}
    numeric = {inverse[c]: pa.float64() for c in NUMBER_COLUMNS if c in inverse}

    def read(number_type):
        return pacsv.read_csv(
            path, parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(mapping), strings_can_be_null=True, null_values=[""],
                column_types={**types, **{k: number_type for k in numeric}}))

    try:
        table = read(pa.float64())
    except pa.ArrowInvalid:  # a number column holds text: read it as text to say where
        table = read(pa.string())
    return _split(table, mapping)


class TableColumns:
    """The columns of a table read whole (CSV), with the interface of ParquetColumns."""

    def __init__(self, columns: dict) -> None:
        self.columns = columns

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def type(self, name: str):
        return self.columns[name].type

    def batches(self, name: str):
        return iter(self.columns.pop(name).chunks)

    def whole(self, name: str):
        return self.columns.pop(name)


def _split(table, mapping: dict[str, str]) -> TableColumns:
    """Columns by contract name; the table itself is dropped so each can be freed alone."""
    return TableColumns({mapping[name]: table.column(name) for name in table.column_names})


def customer_codes(chunks) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray, np.ndarray]:
    """Distinct ids as text (cleaned once each), int32 codes per row, and blank rows.

    `chunks` are Arrow arrays (a column's chunks, or batches streamed from a file): each is
    dictionary-encoded as it arrives, so only one chunk of raw ids is in memory at a time;
    one hash pass over the chunks' distinct values then numbers them globally. Ids are
    cleaned in Arrow and stay there: no Python string is made per id.
    """
    parts: list[np.ndarray] = []  # local codes of each chunk
    dictionaries = []  # distinct values of each chunk
    for arr in chunks:
        enc = pc.dictionary_encode(arr)
        dictionaries.append(enc.dictionary)
        parts.append(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32))
        del enc
    # one hash pass over the chunks' distinct values gives each its global number
    if dictionaries:
        every = pa.chunked_array(dictionaries)
        position, seen = pd.factorize(pd.Series(every, dtype=pd.ArrowDtype(every.type)),
                                      sort=False)
        del every
    else:
        position, seen = np.zeros(0, np.intp), pd.Index([], dtype=object)
    offset = 0
    for i, (local, idx) in enumerate(zip(dictionaries, parts, strict=True)):
        mapping = position[offset:offset + len(local)].astype(np.int32)
        offset += len(local)
        parts[i] = np.where(idx >= 0, mapping[np.maximum(idx, 0)], -1).astype(np.int32)
    del dictionaries, position
    raw = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    del parts
    text = _id_text(pa.array(seen))
    blank = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    merged, ids = pd.factorize(pd.Series(text, dtype=pd.ArrowDtype(text.type)), sort=False)
    del text  # ' A' and 'A' were one customer: `merged` numbers them once
    bad = raw < 0
    bad[~bad] = blank[raw[~bad]]
    code = merged.astype(np.int32)[np.maximum(raw, 0)]
    # Arrow-backed text: ~14 bytes an id instead of a ~60-byte Python string
    return pd.array(pa.array(ids).cast(pa.large_string()), dtype=pd.StringDtype("pyarrow")), \
        code, bad


def _id_text(values):
    """Ids as trimmed text, in Arrow: whole numbers lose the '.0' (as in workbooks)."""
    t = values.type
    if pa.types.is_floating(t):
        finite = pc.fill_null(pc.is_finite(values), False)
        whole = pc.and_(finite, pc.equal(pc.floor(values), values)).fill_null(False)
        if pc.all(pc.or_(whole, pc.is_null(values))).as_py():
            values = pc.cast(values, pa.int64())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.large_string())
    return pc.utf8_trim_whitespace(values)


def stream_days(chunks, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 (int32) of stored dates or timestamps (local wall time), filled
    chunk by chunk, and the rows that are null."""
    day = np.zeros(n, np.int32)
    bad = np.zeros(n, bool)
    pos = 0
    for chunk in chunks:
        if pa.types.is_timestamp(chunk.type) and chunk.type.tz is not None:
            chunk = pc.local_timestamp(chunk)
        m = len(chunk)
        if chunk.null_count:
            bad[pos:pos + m] = chunk.is_null().to_numpy(zero_copy_only=False)
            chunk = chunk.fill_null(pa.scalar(0, chunk.type))
        day[pos:pos + m] = chunk.to_numpy(zero_copy_only=False).astype("datetime64[D]").view(
            np.int64)
        pos += m
    return day, bad


def stream_floats(chunks, n: int) -> tuple[np.ndarray, np.ndarray]:
    """float64 values of a numeric column filled chunk by chunk (NaN where null), and the
    null rows."""
    values = np.empty(n)
    blank = np.zeros(n, bool)
    pos = 0
    for chunk in chunks:
        m = len(chunk)
        if chunk.null_count:
            blank[pos:pos + m] = chunk.is_null().to_numpy(zero_copy_only=False)
        values[pos:pos + m] = chunk.cast(pa.float64()).to_numpy(zero_copy_only=False)
        pos += m
    return values, blank


def day_numbers(col) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 (int32) and rows that are not dates, of a column of text or
    numbers (Excel serials), converted once per distinct value."""
    enc = col.dictionary_encode() if not pa.types.is_dictionary(col.type) else col
    enc = enc.unify_dictionaries()
    raw = np.concatenate([c.indices.fill_null(-1).to_numpy(zero_copy_only=False)
                          for c in enc.chunks]) if enc.num_chunks else np.zeros(0, np.int32)
    values = enc.chunks[0].dictionary.to_numpy(zero_copy_only=False) if enc.num_chunks else []
    dates, bad_u = convert_dates(np.asarray(values, dtype=object))
    days_u = np.where(bad_u, 0, dates.astype("datetime64[D]").view(np.int64)).astype(np.int32)
    bad = raw < 0
    bad[~bad] = bad_u[raw[~bad]]
    return days_u[np.maximum(raw, 0)], bad


def float_values(col) -> tuple[np.ndarray, np.ndarray]:
    """float64 values of a text column (NaN where blank or not a number), blank rows."""
    blank = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else \
        np.zeros(len(col), bool)
    values, _ = convert_numbers(np.asarray(col.to_numpy(zero_copy_only=False), dtype=object))
    return values, blank
