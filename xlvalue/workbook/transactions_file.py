"""Transactions from a CSV or Parquet file named in xv_Settings (logs beyond Excel's rows).

pyarrow reads the file straight into the log's compact columns: customer ids are
dictionary-encoded (int32 codes; each distinct id is cleaned once), dates are converted per
distinct value (or taken as they are when the file stores dates), amounts stay float64, and
each column is released as soon as it is converted. A 10-million-row file never becomes a
frame of Python strings. Problems name the file and the line (CSV) or row (Parquet), like
cell references do.

The file is opened once, and everything (header, rows, digest) is read from that descriptor:
the name checked against the workbook's folder cannot be swapped for a link to another file,
a FIFO or a device between the check and the read (SECURITY.md).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from xlvalue.analytics.memory import release_memory
from xlvalue.analytics.transactions import TransactionLog
from xlvalue.errors import MAX_REPORTED, InputError, Problem, remainder
from xlvalue.workbook.contract import TRANSACTIONS
from xlvalue.workbook.validation import convert_dates, convert_numbers, number_hint

__all__ = ["CSV_SUFFIXES", "MAX_FILE_BYTES", "MAX_QUOTED", "NUMBER_COLUMNS", "PARQUET_SUFFIXES",
           "FilePart", "ParquetColumns", "RowProblems", "TableColumns", "check_file",
           "customer_codes", "day_numbers", "file_parts", "file_sha256", "float_values",
           "log_from_columns", "open_checked", "quoted", "read_part", "read_transactions_file",
           "resolve_transactions_file", "stream_days", "stream_floats"]

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
NUMBER_COLUMNS = ("Amount", "Cost", "Margin")
# A TransactionsFile larger than this is refused before anything is read (SECURITY.md).
MAX_FILE_BYTES = int(os.environ.get("XLVALUE_MAX_FILE_BYTES", 20 * 2**30))
MAX_QUOTED = 40  # characters of a bad value quoted in a message; file content beyond it is not


def file_sha256(path: Path) -> str:
    """SHA-256 of a TransactionsFile, read through open_checked (the same checks as a read)."""
    with open_checked(path) as fh:
        return _sha256(fh)


def _sha256(fh: BinaryIO) -> str:
    h = hashlib.sha256()
    fh.seek(0)
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def _refused(message: str, path: Path) -> InputError:
    return InputError(Problem(message, book=str(path), name="xv_Settings"))


def resolve_transactions_file(name: str, book: Path, roots: Sequence[Path] = ()) -> Path:
    """The file a TransactionsFile setting names, confined to the workbook's folder.

    Relative names are taken from the workbook's folder; the resolved path (symbolic links
    followed) must lie inside that folder or inside one of `roots` (the CLI's
    --allow-files-from). Absolute and ../ paths elsewhere are refused: a batch server running
    other people's workbooks must not read its own files into their outputs. The file is then
    opened by open_checked, which makes sure the descriptor it reads is this very path.
    """
    if "\x00" in name:  # _x0000_ in the cell: no file name holds one (the OS would refuse it)
        raise InputError(Problem("TransactionsFile holds a NUL character (_x0000_); give the "
                                 "file's name as plain text", book=book.name, name="xv_Settings"))
    base = book.resolve().parent
    given = Path(name)
    try:
        real = (given if given.is_absolute() else base / given).resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links, a name too long
        raise InputError(Problem(f"TransactionsFile '{quoted(name)[1:-1]}' cannot be resolved "
                                 f"({getattr(exc, 'strerror', None) or exc})", book=book.name,
                                 name="xv_Settings")) from None
    allowed = [base, *(Path(r).resolve() for r in roots)]
    if not any(real.is_relative_to(r) for r in allowed):
        raise InputError(Problem(
            f"TransactionsFile '{name}' lies outside the workbook's folder; put the file beside "
            "the workbook (or in a folder below it), or allow its folder explicitly with "
            "--allow-files-from", book=book.name, name="xv_Settings"))
    return real


# no link followed, no wait for a FIFO's writer, not inherited by child processes
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
# a folder on the way: only looked through (O_PATH needs no read permission on it)
_FOLDER_FLAGS = (getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)
                 | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
_WALKS = "open" in {f.__name__ for f in os.supports_dir_fd} and hasattr(os, "O_NOFOLLOW")


def _open_no_links(path: Path) -> int:
    """A descriptor of `path` (absolute, resolved) opened one step at a time from the root,
    following no link at any step: what is opened is the file at that path when it is opened,
    whatever was swapped since the path was checked. Without openat (Windows), the path is
    opened whole and must still be the file it names."""
    if not _WALKS:
        fd = os.open(path, _OPEN_FLAGS)
        try:
            if not _same_file(os.fstat(fd), path):
                raise _refused("TransactionsFile changed after it was checked; it was not read",
                               path)
        except BaseException:
            os.close(fd)
            raise
        return fd
    parts = path.parts
    folder = os.open(parts[0], _FOLDER_FLAGS)
    try:
        for name in parts[1:-1]:
            try:
                inner = os.open(name, _FOLDER_FLAGS, dir_fd=folder)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
                    raise _refused("TransactionsFile changed after it was checked (a folder on "
                                   "its path is now a link or a file); it was not read",
                                   path) from None
                raise
            os.close(folder)
            folder = inner
        return os.open(parts[-1], _OPEN_FLAGS, dir_fd=folder)
    finally:
        os.close(folder)


def open_checked(path: Path) -> BinaryIO:
    """Open a resolved TransactionsFile once and check what was opened, not the name.

    No link is followed at any step of the path, so the file opened lies where the checked
    path says (inside the allowed folders) even if the file or a folder on its path was
    swapped for a link after the check; a FIFO or device cannot block the open (O_NONBLOCK);
    the descriptor must be a regular file of bounded size with one name (a hard link can give
    a file from outside the allowed folders a name inside them). Everything is then read from
    the returned file.
    """
    try:
        fd = _open_no_links(path)
    except InputError:
        raise
    except FileNotFoundError:
        raise _refused("TransactionsFile not found", path) from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # the name became a link after the check
            raise _refused("TransactionsFile was replaced by a symbolic link after it was "
                           "checked; it was not read (run again, and keep the file in place "
                           "while xlvalue reads it)", path) from None
        raise _refused(f"TransactionsFile cannot be read ({exc.strerror})", path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refused("TransactionsFile is not a regular file (a folder, FIFO or device); "
                           "name a .csv or .parquet file", path)
        if st.st_nlink > 1:
            raise _refused(f"TransactionsFile has {st.st_nlink} names (hard links); a hard "
                           "link can give a file from outside the allowed folders a name inside "
                           "them, so only a file with one name is read: copy it instead of "
                           "linking it", path)
        if st.st_size > MAX_FILE_BYTES:
            raise _refused(f"TransactionsFile holds {st.st_size:,} bytes, more than the "
                           f"{MAX_FILE_BYTES:,}-byte limit (XLVALUE_MAX_FILE_BYTES); split it "
                           "or raise the limit", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _same_file(st: os.stat_result, path: Path) -> bool:
    """The name still leads to the opened file."""
    try:
        return os.path.samestat(st, os.stat(path))
    except OSError:
        return False


def check_file(path: Path) -> int:
    """Refuse what open_checked refuses (not a regular file, too large, a link, more than one
    name) without reading; returns the size in bytes."""
    with open_checked(path) as fh:
        return os.fstat(fh.fileno()).st_size


def quoted(value: object) -> str:
    """A bad value for a message, shortened: file content is never echoed beyond it."""
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED - 4] + "...'"


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
        shown = ", ".join(quoted(c)[1:-1] for c in found[:8]) or "nothing"
        more = f" and {len(found) - 8} more" if len(found) > 8 else ""
        raise InputError(Problem(f"missing column(s) {', '.join(missing)} in the first line "
                                 f"(found: {shown}{more})", book=where,
                                 name="TransactionsFile"))
    return mapping


@dataclass
class RowProblems:
    """Bad rows found in a file (or a part of it): the first few of each column with their
    message, and the true count of each column. Row numbers are 0-based within the part, so
    parts read on a cluster can be located once their offsets are known."""

    shown: list[tuple[str, int, str]] = field(default_factory=list)  # (column, row, message)
    totals: dict[str, int] = field(default_factory=dict)

    def add(self, column: str, mask: np.ndarray, message: Callable[[int], str]) -> None:
        rows = np.flatnonzero(mask)
        if rows.size:
            self.totals[column] = self.totals.get(column, 0) + int(rows.size)
            self.shown += [(column, int(i), message(int(i))) for i in rows[:MAX_REPORTED]]

    def merge(self, other: RowProblems, offset: int) -> None:
        """Add another part's problems, its rows shifted by `offset`."""
        for column, count in other.totals.items():
            self.totals[column] = self.totals.get(column, 0) + count
        self.shown += [(c, i + offset, m) for c, i, m in other.shown]

    def __bool__(self) -> bool:
        return bool(self.totals)

    def located(self, where: str, csv: bool) -> list[Problem]:
        """Problems naming the line (CSV, header = line 1) or row (Parquet) of each."""
        first, unit = (2, "line") if csv else (1, "row")
        out: list[Problem] = []
        for column, total in self.totals.items():
            rows = sorted((i, m) for c, i, m in self.shown if c == column)[:MAX_REPORTED]
            out += [Problem(m, book=where, cell=f"{unit} {i + first}", name="TransactionsFile",
                            column=column) for i, m in rows]
            out += remainder(len(rows), total, column, f"{column} is blank or not valid",
                             book=where, name="TransactionsFile")
        return out


def _suffix(path: Path) -> bool:
    """True for a CSV (or TSV), False for Parquet; anything else is refused."""
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise InputError(Problem(f"TransactionsFile must be .csv, .tsv or .parquet, not "
                                 f"'{suffix}'", book=path.name, name="xv_Settings"))
    return suffix in CSV_SUFFIXES


def read_transactions_file(path: Path, default_margin_rate: float = 0.3
                           ) -> tuple[TransactionLog, int, str]:
    """The validated transaction log of a file, its number of rows and its SHA-256, all read
    from one descriptor (open_checked)."""
    where = path.name
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    with open_checked(path) as fh:
        csv = _suffix(path)
        log, found = _guarded(where, lambda: log_from_columns(
            _read_csv(fh, where, sep) if csv else _read_parquet(fh, where), default_margin_rate))
        if found:
            raise InputError(found.located(where, csv))
        assert log is not None
        return log, len(log), _sha256(fh)


def _guarded(where: str, read: Callable):
    """Run a file read; pyarrow's errors become one line that quotes none of the file."""
    try:
        return read()
    except InputError:
        raise
    except Exception as exc:  # pyarrow parse errors: one line, no traceback, no content
        raise InputError(Problem(f"cannot read the file ({type(exc).__name__}: "
                                 f"{_without_content(str(exc))})", book=where,
                                 name="TransactionsFile")) from None


def _without_content(message: str) -> str:
    """pyarrow's message up to where it starts quoting the file's bytes."""
    first = message.splitlines()[0] if message else ""
    m = re.match(r"(.*?(?:got \d+ columns?|columns?, got \d+|row \d+))", first)
    if m:
        return m.group(1)
    cut = first.find(": '")
    return first[:cut] if cut > 0 else first[:120]


def log_from_columns(columns, default_margin_rate: float
                     ) -> tuple[TransactionLog | None, RowProblems]:
    """Convert and validate a file's columns into a log, or the rows that are wrong."""
    found = RowProblems()
    ids, code, bad = customer_codes(columns.batches("CustomerID"))
    release_memory()
    n = len(code)
    found.add("CustomerID", bad, lambda i: "CustomerID is blank")
    if _is_temporal(columns.type("Date")):  # stored dates: streamed, only nulls can be bad
        day, bad = stream_days(columns.batches("Date"), n)
        found.add("Date", bad, lambda i: "Date is blank")
    else:  # text or numbers, converted per distinct value; bad cells are quoted
        date = columns.whole("Date")
        day, bad = day_numbers(date)
        found.add("Date", bad, lambda i: "Date is blank" if not date[i].is_valid else
                  f"Date {quoted(date[i].as_py())} is not a date (expected ISO text like "
                  "2024-03-31 or 20240331)")
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

        def says(i, name=name, values=values, blank=blank, col=col) -> str:
            if blank[i]:
                return f"{name} is blank"
            v = col[i].as_py() if col is not None else values[i]
            return f"{name} {quoted(v)} is not a number{number_hint(v)}"

        found.add(name, ~np.isfinite(values) & (~blank if name != "Amount" else True), says)
        numbers[name] = values
        del col
    release_memory()
    if found:
        return None, found
    return TransactionLog.from_codes(ids, code, day, numbers["Amount"], numbers.get("Cost"),
                                     numbers.get("Margin"), default_margin_rate), found


# ---- reading a file in parts (a Dask cluster reads each part where it runs) ---------------

@dataclass(frozen=True)
class FilePart:
    """One part of a TransactionsFile: a byte range of a CSV (whole lines) or Parquet row
    groups. `identity` (inode, size, modification time) is the file's when it was split: a
    part is read only from that same file."""

    path: str
    csv: bool
    start: int = 0
    end: int = 0
    row_groups: tuple[int, ...] = ()
    identity: tuple[int, ...] = ()


def _identity(fh: BinaryIO) -> tuple[int, ...]:
    st = os.fstat(fh.fileno())
    return st.st_ino, st.st_size, st.st_mtime_ns


def file_parts(path: Path, part_bytes: int = 64 << 20) -> list[FilePart]:
    """Split a checked file into parts of about `part_bytes`: CSV ranges end at a line end
    (a quoted field holding a line break across a boundary is not supported), Parquet parts
    are whole row groups."""
    where = path.name
    with open_checked(path) as fh:
        csv = _suffix(path)
        size = os.fstat(fh.fileno()).st_size
        ident = _identity(fh)
        if not csv:
            meta = _guarded(where, lambda: pq.ParquetFile(fh).metadata)
            parts, group, acc = [], [], 0
            for g in range(meta.num_row_groups):
                group.append(g)
                acc += meta.row_group(g).total_byte_size
                if acc >= part_bytes:
                    parts.append(FilePart(str(path), False, row_groups=tuple(group),
                                          identity=ident))
                    group, acc = [], 0
            if group or not parts:
                parts.append(FilePart(str(path), False, row_groups=tuple(group), identity=ident))
            return parts
        header = fh.readline(1 << 20)
        bounds = [len(header)]
        while bounds[-1] < size:
            fh.seek(min(bounds[-1] + part_bytes, size))
            if fh.tell() < size:
                fh.readline()  # to the end of the line the jump landed in
            bounds.append(min(fh.tell(), size))
    return [FilePart(str(path), True, a, b, identity=ident)
            for a, b in zip(bounds, bounds[1:], strict=False)
            ] or [FilePart(str(path), True, len(header), len(header), identity=ident)]


def read_part(part: FilePart, default_margin_rate: float
              ) -> tuple[TransactionLog | None, int, RowProblems]:
    """The log of one part (same conversions and checks as a whole file), its rows, and
    its problems (rows numbered within the part)."""
    path = Path(part.path)
    where = path.name
    with open_checked(path) as fh:
        if part.identity and _identity(fh) != part.identity:
            raise InputError(Problem("TransactionsFile changed while its parts were read; run "
                                     "again once it is complete", book=where,
                                     name="TransactionsFile"))
        if part.csv:
            header = fh.readline(1 << 20)
            fh.seek(part.start)
            body = fh.read(part.end - part.start)
            sep = "\t" if path.suffix.lower() == ".tsv" else ","
            columns = _guarded(where, lambda: _read_csv(header + body, where, sep))
        else:
            columns = _guarded(where, lambda: _read_parquet(fh, where, part.row_groups))
        log, found = _guarded(where, lambda: log_from_columns(columns, default_margin_rate))
    rows = len(log) if log is not None else _rows_of(columns)
    return log, rows, found


def _rows_of(columns) -> int:
    return int(getattr(columns, "rows", 0))


def _is_temporal(t) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _is_numeric(t) -> bool:
    return pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)


def _read_parquet(source: BinaryIO, where: str, row_groups: tuple[int, ...] | None = None
                  ) -> ParquetColumns:
    """The contract's columns of a Parquet file (or of some of its row groups), each read
    only when it is asked for, from the open file `source`."""
    pf = pq.ParquetFile(source)
    schema = pf.schema_arrow
    mapping = _columns(schema.names, where)
    rows = pf.metadata.num_rows if row_groups is None else \
        sum(pf.metadata.row_group(g).num_rows for g in row_groups)
    return ParquetColumns(pf, {v: k for k, v in mapping.items()}, schema, row_groups, rows)


class ParquetColumns:
    """A Parquet file's columns by contract name, streamed in batches or read whole, once
    each: a converted column is released before the next one is read."""

    def __init__(self, pf: pq.ParquetFile, names: dict[str, str], schema,
                 row_groups: tuple[int, ...] | None = None, rows: int = 0) -> None:
        self.pf, self.names, self.schema = pf, names, schema
        self.row_groups, self.rows = row_groups, rows

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def type(self, name: str):
        return self.schema.field(self.names[name]).type

    def batches(self, name: str):
        file_name = self.names.pop(name)
        for batch in self.pf.iter_batches(batch_size=1 << 20, columns=[file_name],
                                          row_groups=self.row_groups):
            yield batch.column(0)

    def whole(self, name: str):
        column = self.names.pop(name)
        if self.row_groups is None:
            return self.pf.read(columns=[column]).column(0)
        return self.pf.read_row_groups(list(self.row_groups), columns=[column]).column(0)


def _read_csv(source: BinaryIO | bytes, where: str, sep: str = ",") -> TableColumns:
    """The contract's columns of a CSV file open as `source` (or of bytes: its header line
    and some of its lines): ids and dates as text, numbers as float64 (as text when a cell is
    not a number, so that it can be located)."""
    if isinstance(source, bytes):
        first = source[:source.find(b"\n") + 1 or len(source)]
    else:
        source.seek(0)
        first = source.readline(1 << 20)
    names = list(pd.read_csv(io.BytesIO(first), sep=sep, nrows=0).columns)
    mapping = _columns(names, where)
    inverse = {v: k for k, v in mapping.items()}
    types = {inverse["CustomerID"]: pa.string(), inverse["Date"]: pa.string()}
    numeric = {inverse[c]: pa.float64() for c in NUMBER_COLUMNS if c in inverse}

    def read(number_type):
        if isinstance(source, bytes):
            stream = pa.BufferReader(source)
        else:
            source.seek(0)
            stream = source
        return pacsv.read_csv(
            stream,
            parse_options=pacsv.ParseOptions(delimiter=sep),
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
        self.rows = 0

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
    columns = TableColumns({mapping[name]: table.column(name) for name in table.column_names})
    columns.rows = table.num_rows
    return columns


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
