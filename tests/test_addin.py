"""The Excel add-in: reproducible build, readable VBA, a ribbon whose buttons all dispatch."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from oletools.olevba import VBA_Parser, decompress_stream

from xlvalue.cli.main import main
from xlvalue.excel import addin, macros, ovba

CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return addin.build_addin(tmp_path_factory.mktemp("addin") / "xlvalue.xlam")


def _modules(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    return {name.rsplit(".", 1)[0]: code.replace("\r\n", "\n")
            for _, _, name, code in parser.extract_macros()}


def test_build_is_reproducible(built, tmp_path):
    again = addin.build_addin(tmp_path / "again.xlam")
    assert again.read_bytes() == built.read_bytes()


def test_vba_project_holds_our_callback_and_the_xlwings_runtime(built):
    mods = _modules(built)
    assert {"XlvalueRibbon", "xlwings", "ThisWorkbook", "Sheet1"} <= set(mods)
    ours = mods["XlvalueRibbon"]
    assert "Public Sub OnAction(control As IRibbonControl)" in ours
    assert "m.ribbon('\" & control.ID & \"')" in ours
    # the whole xlwings module survives compression intact
    expected = addin.vba_modules()["xlwings"].decode("cp1252").replace("\r\n", "\n")
    assert mods["xlwings"].strip() == expected.strip()
    assert 'Public Const PROJECT_NAME As String = "xlvalue"' in mods["xlwings"]


def test_ribbon_buttons_all_dispatch(built):
    with zipfile.ZipFile(built) as zf:
        xml = zf.read("customUI/customUI.xml")
        rels = zf.read("_rels/.rels").decode()
        assert "xl/vbaProject.bin" in zf.namelist()
    assert "ui/extensibility" in rels and "customUI/customUI.xml" in rels
    root = etree.fromstring(xml)
    assert root.tag == f"{{{CUSTOMUI_NS}}}customUI"
    tab = root.find(f"{{{CUSTOMUI_NS}}}ribbon/{{{CUSTOMUI_NS}}}tabs/{{{CUSTOMUI_NS}}}tab")
    assert tab.get("label") == "xlvalue"
    buttons = list(root.iter(f"{{{CUSTOMUI_NS}}}button"))
    ids = {b.get("id") for b in buttons}
    assert ids == set(macros.RUN_BUTTONS) | set(macros.OTHER_BUTTONS)
    callbacks = {b.get("onAction") for b in buttons}
    assert callbacks == {"XlvalueRibbon.OnAction"}  # exists in the VBA module (test above)
    assert all(b.get("imageMso") for b in buttons)
    for group in tab:
        assert group.tag == f"{{{CUSTOMUI_NS}}}group" and len(group) >= 2


def test_committed_addin_matches_its_sources():
    committed = ROOT / "templates" / "xlvalue.xlam"
    with zipfile.ZipFile(committed) as zf:
        assert zf.read("customUI/customUI.xml") == (
            ROOT / "xlvalue" / "excel" / "addin_src" / "customUI.xml").read_bytes()
    source = (ROOT / "xlvalue/excel/addin_src/XlvalueRibbon.bas").read_text()
    assert _modules(committed)["XlvalueRibbon"].strip() in source.replace("\r\n", "\n")


def test_install_without_excel_prints_steps_and_config(tmp_path, monkeypatch, capsys, built):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setattr(addin, "xlstart_dir", lambda: None)
    assert main(["addin", "install", "--addin", str(built)]) == 0
    assert "No Excel installation was found" in capsys.readouterr().out
    assert main(["addin", "config", "--interpreter", "C:/Python/pythonw.exe"]) == 0
    conf = addin.config_path()
    text = conf.read_text()
    assert '"UDF MODULES","xlvalue_udfs"' in text and "C:/Python/pythonw.exe" in text
    assert (conf.parent / "xlvalue_udfs.py").read_text().count("from xlvalue.excel.udfs import") == 2
    monkeypatch.setattr(addin, "xlstart_dir", lambda: tmp_path / "XLSTART")
    assert main(["addin", "install", "--addin", str(built)]) == 0
    assert (tmp_path / "XLSTART" / "xlvalue.xlam").read_bytes() == built.read_bytes()
    assert main(["addin", "uninstall"]) == 0
    assert not (tmp_path / "XLSTART" / "xlvalue.xlam").exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"Sub ", b"End Sub\r\n", b"RunPython ", b"x", b"\x00", b"'",
                                 b"Dim a As Long\r\n", bytes(range(40, 90))]), max_size=800))
def test_compression_round_trips_through_oletools(parts):
    data = b"".join(parts)
    assert bytes(decompress_stream(bytearray(ovba.compress(data)))) == data
