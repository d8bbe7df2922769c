"""Transactions from a CSV or Parquet file named in xv_Settings (logs beyond Excel's rows).

pyarrow reads the file straight into the log's compact columns: customer ids are
dictionary-encoded (int32 codes; each distinct id is cleaned once), dates are converted per
distinct value (or taken as they are when the file stores dates), amounts stay float64, and
each column is released as soon as it is converted. A 10-million-row file never becomes a
frame of Python strings. Problems name the file and the line (CSV) or row (Parquet), like
cell references do.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .contract import TRANSACTIONS
from .errors import MAX_REPORTED, InputError, Problem
from .transactions import TransactionLog
from .validate import convert_dates, convert_ids, convert_numbers

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
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(Problem("reading a TransactionsFile needs pyarrow (pip install "
                                 "pyarrow)", book=where, name="xv_Settings")) from None
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

    def report(mask: np.ndarray, col, message: Callable[[object], str]) -> None:
        """One problem per bad row (up to the limit), with the cell's value when it has one."""
        for i in np.flatnonzero(mask)[:MAX_REPORTED]:
            value = col[int(i)].as_py() if col is not None else None
            problems.append(Problem(message(value), book=where, cell=f"{unit} {i + first_line}",
                                    name="TransactionsFile"))

    ids, code, bad = customer_codes(columns.batches("CustomerID"))
    n = len(code)
    report(bad, None, lambda v: "CustomerID is blank")
    day, bad = day_numbers(columns["Date"])
    report(bad, columns.pop("Date"), lambda v: "Date is blank" if v is None else
           f"Date {v!r} is not a date (expected ISO text like 2024-03-31 or 20240331)")
    numbers: dict[str, np.ndarray] = {}
    for name in NUMBER_COLUMNS:
        if name in columns:
            values, blank = float_values(columns[name])
            bad = ~np.isfinite(values) & (~blank if name != "Amount" else True)
            report(bad, columns.pop(name), lambda v, name=name: f"{name} is blank" if v is None
                   else f"{name} {v!r} is not a number")
            numbers[name] = values
    release_memory()
    if problems:
        raise InputError(problems)
    log = TransactionLog.from_codes(ids, code, day, numbers["Amount"], numbers.get("Cost"),
                                    numbers.get("Margin"), default_margin_rate)
    return log, n, file_sha256(path)


def _read_parquet(path: Path, where: str) -> LazyColumns:
    """The contract's columns of a Parquet file, each read only when it is asked for (so a
    converted column is released before the next one is read)."""
    import pyarrow.parquet as pq

    mapping = _columns(pq.ParquetFile(path).schema_arrow.names, where)

    def batches(name: str):
        with pq.ParquetFile(path) as pf:
            for batch in pf.iter_batches(batch_size=1 << 22, columns=[name]):
                yield batch.column(0)

    return LazyColumns(lambda name: pq.read_table(path, columns=[name]).column(0),
                       {v: k for k, v in mapping.items()}, batches)


class LazyColumns(dict):
    """Contract name -> file column, read on first access and forgotten by pop();
    batches(name) streams a column instead (and forgets it too)."""

    def __init__(self, read, names: dict[str, str], stream) -> None:
        super().__init__()
        self._read, self._names, self._stream = read, names, stream

    def batches(self, name: str):
        file_name = self._names.pop(name)
        return self._stream(file_name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, name: str):
        if not dict.__contains__(self, name):
            dict.__setitem__(self, name, self._read(self._names[name]))
        return dict.__getitem__(self, name)

    def pop(self, name: str, *default):
        value = self[name]
        dict.pop(self, name)
        del self._names[name]
        return value


def _read_csv(path: Path, where: str) -> Columns:
    """The contract's columns of a CSV file: ids and dates as text, numbers as float64 (as
    text when a cell is not a number, so that it can be located)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

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


def release_memory() -> None:
    """Hand memory freed by the conversions back to the system: Arrow's pool keeps freed
    blocks for reuse, and glibc keeps freed heap below its top (a 10M-row file leaves ~250 MB
    of both)."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        pass


class Columns(dict):
    """Columns of a table read whole (CSV) by contract name; batches() yields the chunks."""

    def batches(self, name: str):
        return iter(self.pop(name).chunks)


def _split(table, mapping: dict[str, str]) -> Columns:
    """Columns by contract name; the table itself is dropped so each can be freed alone."""
    return Columns({mapping[name]: table.column(name) for name in table.column_names})


def customer_codes(chunks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ids as text (cleaned once each), int32 codes per row, and blank rows.

    `chunks` are Arrow arrays (a column's chunks, or batches streamed from a file): each is
    dictionary-encoded as it arrives, so only one chunk of raw ids is in memory at a time;
    one hash pass over the chunks' distinct values then numbers them globally, and only the
    distinct ids become Python objects.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

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
    text, blank = convert_ids(np.asarray(seen.to_numpy(), dtype=object))
    merged, ids = pd.factorize(text, sort=False)  # ' A' and 'A' are one customer
    bad = raw < 0
    bad[~bad] = blank[raw[~bad]]
    code = merged.astype(np.int32)[np.maximum(raw, 0)]
    return np.asarray(ids, dtype=object), code, bad


def day_numbers(col) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 (int32) and rows that are not dates. Stored dates and timestamps
    are taken as they are (local wall time); text and numbers are converted per distinct value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(col)
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        day = np.zeros(n, np.int32)
        bad = np.zeros(n, bool)
        pos = 0
        for chunk in col.chunks:
            if pa.types.is_timestamp(t) and t.tz is not None:
                chunk = pc.local_timestamp(chunk)
            m = len(chunk)
            bad[pos:pos + m] = chunk.is_null().to_numpy(zero_copy_only=False)
            values = chunk.fill_null(pa.scalar(0, chunk.type)).to_numpy(zero_copy_only=False)
            day[pos:pos + m] = values.astype("datetime64[D]").view(np.int64)
            pos += m
        return day, bad
    enc = col.dictionary_encode() if not pa.types.is_dictionary(t) else col
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
    """float64 values (NaN where blank or not a number) and the blank rows."""
    import pyarrow as pa

    blank = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else \
        np.zeros(len(col), bool)
    t = col.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        return col.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(float, copy=False), blank
    values, _ = convert_numbers(np.asarray(col.to_numpy(zero_copy_only=False), dtype=object))
    return values, blank
