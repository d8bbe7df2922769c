"""An in-memory stand-in for the part of the xlwings API that xlvalue's adapter uses.

It implements exactly the calls listed in xlvalue/excel/xlwings_book.py (the test checks the
list), with xlwings' conventions: 1-based (row, col) tuples, 2-D lists for multi-cell values,
None for empty cells, text starting with '=' taken as a formula unless it starts with an
apostrophe, errors as '#N/A'-style text when err_to_str is set.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter, range_boundaries


class App:
    def __init__(self):
        self.status_bar: str | bool = False
        self.alerts: list[tuple[str, str]] = []

    def alert(self, prompt, title=None, **_):
        self.alerts.append((title or "", prompt))


class Range:
    def __init__(self, sheet: Sheet, r0: int, c0: int, r1: int, c1: int, err_to_str=False):
        self.sheet, self.row, self.column = sheet, r0, c0
        self._r1, self._c1, self._err = r1, c1, err_to_str

    @property
    def last_cell(self) -> Range:
        return Range(self.sheet, self._r1, self._c1, self._r1, self._c1)

    def options(self, ndim=None, err_to_str=False, **_):
        assert ndim == 2
        return Range(self.sheet, self.row, self.column, self._r1, self._c1, err_to_str)

    @property
    def value(self):
        out = [[self.sheet._get(r, c, self._err) for c in range(self.column, self._c1 + 1)]
               for r in range(self.row, self._r1 + 1)]
        if len(out) == 1 and len(out[0]) == 1 and self._err is False:
            return out[0][0]
        return out

    @value.setter
    def value(self, data):
        rows = data if isinstance(data, list) else [[data]]
        for i, row in enumerate(rows):
            for j, v in enumerate(row if isinstance(row, list) else [row]):
                self.sheet._set(self.row + i, self.column + j, v)

    @property
    def number_format(self):
        return self.sheet.formats.get((self.row, self.column))

    @number_format.setter
    def number_format(self, fmt):
        for r in range(self.row, self._r1 + 1):
            for c in range(self.column, self._c1 + 1):
                self.sheet.formats[(r, c)] = fmt

    def get_address(self, row_absolute=True, column_absolute=True, include_sheetname=False):
        a = f"${get_column_letter(self.column)}${self.row}:${get_column_letter(self._c1)}${self._r1}"
        return f"'{self.sheet.name}'!{a}" if include_sheetname else a


class Chart:
    def __init__(self, charts, left, top, width, height):
        self._charts, self.left, self.top, self.width, self.height = charts, left, top, width, height
        self.chart_type, self.name, self.source = None, "", None

    def set_source_data(self, rng: Range):
        self.source = rng

    def delete(self):
        self._charts._items.remove(self)


class Charts:
    def __init__(self):
        self._items: list[Chart] = []

    def add(self, left=0, top=0, width=355, height=211):
        chart = Chart(self, left, top, width, height)
        self._items.append(chart)
        return chart

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)


class Table:
    def __init__(self, name: str, rng: Range):
        self.name, self.range = name, rng


class Sheet:
    def __init__(self, book: Book, name: str):
        self.book, self.name = book, name
        self.cells: dict[tuple[int, int], object] = {}
        self.formulas: dict[tuple[int, int], str] = {}
        self.formats: dict[tuple[int, int], str] = {}
        self.tables: list[Table] = []
        self.charts = Charts()

    def _get(self, r, c, err_to_str):
        v = self.cells.get((r, c))
        if isinstance(v, str) and v.startswith("#") and not err_to_str:
            return None
        return v

    def _set(self, r, c, v):
        self.formulas.pop((r, c), None)
        if isinstance(v, str) and v.startswith("'"):
            v = v[1:]
        elif isinstance(v, str) and v.startswith("="):
            self.formulas[(r, c)] = v  # Excel would evaluate it: keep it apart
            v = None
        if v is None:
            self.cells.pop((r, c), None)
        else:
            self.cells[(r, c)] = v

    def range(self, cell1, cell2=None):
        r0, c0 = cell1
        r1, c1 = cell2 if cell2 is not None else cell1
        return Range(self, r0, c0, r1, c1)

    def clear(self):
        self.cells.clear()
        self.formulas.clear()
        self.formats.clear()


class Sheets:
    def __init__(self, book):
        self.book, self._items = book, []

    def __iter__(self):
        return iter(list(self._items))

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._items[key]
        return next(s for s in self._items if s.name.lower() == key.lower())

    def add(self, name=None, before=None, after=None):
        sheet = Sheet(self.book, name)
        pos = self._items.index(after) + 1 if after is not None else 0
        self._items.insert(pos, sheet)
        return sheet


class Name:
    def __init__(self, names, name, refers_to):
        self._names, self.name, self.refers_to = names, name, refers_to

    @property
    def refers_to_range(self):
        text = self.refers_to.lstrip("=")
        if "#REF!" in text:
            raise Exception("no range")
        sheet, area = text.rsplit("!", 1)
        sheet = sheet.strip("'")
        c0, r0, c1, r1 = range_boundaries(area.replace("$", ""))
        return self._names.book.sheets[sheet].range((r0, c0), (r1, c1))

    def delete(self):
        self._names._items.remove(self)


class Names:
    def __init__(self, book):
        self.book, self._items = book, []

    def __iter__(self):
        return iter(list(self._items))

    def add(self, name, refers_to):
        item = Name(self, name, refers_to)
        self._items.append(item)
        return item


class Book:
    def __init__(self, name: str):
        self.name = name
        self.app = App()
        self.sheets = Sheets(self)
        self.names = Names(self)


def load(path: Path) -> Book:
    """A stand-in book holding the values, names and tables of a real workbook file."""
    wb = openpyxl.load_workbook(path)
    book = Book(Path(path).name)
    for ws in wb.worksheets:
        sheet = book.sheets.add(ws.title, after=list(book.sheets)[-1] if list(book.sheets) else None)
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    v = c.value
                    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                        v = dt.datetime(v.year, v.month, v.day)
                    if isinstance(v, int) and not isinstance(v, bool):
                        v = float(v)  # Excel numbers are doubles
                    sheet.cells[(c.row, c.column)] = v
        for t in ws.tables.values():
            c0, r0, c1, r1 = range_boundaries(t.ref)
            sheet.tables.append(Table(t.displayName, sheet.range((r0, c0), (r1, c1))))
    for name, dn in wb.defined_names.items():
        book.names.add(name, "=" + dn.attr_text)
    return book
