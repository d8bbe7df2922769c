"""One linear pass over a worksheet part before python-calamine may load it.

python-calamine loads a sheet densely from A1 to its last cell, and aborts the whole process
(a Rust panic, exit 134) when that extent is absurd: a stray cell at `XFD1048576`, a reference
in single quotes, a prefixed SpreadsheetML namespace or rows without `r` all hid the extent
from the regular-expression check this replaces. The scan here sees every way a cell
position can be written, reads the part in windows (memory bounded by the window, not by the
part), and uses only patterns that cannot backtrack past a `<` or `>`, so its time is linear
in the part's size whatever comments or processing instructions the part holds.

It also records what calamine reads as blank or wrong: Excel error values, formulas saved
without a value, and shared-string indices that are not a whole number inside the table
(calamine reads a negative or text index as string 0, a customer that is not in the data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from xlvalue.errors import InputError, Problem

__all__ = ["MAX_ROW_BYTES", "WINDOW", "ExcelError", "SheetScan", "UncachedFormula", "scan_sheet"]

WINDOW = 8 * 1024 * 1024
MAX_ROW_BYTES = 64 * 1024 * 1024  # one <row> element larger than this is refused

_P = rb"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix
# every pattern stops at the next < or >: matches from different starts never overlap
_CELL_REF = re.compile(rb"<" + _P + rb"c\s[^<>]*?\br\s*=\s*[\"']([^\"'<>]*)[\"']")
_ROW_REF = re.compile(rb"<" + _P + rb"row\s[^<>]*?\br\s*=\s*[\"']([^\"'<>]*)[\"']")
_CELL_TAG = re.compile(rb"<" + _P + rb"c[\s/>]")
_ROW_TAG = re.compile(rb"<" + _P + rb"row[\s/>]")
_PREFIX = re.compile(rb"[A-Za-z_][\w.-]*")
_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]{1,7})")
_DECL = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
# a cell's start tag, what it holds up to its end tag (bounded: a cell holds no <c)
_CELL = re.compile(rb"<(" + _P + rb"c)(\s[^<>]*)?>")
_ATTR_T = re.compile(rb"\bt\s*=\s*[\"']([^\"'<>]*)[\"']")
_ATTR_R = re.compile(rb"\br\s*=\s*[\"']([^\"'<>]*)[\"']")
_VALUE = re.compile(rb"<" + _P + rb"v\s*>([^<]*)<")
_FORMULA = re.compile(rb"<" + _P + rb"f[\s>/]")
_FORMULA_TEXT = re.compile(rb"<" + _P + rb"f(?:\s[^<>]*)?>([^<]*)<")
_ERROR_T = re.compile(rb"\st\s*=\s*[\"']e[\"']")
_SHARED = re.compile(rb"<" + _P + rb"c\s[^<>]*?\bt\s*=\s*[\"']s[\"'][^<>]*>\s*<" + _P
                     + rb"v\s*>([^<]*)<")


@dataclass(frozen=True)
class UncachedFormula:
    """A formula cell saved without its value (e.g. written by a library, never opened)."""

    formula: str

    def __str__(self) -> str:
        return f"={self.formula}"


@dataclass(frozen=True)
class ExcelError:
    """An Excel error value found in an input cell."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class SheetScan:
    """What the scan found: the extent calamine will load and the cells it misreads."""

    last_row: int = 0  # 1-based; 0 = no rows
    last_col: int = 0  # 1-based; 0 = no cells
    formulas: int = 0
    markers: dict[tuple[int, int], object] = field(default_factory=dict)
    bad_shared: list[str] = field(default_factory=list)  # shared-string values out of the table


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _last_row_start(buf: bytearray, lo: int) -> int:
    """Offset of the last <row> start tag (prefixed or not) at or after lo, or -1."""
    for needle in (b"<row", b":row"):
        i = buf.rfind(needle, lo)
        while i >= lo:
            after = buf[i + len(needle):i + len(needle) + 1]
            if after in (b" ", b"\t", b"\n", b"\r", b">", b"/"):
                if needle == b"<row":
                    return i
                lt = buf.rfind(b"<", max(i - 64, 0), i)
                if lt >= 0 and _PREFIX.fullmatch(buf, lt + 1, i):
                    return lt
            i = buf.rfind(needle, lo, i)
    return -1


_MARKUP = ((b"<!--", b"-->"), (b"<?", b"?>"), (b"<![CDATA[", b"]]>"))


def _outside_markup(buf: bytearray, cut: int) -> int:
    """`cut`, or the start of the comment, processing instruction or CDATA section it falls
    inside (a window never splits one)."""
    for start, end in _MARKUP:
        i = buf.rfind(start, 0, cut)
        if i >= 0 and buf.rfind(end, i, cut) < 0:
            cut = i
    return cut


def _strip_markup(data: bytes) -> bytes:
    """The window without comments, processing instructions and CDATA sections (their text
    is not XML markup: a `<c r="XFD1">` inside a comment is no cell). Linear: each kind's
    next start is searched once per occurrence."""
    if not any(start in data for start, _ in _MARKUP[:1]) and data.count(b"<?") <= 1 \
            and b"<![CDATA[" not in data:
        return data
    out = []
    pos = 0
    nxt = {start: data.find(start) for start, _ in _MARKUP}
    while True:
        live = [(i, start) for start, i in nxt.items() if i >= 0]
        if not live:
            break
        i, start = min(live)
        end_tag = dict(_MARKUP)[start]
        end = data.find(end_tag, i + len(start))
        out.append(data[pos:i])
        pos = len(data) if end < 0 else end + len(end_tag)
        for s2 in nxt:
            if 0 <= nxt[s2] < pos:
                nxt[s2] = data.find(s2, pos)
    out.append(data[pos:])
    return b"".join(out)


def _windows(chunks: Iterable[bytes], book: str, part: str) -> Iterable[bytes]:
    """Re-cut a stream of bytes into windows of about WINDOW bytes that each end just before
    a <row> start tag (rows are never split), searching each byte about once."""
    buf = bytearray()
    scanned = 0
    cut = -1
    for chunk in chunks:
        buf += chunk
        found = _last_row_start(buf, max(scanned - 70, 1))
        cut = max(cut, found)
        scanned = len(buf)
        if len(buf) >= WINDOW and cut > 0:
            cut = _outside_markup(buf, cut)
        if len(buf) >= WINDOW and cut > 0:
            yield bytes(buf[:cut])
            del buf[:cut]
            scanned -= cut
            cut = -1
        elif len(buf) > MAX_ROW_BYTES:
            raise InputError(Problem(
                f"part {part} holds more than {MAX_ROW_BYTES // 2**20} MiB of XML between two "
                "row starts (padding or one enormous row); refused", book=book))
    yield bytes(buf)


def scan_sheet(chunks: Iterable[bytes], book: str, sheet: str, part: str,
               shared_count: int | None = None) -> SheetScan:
    """Scan a worksheet part given as a stream of byte chunks (see the module docstring)."""
    scan = SheetScan()
    row = 0  # calamine's row counter: a <row> without r is the row after the previous one
    for data in _windows(chunks, book, part):
        if _DECL.search(data):
            raise InputError(Problem(f"part {part} declares a DTD or entities; refused",
                                     book=book, sheet=sheet))
        data = _strip_markup(data)
        fast = _FastWindow.of(data)
        if fast is not None:
            row = max(row, fast.last_row)
            scan.last_row = max(scan.last_row, row, fast.last_cell_row)
            scan.last_col = max(scan.last_col, fast.last_col)
            markers = fast.may_have_markers
        else:
            row = _rows(data, scan, row, book, sheet)
            _cells(data, scan, book, sheet)
            markers = True
        if markers:
            _markers(data, scan)
        if shared_count is not None:
            _shared(data, scan, shared_count)
    return scan


_TAG_REST = re.compile(rb"[^<>]*")
_PREFIXED = re.compile(rb":(?:c|row|f|v)[\s/>]")
_DELIMS = np.array([ord(c) for c in " \t\n\r>/"], np.uint8)


@dataclass(frozen=True)
class _FastWindow:
    """The common shape, read with numpy over the window's bytes: no namespace prefix on
    cells or rows, every <row and <c tag starts with r="...", every reference well formed.
    Anything else returns None from `of` and goes to the general (slower) path."""

    last_row: int
    last_cell_row: int
    last_col: int
    may_have_markers: bool

    @classmethod
    def of(cls, data: bytes) -> _FastWindow | None:
        if _PREFIXED.search(data):
            return None
        a = np.frombuffer(data + b"\0" * 24, np.uint8)
        lt = np.flatnonzero(a[:len(data)] == ord("<"))
        c1, c2 = a[lt + 1], a[lt + 2]
        is_cell = (c1 == ord("c")) & np.isin(c2, _DELIMS)
        is_row = (c1 == ord("r")) & (c2 == ord("o")) & (a[lt + 3] == ord("w")) \
            & np.isin(a[lt + 4], _DELIMS)
        cells, rows = lt[is_cell], lt[is_row]
        if not (_starts(a, cells, b'<c r="') and _starts(a, rows, b'<row r="')):
            return None
        col, cell_row, ok = _refs(a, cells + 6, letters=True)
        _, row, ok_rows = _refs(a, rows + 8, letters=False)
        if not (ok and ok_rows):
            return None
        formulas = bool(((c1 == ord("f")) & np.isin(c2, _DELIMS)).any())
        errors = b'"e"' in data or b"'e'" in data
        return cls(int(row.max(initial=0)), int(cell_row.max(initial=0)),
                   int(col.max(initial=0)), formulas or errors)


def _starts(a: np.ndarray, at: np.ndarray, prefix: bytes) -> bool:
    """Every offset in `at` starts with `prefix`."""
    return all(bool((a[at + k] == b).all()) for k, b in enumerate(prefix))


def _refs(a: np.ndarray, start: np.ndarray, letters: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Column numbers and row numbers of the references starting at `start` (1-3 letters
    when `letters`, then 1-7 digits, then a closing quote), vectorised; ok is False if one
    reference is anything else."""
    col = np.zeros(len(start), np.int64)
    n_letters = np.zeros(len(start), np.int64)
    if letters:
        going = np.ones(len(start), bool)
        for k in range(4):
            ch = a[start + k] | 0x20  # lower case
            going = going & (ch >= ord("a")) & (ch <= ord("z"))
            col = np.where(going, col * 26 + (ch.astype(np.int64) - ord("a") + 1), col)
            n_letters += going
        if ((n_letters == 0) | (n_letters > 3)).any():
            return col, col, False
    pos = start + n_letters
    row = np.zeros(len(start), np.int64)
    going = np.ones(len(start), bool)
    n_digits = np.zeros(len(start), np.int64)
    for k in range(8):
        ch = a[pos + k]
        going = going & (ch >= ord("0")) & (ch <= ord("9"))
        row = np.where(going, row * 10 + (ch.astype(np.int64) - ord("0")), row)
        n_digits += going
    ok = bool(((n_digits >= 1) & (n_digits <= 7)).all()) and bool(
        (a[pos + n_digits] == ord('"')).all())
    return col, row, ok


def _count(data: bytes, needles: Iterable[bytes]) -> int:
    return sum(data.count(n) for n in needles)


def _largest(numbers: list[bytes]) -> int:
    """The largest of decimal digit strings (at most 10 digits each), converted in C."""
    if not numbers:
        return 0
    return int(np.array(numbers).astype(np.int64).max())

def _bad_ref(value: bytes, what: str, book: str, sheet: str) -> InputError:
    text = value[:40].decode("utf-8", "replace")
    return InputError(Problem(f"{what} position '{text}' is not a cell reference like B7; the "
                              "sheet is damaged", book=book, sheet=sheet))


def _attrs(data: bytes, m: re.Match[bytes]) -> bytes:
    """The rest of the start tag matched by m (up to its > or the next <: bounded)."""
    rest = _TAG_REST.match(data, m.end() - 1)
    return rest.group(0) if rest else b""


def _rows(data: bytes, scan: SheetScan, row: int, book: str, sheet: str) -> int:
    for m in _ROW_TAG.finditer(data):  # in document order: rows without r count on
        r = _ATTR_R.search(_attrs(data, m))
        if r is None:
            row += 1
            continue
        if not r.group(1).isdigit() or len(r.group(1)) > 7:
            raise _bad_ref(r.group(1), "a row", book, sheet)
        row = int(r.group(1))
        scan.last_row = max(scan.last_row, row)
    scan.last_row = max(scan.last_row, row)
    return row


def _cells(data: bytes, scan: SheetScan, book: str, sheet: str) -> None:
    col = 0
    rows = [m.start() for m in _ROW_TAG.finditer(data)]
    next_row = 0
    for m in _CELL_TAG.finditer(data):
        while next_row < len(rows) and rows[next_row] < m.start():
            col = 0  # a new row: cells without r count on from its first column
            next_row += 1
        r = _ATTR_R.search(_attrs(data, m))
        if r is None:
            col += 1
            scan.last_col = max(scan.last_col, col)
            continue
        ref = _REF.fullmatch(r.group(1))
        if ref is None:
            raise _bad_ref(r.group(1), "a cell", book, sheet)
        col = _col_number(ref.group(1))
        scan.last_col = max(scan.last_col, col)
        scan.last_row = max(scan.last_row, int(ref.group(2)))


def _cell_at(data: bytes, start: int) -> tuple[re.Match[bytes] | None, bytes]:
    """The cell start tag at or a few tags before `start` and the cell's body (to its end
    tag or the next cell, whichever comes first)."""
    lt = data.rfind(b"<", 0, start + 1)
    for _ in range(4):  # the cell tag is at most a few tags back; never walk further
        if lt < 0 or _CELL.match(data, lt):
            break
        lt = data.rfind(b"<", 0, lt)
    m = _CELL.match(data, lt) if lt >= 0 else None
    if m is None:
        return None, b""
    nxt = _CELL_TAG.search(data, m.end())
    stop = nxt.start() if nxt is not None else len(data)
    end = data.find(b"</" + m.group(1), m.end(), stop)
    return m, data[m.end():end if end >= 0 else stop]


def _key(tag: re.Match[bytes]) -> tuple[int, int] | None:
    r = _ATTR_R.search(tag.group(2) or b"")
    ref = _REF.fullmatch(r.group(1)) if r else None
    if ref is None:
        return None
    return int(ref.group(2)) - 1, _col_number(ref.group(1)) - 1


def _markers(data: bytes, scan: SheetScan) -> None:
    for m in _ERROR_T.finditer(data):
        tag, body = _cell_at(data, m.start())
        if tag is None or not tag.group(2) or m.start() < tag.start():
            continue
        t = _ATTR_T.search(tag.group(2))
        key = _key(tag)
        if key is None or t is None or t.group(1) != b"e":
            continue
        val = _VALUE.search(body)
        scan.markers[key] = ExcelError(val.group(1).decode("utf-8", "replace") if val
                                       else "#ERROR")
    for m in _FORMULA.finditer(data):
        scan.formulas += 1
        tag, body = _cell_at(data, m.start())
        if tag is None:
            continue
        key = _key(tag)
        val = _VALUE.search(body)
        if key is None or (val is not None and val.group(1) != b""):
            continue
        text = _FORMULA_TEXT.search(body)
        scan.markers.setdefault(key, UncachedFormula(
            text.group(1).decode("utf-8", "replace") if text else ""))


_FAST_SHARED = re.compile(rb't="s"><v>([^<]*)<')
_INDICES = re.compile(rb"(?:[0-9]{1,10} )*")


def _shared(data: bytes, scan: SheetScan, count: int) -> None:
    """Shared-string indices must be whole numbers inside the table (calamine reads a
    negative or text index as string 0)."""
    n = _count(data, (b't="s"', b"t='s'"))
    if not n:
        return
    values = _FAST_SHARED.findall(data)
    if len(values) != n:
        values = _SHARED.findall(data)
    joined = b" ".join(v.strip() for v in values) + b" "
    if _INDICES.fullmatch(joined) is not None and _largest(joined.split()) < count \
            and len(values) == n:
        return
    for m in _SHARED.finditer(data):
        v = m.group(1).strip()
        if v.isdigit() and len(v) <= 10 and int(v) < count:
            continue
        r = _ATTR_R.search(m.group(0))
        where = r.group(1).decode("utf-8", "replace") if r else "?"
        scan.bad_shared.append(f"{where}: {v[:20].decode('utf-8', 'replace')!r}")
