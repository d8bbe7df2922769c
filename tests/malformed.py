"""A corpus of malformed (and tricky but valid) workbooks, built by code.

Each case names how to build the file, the command-line arguments, and what must happen:
exit code 2 with a message fragment on the first line(s), or success (exit 0).
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName

from .conftest import add_settings

D0 = dt.date(2024, 1, 3)
TX_HEADER = ["CustomerID", "Date", "Amount"]


def tx_rows(n: int = 12) -> list[list]:
    return [[f"C{i % 4}", D0 + dt.timedelta(days=7 * i), 10.0 + i] for i in range(n)]


@dataclass
class Case:
    name: str
    build: Callable[[Path], Path]
    expect: str | None  # fragment of the error, None = success
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    command: str = "run"  # or "eval"
    may_drop: frozenset[str] = frozenset()  # input parts the output may lack
    slow: bool = False  # built or run in more than a few seconds (marked `slow`)


def book(path: Path, rows: list[list] | None = None, header=None, settings: dict | None = None,
         extra: dict[str, pd.DataFrame] | None = None, name_ref: str | None = None,
         hidden: str | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Transactions"
    header = header or TX_HEADER
    rows = tx_rows() if rows is None else rows
    ws.append(header)
    for r in rows:
        ws.append(r)
    ref = name_ref or f"Transactions!$A$1:${chr(64 + len(header))}${len(rows) + 1}"
    wb.defined_names["xv_Transactions"] = DefinedName("xv_Transactions", attr_text=ref)
    if settings:
        add_settings(wb, settings)
    for name, frame in (extra or {}).items():
        sh = wb.create_sheet(name.removeprefix("xv_"))
        sh.append(list(frame.columns))
        for r in frame.itertuples(index=False):
            sh.append(list(r))
        wb.defined_names[name] = DefinedName(
            name, attr_text=f"{sh.title}!$A$1:${chr(64 + len(frame.columns))}${len(frame) + 1}")
    if hidden:
        ws.sheet_state = hidden
        wb.create_sheet("Visible")
        wb.active = 1
    wb.save(path)
    return path


def patch_parts(path: Path, edit: Callable[[dict[str, bytes]], None]) -> Path:
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    edit(parts)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    return path


def replace_in(part: str, old: str, new: str) -> Callable[[dict[str, bytes]], None]:
    def edit(parts: dict[str, bytes]) -> None:
        text = parts[part].decode()
        assert old in text, (part, old)
        parts[part] = text.replace(old, new, 1).encode()
    return edit


def cell_edit(path: Path, cell: str, old_xml_value: str, new_cell_body: str, attrs: str = "") -> Path:
    """Replace `<c r="cell" ...>...</c>` in sheet1 with our own cell XML."""
    import re

    def edit(parts: dict[str, bytes]) -> None:
        text = parts["xl/worksheets/sheet1.xml"].decode()
        new, n = re.subn(rf'<c r="{cell}"[^>]*?(/>|>.*?</c>)', f'<c r="{cell}"{attrs}>{new_cell_body}</c>',
                         text, count=1)
        assert n == 1, cell
        parts["xl/worksheets/sheet1.xml"] = new.encode()
    return patch_parts(path, edit)


def score_tables() -> dict[str, pd.DataFrame]:
    return {"xv_ScoreModel": pd.DataFrame({"Indicator": ["a", "b"], "Weight": [60.0, 40.0]}),
            "xv_ScoreInputs": pd.DataFrame({"CustomerID": ["x", "y", "z"], "a": [1.0, 2.0, 3.0],
                                            "b": [3.0, 2.0, 1.0]})}


def costing_tables() -> dict[str, pd.DataFrame]:
    return {"xv_CostPools": pd.DataFrame({"Pool": ["P"], "Stage": [1], "Amount": [100.0]}),
            "xv_Drivers": pd.DataFrame({"Stage": [1, 1], "From": ["P", "P"], "To": ["A", "B"],
                                        "Quantity": [1.0, 3.0]}),
            "xv_Revenue": pd.DataFrame({"Object": ["A", "B"], "Revenue": [50.0, 90.0]})}


def elasticity_table() -> dict[str, pd.DataFrame]:
    return {"xv_Elasticity": pd.DataFrame({"Group": ["g"], "P1": [10.0], "Q1": [100.0],
                                           "P2": [11.0], "Q2": [90.0]})}


def _cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    # -- valid but tricky: these must succeed
    add(Case("valid baseline", lambda p: book(p), None))
    add(Case("hidden input sheet", lambda p: book(p, hidden="hidden"), None))
    add(Case("very hidden input sheet", lambda p: book(p, hidden="veryHidden"), None))
    add(Case("whole-column name", lambda p: book(p, name_ref="Transactions!$A:$C"), None))
    add(Case("range to the last row", lambda p: book(p, name_ref="Transactions!$A$1:$C$1048576"),
             None))
    add(Case("trailing blank rows", lambda p: book(p, name_ref="Transactions!$A$1:$C$500"), None))
    for text in ("2024-01-03", "20240103", "2024/01/03", "2024-01-03T10:30:00", "2024-1-3"):
        add(Case(f"text date {text}", lambda p, t=text: book(p, rows=tx_rows() + [["C9", t, 5.0]]),
                 None))
    add(Case("serial-number date", lambda p: book(p, rows=tx_rows() + [["C9", 45300, 5.0]]), None))
    add(Case("numeric ids", lambda p: book(p, rows=[[i % 3, D0 + dt.timedelta(i), 1.0 + i]
                                                    for i in range(9)]), None))
    add(Case("numeric text amounts", lambda p: book(p, rows=tx_rows() + [["C9", D0, "12.50"]]),
             None))
    add(Case("returns kept", lambda p: book(p, rows=tx_rows() + [["C1", D0, -5.0]]), None))
    add(Case("formula with cached value",
             lambda p: cell_edit(book(p), "C3", "", "<f>10+1</f><v>11</v>"), None))
    add(Case("extra columns ignored", lambda p: book(
        p, header=TX_HEADER + ["Note"], rows=[r + ["x"] for r in tx_rows()]), None))
    add(Case("columns in another order", lambda p: book(
        p, header=["Amount", "CustomerID", "Date"], rows=[[r[2], r[0], r[1]] for r in tx_rows()]),
        None))
    add(Case("scores only", lambda p: book(p, extra=score_tables()), None, ["--only", "scores"]))
    add(Case("costing only", lambda p: book(p, extra=costing_tables()), None, ["--only", "costing"]))
    add(Case("elasticity only", lambda p: book(p, extra=elasticity_table()), None,
             ["--only", "elasticity"]))
    add(Case("external link part kept, never followed", lambda p: patch_parts(
        book(p), lambda parts: parts.update({"xl/externalLinks/externalLink1.xml":
                                             b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'})),
        None))
    add(Case("DDE formula cached value used, not evaluated", lambda p: cell_edit(
        book(p), "C4", "", "<f>cmd|'/c calc'!A0</f><v>13</v>"), None))

    # -- missing, broken or clashing names
    for analysis, name in (("rfm", "xv_Transactions"), ("scores", "xv_ScoreModel"),
                           ("costing", "xv_CostPools"), ("costing", "xv_Drivers"),
                           ("costing", "xv_Revenue"), ("elasticity", "xv_Elasticity")):
        def build(p, name=name):
            extra = {**score_tables(), **costing_tables(), **elasticity_table()}
            extra.pop(name, None)
            if name == "xv_Transactions":
                wb_path = book(p, extra=extra)
                wb = load_workbook(wb_path)
                del wb.defined_names["xv_Transactions"]
                wb.save(wb_path)
                return wb_path
            return book(p, extra=extra)
        add(Case(f"missing {name}", build, f"({name}): no defined name or Excel table",
                 ["--only", analysis]))
    for name, analysis in (("xv_Transactions", "rfm"), ("xv_ScoreModel", "scores"),
                           ("xv_Drivers", "costing"), ("xv_Elasticity", "elasticity"),
                           ("xv_Settings", "rfm")):
        def build(p, name=name):
            extra = {**score_tables(), **costing_tables(), **elasticity_table()}
            path = book(p, extra=extra, settings={"RFMBins": 5})
            wb = load_workbook(path)
            wb.defined_names[name] = DefinedName(name, attr_text="#REF!")
            wb.save(path)
            return path
        add(Case(f"{name} points to #REF!", build, f"({name}): name points to #REF!",
                 ["--only", analysis]))
    add(Case("name on a missing sheet", lambda p: book(p, name_ref="Gone!$A$1:$C$5"),
             "refers to sheet 'Gone', which does not exist"))
    add(Case("name is a formula", lambda p: book(p, name_ref="OFFSET(Transactions!$A$1,0,0,5,3)"),
             "expected a plain range"))
    add(Case("name is a link to another workbook",
             lambda p: book(p, name_ref="[other.xlsx]Transactions!$A$1:$C$5"),
             "expected a plain range"))

    def two_local(p):
        path = book(p)
        wb = load_workbook(path)
        del wb.defined_names["xv_Transactions"]
        sheet2 = wb.create_sheet("Copy")
        for row in wb["Transactions"].iter_rows(values_only=True):
            sheet2.append(row)
        wb["Transactions"].defined_names["xv_Transactions"] = DefinedName(
            "xv_Transactions", attr_text="Transactions!$A$1:$C$13")
        sheet2.defined_names["xv_Transactions"] = DefinedName(
            "xv_Transactions", attr_text="Copy!$A$1:$C$13")
        wb.save(path)
        return path
    add(Case("same name on two sheets", two_local, "is defined on several sheets"))

    # -- wrong shape / missing columns
    for col in TX_HEADER:
        add(Case(f"transactions without {col}", lambda p, col=col: book(
            p, header=[h for h in TX_HEADER if h != col],
            rows=[[v for h, v in zip(TX_HEADER, r, strict=True) if h != col] for r in tx_rows()]),
            f"missing column '{col}'"))
    add(Case("single-cell name", lambda p: book(p, name_ref="Transactions!$A$1"),
             "missing column 'Date'", ["--only", "rfm"]))
    add(Case("single-cell name, plain run", lambda p: book(p, name_ref="Transactions!$A$1"),
             "xv_Transactions hold(s) no data rows"))
    for name, frame_fn, analysis in (("xv_ScoreModel", score_tables, "scores"),
                                     ("xv_Drivers", costing_tables, "costing"),
                                     ("xv_CostPools", costing_tables, "costing"),
                                     ("xv_Revenue", costing_tables, "costing"),
                                     ("xv_Elasticity", elasticity_table, "elasticity")):
        frame = frame_fn()[name]
        for col in frame.columns:
            def build(p, name=name, col=col, frame_fn=frame_fn):
                tables = frame_fn()
                tables[name] = tables[name].drop(columns=col)
                return book(p, extra=tables)
            add(Case(f"{name} without {col}", build, f"missing column '{col}'",
                     ["--only", analysis]))

    # -- wrong types
    for amount in ("abc", True, "12,34,56x", "1e999x"):
        add(Case(f"amount {amount!r}", lambda p, a=amount: book(p, rows=tx_rows() + [["C9", D0, a]]),
                 "Transactions!C14 (xv_Transactions): Amount"))
    for text in ("31/12/2024", "12/31/2024", "Dec 31 2024", "2024.12.31", "31-12-2024",
                 "yesterday", "2024-13-45", "00/00/0000"):
        add(Case(f"date {text!r}", lambda p, t=text: book(p, rows=tx_rows() + [["C9", t, 5.0]]),
                 f"Transactions!B14 (xv_Transactions): Date '{text}' is not a date"))
    add(Case("boolean date", lambda p: book(p, rows=tx_rows() + [["C9", True, 5.0]]),
             "Transactions!B14 (xv_Transactions): Date True is not a date"))
    add(Case("negative serial date", lambda p: book(p, rows=tx_rows() + [["C9", -5, 5.0]]),
             "is not a date"))
    add(Case("blank customer id", lambda p: book(p, rows=tx_rows() + [[None, D0, 5.0]]),
             "Transactions!A14 (xv_Transactions): CustomerID is blank"))
    add(Case("blank amount", lambda p: book(p, rows=tx_rows() + [["C9", D0, None]]),
             "Transactions!C14 (xv_Transactions): Amount is blank"))
    for name, col, frame_fn, analysis, value in (
            ("xv_ScoreModel", "Weight", score_tables, "scores", "heavy"),
            ("xv_ScoreInputs", "a", score_tables, "scores", "n/a"),
            ("xv_CostPools", "Amount", costing_tables, "costing", "lots"),
            ("xv_CostPools", "Stage", costing_tables, "costing", 1.5),
            ("xv_Drivers", "Quantity", costing_tables, "costing", "many"),
            ("xv_Drivers", "Stage", costing_tables, "costing", "first"),
            ("xv_Revenue", "Revenue", costing_tables, "costing", "$$"),
            ("xv_Elasticity", "P1", elasticity_table, "elasticity", "ten"),
            ("xv_Elasticity", "Q2", elasticity_table, "elasticity", "-")):
        def build(p, name=name, col=col, frame_fn=frame_fn, value=value):
            tables = frame_fn()
            tables[name] = tables[name].astype(object)
            tables[name].loc[0, col] = value
            return book(p, extra=tables)
        add(Case(f"{name}.{col} = {value!r}", build, f"({name}): {col} ", ["--only", analysis]))

    # -- blank rows, merged cells, duplicates
    add(Case("blank row inside transactions", lambda p: book(
        p, rows=tx_rows()[:5] + [[None, None, None]] + tx_rows()[5:]),
        "Transactions!A7 (xv_Transactions): blank row inside the table"))

    def merged(p):
        path = book(p)
        wb = load_workbook(path)
        wb["Transactions"].merge_cells("A3:A5")
        wb.save(path)
        return path
    add(Case("merged id cells", merged, "Transactions!A4 (xv_Transactions): CustomerID is blank"))
    add(Case("duplicated customers", lambda p: book(p, extra={"xv_Customers": pd.DataFrame(
        {"CustomerID": ["C1", "C1"], "Name": ["a", "b"]})}), "CustomerID 'C1' appears more than once"))
    add(Case("duplicated indicators", lambda p: book(p, extra={
        "xv_ScoreModel": pd.DataFrame({"Indicator": ["a", "a"], "Weight": [50.0, 50.0]}),
        "xv_ScoreInputs": score_tables()["xv_ScoreInputs"]}), "Indicator 'a' appears more than once",
        ["--only", "scores"]))
    add(Case("duplicated pools", lambda p: book(p, extra={
        **costing_tables(), "xv_CostPools": pd.DataFrame({"Pool": ["P", "P"], "Stage": [1, 1],
                                                          "Amount": [1.0, 2.0]})}),
        "Pool 'P' appears more than once", ["--only", "costing"]))

    # -- error values and formulas
    for err in ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!"):
        add(Case(f"error {err} in amount", lambda p, e=err: cell_edit(
            book(p), "C5", "", f"<v>{e}</v>", ' t="e"'),
            f"Transactions!C5 (xv_Transactions): Amount error value {err}"))
    add(Case("error in a date", lambda p: cell_edit(book(p), "B6", "", "<v>#N/A</v>", ' t="e"'),
             "Transactions!B6 (xv_Transactions): Date error value #N/A"))
    add(Case("error in an id", lambda p: cell_edit(book(p), "A7", "", "<v>#REF!</v>", ' t="e"'),
             "Transactions!A7 (xv_Transactions): CustomerID error value #REF!"))
    add(Case("formula without cached value", lambda p: cell_edit(book(p), "C3", "", "<f>10+1</f>"),
             "Transactions!C3 (xv_Transactions): Amount holds the formula =10+1 without a saved value"))
    add(Case("formula with empty cached value", lambda p: cell_edit(
        book(p), "B3", "", "<f>TODAY()</f><v></v>"), "Date holds the formula =TODAY()"))

    # -- settings
    for key, value, fragment in (
            ("AsOfDate", "someday", "AsOfDate 'someday' is not a date"),
            ("AsOfDate", dt.date(2020, 1, 1), "AsOfDate 2020-01-01 is before the first purchase"),
            ("PeriodUnit", "fortnight", "PeriodUnit 'fortnight' is not one of"),
            ("TimeUnit", "hours", "TimeUnit 'hours' is not one of"),
            ("RFMBins", 1, "RFMBins 1 is outside 2..10"),
            ("RFMBins", "five", "RFMBins 'five' is not a whole number"),
            ("RFMBins", 4.5, "RFMBins 4.5 is not a whole number"),
            ("DiscountRate", 2, "DiscountRate 2 is outside"),
            ("TierCuts", "a,b", "TierCuts 'a,b' is not a comma-separated list"),
            ("Model", "magic", "Model 'magic' is not one of"),
            ("Horizon", 0, "Horizon 0 is outside"),
            ("MarginRate", "high", "MarginRate 'high' is not a number"),
            ("CalibrationEnd", dt.date(2030, 1, 1), "CalibrationEnd 2030-01-01 must lie between"),
            ("ScoreMissing", "guess", "ScoreMissing 'guess' is not one of")):
        add(Case(f"setting {key}={value!r}", lambda p, k=key, v=value: book(p, settings={k: v}),
                 fragment))
    add(Case("ParetoA above ParetoB", lambda p: book(p, settings={"ParetoA": 0.9, "ParetoB": 0.8}),
             "ParetoA must not exceed ParetoB"))
    add(Case("RFMWeights of two numbers", lambda p: book(p, settings={"RFMWeights": "1,2"}),
             "RFMWeights must hold 3 numbers"))
    add(Case("TierCuts decreasing", lambda p: book(p, settings={"TierCuts": "0.5,0.2,0.1"}),
             "TierCuts [0.5, 0.2, 0.1] must be 3 increasing shares"))

    # -- costing graph problems
    for label, drivers, fragment in (
            ("negative driver", [(1, "P", "A", -1.0), (1, "P", "B", 3.0)], "is negative"),
            ("zero drivers", [(1, "P", "A", 0.0), (1, "P", "B", 0.0)], "sum to zero"),
            ("pool without drivers", [(1, "Q", "A", 1.0)], "pool 'P' (stage 1) has no drivers"),
            ("self loop", [(1, "P", "P", 1.0)], "allocates to itself"),
            ("cycle", [(1, "P", "A", 1.0), (2, "A", "B", 1.0), (3, "B", "A", 1.0)], "cycle")):
        def build(p, drivers=drivers):
            tables = costing_tables()
            tables["xv_Drivers"] = pd.DataFrame(drivers, columns=["Stage", "From", "To", "Quantity"])
            return book(p, extra=tables)
        add(Case(f"costing: {label}", build, fragment, ["--only", "costing"]))

    # -- files that are not (usable) workbooks
    def raw(content: bytes, suffix: str = ".xlsx"):
        def build(p):
            path = p.with_suffix(suffix)
            path.write_bytes(content)
            return path
        return build
    add(Case("zero bytes", raw(b""), "file is empty (0 bytes)"))
    add(Case("csv renamed", raw(b"CustomerID,Date,Amount\n1,2024-01-01,3\n"), "not an Excel"))
    add(Case("encrypted workbook", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)),
             "encrypted (password-protected)"))
    add(Case("old xls extension", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), ".xls"),
             "expected an .xlsx or .xlsm workbook"))
    add(Case("random bytes", raw(os.urandom(2048)), "not an Excel"))
    add(Case("plain zip", lambda p: _zip_with(p, {"hello.txt": b"hi"}), "no xl/workbook.xml"))
    for keep in (30, 200, 0.5, 0.9):
        def truncated(p, keep=keep):
            path = book(p)
            data = path.read_bytes()
            n = keep if isinstance(keep, int) else int(len(data) * keep)
            path.write_bytes(data[:n])
            return path
        add(Case(f"truncated at {keep}", truncated, "damaged"))
    add(Case("entity expansion in workbook.xml", lambda p: patch_parts(
        book(p), replace_in("xl/workbook.xml", "<workbook",
                            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                            "<workbook")), "declares a DTD or entities; refused"))
    add(Case("broken workbook.xml", lambda p: patch_parts(
        book(p), replace_in("xl/workbook.xml", "</workbook>", "")), "is not well-formed XML"))
    add(Case("stray cell at XFD1048576", lambda p: patch_parts(book(p), replace_in(
        "xl/worksheets/sheet1.xml", "</sheetData>",
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')),
        "more than the"))
    add(Case("zip bomb part", _bomb, "refused", env={"XLVALUE_MAX_INFLATED_BYTES": str(20 * 2**20)}))
    return c


def _zip_with(p: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(p, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    return p


def _bomb(p: Path) -> Path:
    path = book(p)

    def edit(parts: dict[str, bytes]) -> None:
        parts["xl/media/padding.bin"] = bytes(64 * 2**20)  # 64 MiB of zeros, ~64 KiB zipped
    return patch_parts(path, edit)


from .hostile import edge_cases, hostile_cases  # noqa: E402  (uses the builders above)

CASES = _cases() + hostile_cases() + edge_cases()
