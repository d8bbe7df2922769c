"""The headless round trip on the demo workbook, and what survives a run."""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from PIL import Image as PILImage

from xlvalue.analytics.rfm import rfm_summary, score_rfm
from xlvalue.analytics.transactions import TransactionLog, day_number
from xlvalue.cli.headless_run import run_workbook
from xlvalue.datasets import load_cdnow_sample
from xlvalue.workbook.reader import WorkbookReader

from .conftest import make_book

OWNED_PREFIXES = ("xl/worksheets/xlvalue_", "xl/drawings/xlvalue_", "xl/charts/xlvalue_",
                  "xl/worksheets/_rels/xlvalue_", "xl/drawings/_rels/xlvalue_")
EDITED = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}


@functools.lru_cache(maxsize=2)
def _opened(path: Path, mtime_ns: int) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, read_only=False)


def block(path: Path, name: str) -> pd.DataFrame:
    """Read an output block back through its defined name, with openpyxl (independent reader);
    a workbook is opened once for all its blocks (the tests only read it)."""
    wb = _opened(path, path.stat().st_mtime_ns)
    dn = wb.defined_names[name]
    (sheet, ref), = list(dn.destinations)
    rows = [[c.value for c in row] for row in wb[sheet][ref.replace("$", "")]]
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_demo_round_trip_equals_core(demo_run):
    report, out = demo_run
    df = load_cdnow_sample()
    log = TransactionLog.from_frame(df)
    core = score_rfm(rfm_summary(log, day_number("1998-06-30"))).table
    written = block(out, "xv_out_RFM")
    assert len(written) == len(core) == 2357
    assert list(written["customer_id"]) == list(core["customer_id"])  # ids stay text: '00004'
    assert written["customer_id"].iloc[0] == "00004"
    for col in ("recency_days", "frequency", "R", "F", "M"):
        assert (written[col].astype(int).to_numpy() == core[col].to_numpy()).all(), col
    np.testing.assert_allclose(written["monetary"].astype(float), core["monetary"], rtol=1e-12)
    assert list(written["segment"]) == list(core["segment"])
    assert list(written["rfm_cell"]) == list(core["rfm_cell"])


def test_demo_outputs_are_consistent(demo_run):
    _, out = demo_run
    deciles = block(out, "xv_out_Deciles")
    assert deciles["share_of_spend"].sum() == pytest.approx(1.0)
    assert deciles["customers"].sum() == 2357
    pareto = block(out, "xv_out_Pareto")
    assert pareto["share_of_value"].sum() == pytest.approx(1.0)
    assert pareto["share_of_value"].iloc[0] == pytest.approx(0.8, abs=0.01)
    whale = block(out, "xv_out_Whale")
    assert len(whale) == 101 and whale["pct_profit"].iloc[-1] == pytest.approx(100.0)
    runlog = block(out, "xv_out_RunLog")
    items = dict(zip(runlog["item"], runlog["value"], strict=True))
    assert items["xv_Transactions rows"] == "6919"
    assert len(items["xv_Transactions sha256"]) == 64


def test_output_has_native_charts(demo_run):
    _, out = demo_run
    with zipfile.ZipFile(out) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/xlvalue_")]
        xml = b"".join(zf.read(n) for n in charts)
    assert len(charts) >= 4
    assert b"<barChart>" in xml and b"<lineChart>" in xml and b"<scatterChart>" in xml
    # the decile chart plots share_of_spend (column H) of the 10 data rows under the header
    # (row 4: the stack beside the long blocks starts below their two frozen rows)
    assert b"'xv_Ranking'!$H$5:$H$14" in xml


def test_rerun_replaces_our_sheets_and_is_stable(demo_run, tmp_path):
    _, out = demo_run
    again = tmp_path / "again.xlsx"
    run_workbook(out, again)
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(again) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert a.read("xl/styles.xml") == b.read("xl/styles.xml")  # formats reused, not re-added
    wb = _opened(again, again.stat().st_mtime_ns)  # the load block() below reuses
    assert wb.sheetnames.count("xv_RFM") == 1
    assert len(block(again, "xv_out_RFM")) == 2357


def _sha_parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist()}


def _rich_book(path: Path) -> Path:
    """A user workbook with formulas, validation, formatting, comments, image, chart, names."""
    import datetime as dt

    rows = [[str(i % 7), dt.date(2024, 1, 1) + dt.timedelta(days=i), float(10 + i % 13)]
            for i in range(60)]
    make_book(path, rows)
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Mine")
    ws["A1"] = 5
    ws["A2"] = "=A1*2"
    ws["A3"] = "=SUM(xv_out_Deciles)"
    ws["B1"] = "note me"
    ws["B1"].comment = Comment("a user comment", "user")
    dv = DataValidation(type="list", formula1='"yes,no"')
    dv.add("C1")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add("A1:A3", CellIsRule(operator="greaterThan", formula=["3"],
                                                      fill=PatternFill("solid", fgColor="FFC7CE")))
    buf = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(buf, format="PNG")
    ws.add_image(Image(io.BytesIO(buf.getvalue())), "E5")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=3))
    ws.add_chart(chart, "E20")
    wb.defined_names["my_name"] = DefinedName("my_name", attr_text="Mine!$A$1")
    wb.create_sheet("Hidden").sheet_state = "hidden"
    wb.save(path)
    # Excel would store cached values of formulas; openpyxl cannot, so add them to the XML
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    mine = next(n for n in parts if n.startswith("xl/worksheets/sheet2"))
    xml = parts[mine].decode()
    xml = xml.replace("<f>A1*2</f><v></v>", "<f>A1*2</f><v>10</v>")
    assert "<v>10</v>" in xml
    parts[mine] = xml.encode()
    # VBA project and both ribbon parts (an .xlsm with a customUI), kept as opaque bytes
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 fake vba project"
    parts["customUI/customUI.xml"] = b'<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"/>'
    parts["customUI/customUI14.xml"] = b'<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"/>'
    rels = parts["_rels/.rels"].decode().replace("</Relationships>", (
        '<Relationship Id="rIdUI" Type="http://schemas.microsoft.com/office/2006/relationships/ui/'
        'extensibility" Target="customUI/customUI.xml"/><Relationship Id="rIdUI14" Type="http://'
        'schemas.microsoft.com/office/2007/relationships/ui/extensibility" Target="customUI/'
        'customUI14.xml"/></Relationships>'))
    parts["_rels/.rels"] = rels.encode()
    xlsm = path.with_suffix(".xlsm")
    with zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    return xlsm


def test_everything_of_the_user_survives(tmp_path):
    book = _rich_book(tmp_path / "rich.xlsx")
    before = _sha_parts(book)
    report = run_workbook(book)
    assert report.output.name == "rich_xlvalue.xlsm"
    assert _sha_parts(book) == before  # input untouched
    after = _sha_parts(report.output)
    for part, digest in before.items():
        if part in EDITED:
            continue
        assert after.get(part) == digest, f"{part} changed or disappeared"
    assert all(p in before or p.startswith(OWNED_PREFIXES) or p in EDITED for p in after)
    # edited parts keep the user's content
    with zipfile.ZipFile(report.output) as zf:
        wbxml = zf.read("xl/workbook.xml").decode()
        ct = zf.read("[Content_Types].xml").decode()
    assert 'name="my_name"' in wbxml and 'name="Hidden"' in wbxml and 'state="hidden"' in wbxml
    assert 'name="xv_Transactions"' in wbxml and 'name="xv_out_RFM"' in wbxml
    assert "image/png" in ct or 'Extension="png"' in ct
    reader = WorkbookReader.open(report.output)
    assert reader.read_area(reader.resolve("my_name")) == [[5.0]]
    cached = WorkbookReader.open(report.output)
    from xlvalue.workbook.ooxml import Area
    assert cached.read_area(Area("Mine", 1, 0, 1, 0)) == [[10.0]]  # cached formula value kept


def test_in_place_keeps_a_backup(tmp_path):
    import datetime as dt
    book = make_book(tmp_path / "inplace.xlsx", [["1", dt.date(2024, 1, 1), 5.0],
                                                 ["2", dt.date(2024, 2, 1), 7.0]])
    original = book.read_bytes()
    report = run_workbook(book, in_place=True)
    assert report.output == book and report.backup.read_bytes() == original
    assert "xv_RFM" in openpyxl.load_workbook(book).sheetnames


def test_table_inputs_and_sheet_scoped_names(tmp_path):
    import datetime as dt
    rows = [["00123", dt.date(2024, 1, 1), 5.0], ["00123", "2024-02-01", "7.5"],
            [123, 45352.0, 1.0]]  # a serial date and a numeric id
    book = make_book(tmp_path / "table.xlsx", rows, as_table=True)
    reader = WorkbookReader.open(book)
    assert reader.resolve("XV_TRANSACTIONS").a1 == "A1:C4"  # names are case-insensitive
    report = run_workbook(book)
    rfm = report.results.frames["xv_out_RFM"].set_index("customer_id")
    assert set(rfm.index) == {"00123", "123"}
    assert rfm.loc["00123", "frequency"] == 2
    assert rfm.loc["123", "last_purchase"] == np.datetime64("2024-03-01")


def test_sheets_are_streamed_in_chunks_with_identical_content(demo_book, tmp_path, monkeypatch):
    """Large sheets are written chunk by chunk; chunk boundaries change nothing."""
    from xlvalue.workbook import sheetxml

    whole = run_workbook(demo_book, tmp_path / "whole.xlsx", only="rfm").output
    monkeypatch.setattr(sheetxml, "ROWS_PER_CHUNK", 7)
    chunked = run_workbook(demo_book, tmp_path / "chunked.xlsx", only="rfm").output
    with zipfile.ZipFile(whole) as a, zipfile.ZipFile(chunked) as b:
        part = next(n for n in a.namelist() if n.startswith("xl/worksheets/xlvalue_xv_rfm"))
        assert a.read(part) == b.read(part)


def test_cell_xml_for_every_column_kind():
    """Cell bodies by hand: styles, shortest numbers, Excel date serials, escaped inline text
    (spaces kept, control characters dropped), and no cell at all for blanks, NaN and NaT."""
    from xlvalue.workbook.sheetxml import StyleIds, column_cells

    st = StyleIds(title=1, header=2, date=3, number=4, integer=5, percent=6)

    def cells(values, name="x"):
        return column_cells(pd.Series(values), name, st).to_pylist()

    assert cells([1.5, np.nan, np.inf, 0.1]) == [' s="4"><v>1.5</v></c>', None, None,
                                                 ' s="4"><v>0.1</v></c>']
    assert cells([0.25], "share_of_value") == [' s="6"><v>0.25</v></c>']
    assert cells([7, -8]) == [' s="5"><v>7</v></c>', ' s="5"><v>-8</v></c>']
    assert cells(pd.array([1, None], dtype="Int64")) == [' s="5"><v>1</v></c>', None]
    assert cells([True, False]) == [' t="b"><v>1</v></c>', ' t="b"><v>0</v></c>']
    assert cells(pd.to_datetime(["2024-01-01", None])) == [' s="3"><v>45292</v></c>', None]
    assert cells(["a&b<c>", " pad", "x\x01y", None]) == [
        ' t="inlineStr"><is><t>a&amp;b&lt;c&gt;</t></is></c>',
        ' t="inlineStr"><is><t xml:space="preserve"> pad</t></is></c>',
        ' t="inlineStr"><is><t>xy</t></is></c>', None]


def test_big_streamed_sheets_are_deflated_fast(demo_book, tmp_path):
    """Parts marked big are deflated at level 1 (bigger, 3x faster); others at the default."""
    import zipfile

    from xlvalue.workbook.writer import _Package

    xml = b"".join(b'<row r="%d"><c r="A%d"><v>%d.25</v></c></row>' % (i, i, i * 7919 % 100003)
                   for i in range(1, 60_000))
    pkg = _Package(demo_book)
    pkg.stream("xl/worksheets/big.xml", lambda: iter([xml]), big=True)
    pkg.stream("xl/worksheets/small.xml", lambda: iter([xml]))
    out = tmp_path / "levels.xlsx"
    pkg.save(out)
    with zipfile.ZipFile(out) as zf:
        big, small = zf.getinfo("xl/worksheets/big.xml"), zf.getinfo("xl/worksheets/small.xml")
        assert zf.read(big.filename) == zf.read(small.filename) == xml
    assert big.compress_size > small.compress_size  # level 1 vs the default 6
