"""The Excel add-in: reproducible build, readable VBA, a ribbon whose buttons all dispatch."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from oletools.olevba import VBA_Parser, decompress_stream

from xlvalue.analyses import registry
from xlvalue.cli.main import main
from xlvalue.excel import addin, macros, ovba, ribbon, vba

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
    assert {"XlvalueRibbon", "xlwings", "ThisWorkbook", "Sheet2", "Dictionary"} <= set(mods)
    ours = mods["XlvalueRibbon"]
    assert "Public Sub OnAction(control As IRibbonControl)" in ours
    assert "m.ribbon('\" & controlId & \"')" in ours
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
    assert ids == set(ribbon.run_buttons()) | set(macros.OTHER_BUTTONS)
    # every analysis runs from a button: its own, or one that runs it too
    ran = {a for only in ribbon.run_buttons().values() if only for a in only.split(",")}
    assert ran == set(registry.analysis_names())
    callbacks = {b.get("onAction") for b in buttons}
    assert callbacks == {"XlvalueRibbon.OnAction"}  # exists in the VBA module (test above)
    assert all(b.get("imageMso") for b in buttons)
    for group in tab:
        assert group.tag == f"{{{CUSTOMUI_NS}}}group" and len(group) >= 2


def test_committed_addin_matches_its_sources(built):
    # `make templates` wrote both; a fresh build from the sources is the same bytes
    committed = ROOT / "templates" / "xlvalue.xlam"
    stale = "the committed add-in is stale (a UDF, its help or addin_src changed): run `make templates`"
    assert committed.read_bytes() == built.read_bytes(), stale
    assert addin.packaged_addin().read_bytes() == built.read_bytes(), stale


def test_a_wheel_ships_the_addin(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("xlvalue-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("xlvalue/excel/xlvalue.xlam") == addin.packaged_addin().read_bytes()


def test_install_checks_the_xlwings_version(tmp_path, monkeypatch, capsys, built):
    import xlwings

    monkeypatch.setattr(addin, "xlstart_dir", lambda: tmp_path / "XLSTART")
    assert addin.addin_properties(built) == {"xlwings version": xlwings.__version__}
    monkeypatch.setattr(xlwings, "__version__", "0.99.0")
    assert main(["addin", "install", "--addin", str(built)]) == 2
    err = capsys.readouterr().err
    assert f"embeds the runtime of xlwings {addin.embedded_xlwings_version()}" in err
    assert "xlwings 0.99.0 is installed" in err and "pip install xlwings==" in err
    assert not (tmp_path / "XLSTART").exists()


def _desktop_xlwings_requirement():
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    windows = {"sys_platform": "win32", "platform_system": "Windows", "python_version": "3.11",
               "extra": ""}
    found = [r for r in map(Requirement, project["dependencies"])
             if r.name == "xlwings" and (r.marker is None or r.marker.evaluate(windows))]
    assert len(found) == 1
    return found[0]


def test_the_desktop_xlwings_pin_is_the_runtime_the_shipped_addin_embeds():
    embedded = addin.addin_properties(addin.packaged_addin())[addin.XLWINGS_PROPERTY]
    assert str(_desktop_xlwings_requirement().specifier) == f"=={embedded}"
    assert addin.embedded_xlwings_version() == embedded  # the installed xlwings is that one


def _fake_wheel(folder: Path, version: str) -> None:
    """A minimal pure wheel of xlwings `version` (metadata only) for pip's resolver."""
    dist = f"xlwings-{version}.dist-info"
    with zipfile.ZipFile(folder / f"xlwings-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{dist}/METADATA",
                    f"Metadata-Version: 2.1\nName: xlwings\nVersion: {version}\n")
        zf.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: "
                    "true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}/RECORD", "")


def test_a_fresh_install_after_a_newer_xlwings_release_gets_the_embedded_one(tmp_path):
    """Simulated releases 0.37.9 and 0.38.0 next to the embedded version: pip resolves the
    desktop requirement to the embedded version, so `addin install` keeps working; the
    former requirement (>=) would have taken 0.38.0, which the add-in refuses."""
    import subprocess
    import sys

    embedded = addin.embedded_xlwings_version()
    index = tmp_path / "index"
    index.mkdir()
    for version in (embedded, "0.37.9", "0.38.0"):
        _fake_wheel(index, version)

    def resolved(requirement: str) -> str:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-index", "--find-links",
                        str(index), "--no-deps", "-q", "-d", str(out), requirement],
                       check=True, capture_output=True, timeout=300)
        (wheel,) = out.glob("xlwings-*.whl")
        return wheel.name.split("-")[1]

    req = _desktop_xlwings_requirement()
    assert resolved(f"xlwings{req.specifier}") == embedded
    assert resolved(f"xlwings>={embedded}") == "0.38.0"


def test_build_without_ms_ovba_says_what_to_install(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_ms_ovba(name, *args, **kwargs):
        if name.startswith("ms_ovba"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ms_ovba)
    assert main(["addin", "build", str(tmp_path / "x.xlam")]) == 2
    assert "pip install 'xlvalue[addin]'" in capsys.readouterr().err


def test_config_goes_where_the_addin_reads_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    mac = addin.config_path("Darwin")
    assert mac == tmp_path / "Library/Containers/com.microsoft.Excel/Data/xlvalue.conf"
    assert addin.config_path("Windows") == tmp_path / ".xlvalue" / "xlvalue.conf"
    # the runtime's GetConfigFilePath: $HOME inside the sandbox on macOS, USERPROFILE\.xlvalue
    runtime = addin.xlwings_runtime()
    assert 'GetConfigFilePath = GetMacDir("$HOME", False) & "/" & PROJECT_NAME & ".conf"' in runtime
    assert 'Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in runtime


def test_install_without_excel_prints_steps_and_config(tmp_path, monkeypatch, capsys, built):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setattr(addin, "xlstart_dir", lambda: None)
    assert main(["addin", "install"]) == 0  # the packaged add-in
    out = capsys.readouterr().out
    assert "No Excel installation was found" in out and "xlwings runpython install" in out
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


# ---- the VBA the add-in carries -------------------------------------------------------------

def test_every_xv_function_has_a_wrapper_and_help(built):
    mods = _modules(built)
    catalogue = vba.catalogue()
    assert len(catalogue) >= 19
    wrappers = mods[vba.WRAPPER_MODULE]
    declared = re.findall(r"^Function (XV_\w+)\(", wrappers, re.M)
    assert sorted(declared) == sorted(catalogue)
    help_text = mods[vba.HELP_MODULE]
    for name, spec in catalogue.items():
        assert f'XLPy.CallUDF("{vba.PYTHON_UDF_MODULE}", "{name}", ' in wrappers
        assert f'Describe "{name}", "{spec.doc}", "xlvalue", Array(' in help_text
        for _, description in spec.args:
            assert f'"{description}"' in help_text
    assert "RegisterFunctionHelp" in mods["ThisWorkbook"]  # Workbook_Open registers the help
    assert "Private Sub Workbook_Open()" in mods["ThisWorkbook"]


def _xlwings_generator():
    """xlwings' own xlfunc and generate_vba_wrapper, taken from the installed xlwings/udfs.py
    (that module imports pywin32 at the top, so it cannot be imported off Windows)."""
    import ast
    import datetime as dt
    import inspect
    from typing import Annotated, get_args, get_origin, get_type_hints

    import xlwings
    from xlwings.utils import VBAWriter

    source = (Path(xlwings.__file__).parent / "udfs.py").read_text()
    wanted = {"func_sig", "get_category", "get_async_mode", "check_bool",
              "extract_type_and_annotations", "xlfunc", "generate_vba_wrapper"}
    tree = ast.parse(source)
    body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    assert {n.name for n in body} == wanted
    namespace = {"VBAWriter": VBAWriter, "inspect": inspect, "dt": dt, "Annotated": Annotated,
                 "get_args": get_args, "get_origin": get_origin, "get_type_hints": get_type_hints,
                 "_F": object, "Any": object, "Callable": object}
    exec(compile(ast.Module(body=body, type_ignores=[]), "xlwings/udfs.py", "exec"), namespace)
    return namespace["xlfunc"], namespace["generate_vba_wrapper"]


def test_wrappers_are_what_xlwings_import_functions_writes():
    # xlwings' generator, run on our functions as its @xw.func would see them (add-in case)
    import functools
    import io
    import types

    xlfunc, generate = _xlwings_generator()
    module = types.ModuleType("xlvalue_udfs")
    for name, spec in vba.catalogue().items():
        def proxy(*args):
            return None
        functools.update_wrapper(proxy, spec.func)
        proxy.__annotations__ = {}
        setattr(module, name, xlfunc(category=spec.category)(proxy))
    out = io.StringIO()
    generate("xlvalue_udfs", module, out, types.SimpleNamespace(Name="xlvalue.xlam"))
    ours = vba.wrappers_module()
    body = ours.split('#Const App = "Microsoft Excel" \'Adjust when using outside of Excel\n', 1)[1]
    assert body == out.getvalue()


def test_vba_names_are_valid_by_construction():
    assert all(vba.vba_problems(spec) == [] for spec in vba.catalogue().values())


def test_vba_name_check_rejects_what_vba_would():
    from xlvalue.excel.convert import UDFSpec

    def clash(params, t, frequency, recency, T, model=None):
        """Expected purchases."""

    def reserved(range, date, x1=None):
        """Uses names VBA keeps."""

    many = {f"a{i}": "x" for i in range(vba.MAX_ARGUMENTS + 1)}
    too_many = eval("lambda " + ", ".join(many) + ": None")  # noqa: S307 - a test fixture
    problems = vba.vba_problems(UDFSpec("XV_EXPECTED_PURCHASES", clash, tuple(
        (a, "d") for a in ("params", "t", "frequency", "recency", "T", "model")), "doc"))
    assert any("'t'" in p and "ignores case" in p for p in problems)
    problems = vba.vba_problems(UDFSpec("XV_R", reserved, (("range", "d"), ("date", "d"),
                                                            ("x1", "d")), "doc"))
    assert sum("reserved" in p for p in problems) == 2
    problems = vba.vba_problems(UDFSpec("XV1", too_many, tuple(many.items()), "doc"))
    assert any("cell reference" in p for p in problems)
    assert any("at most 60" in p for p in problems)
    problems = vba.vba_problems(UDFSpec("XV_LONG", clash, (("params", "x" * 256),), "doc"))
    assert any("help names arguments" in p for p in problems)
    assert any("over 255" in p for p in problems)
    with pytest.raises(ValueError, match="would not compile"):
        vba.wrappers_module({"XV_EXPECTED_PURCHASES": UDFSpec(
            "XV_EXPECTED_PURCHASES", clash, tuple((a, "d") for a in (
                "params", "t", "frequency", "recency", "T", "model")), "doc")})


def test_xlwings_modules_are_the_installed_ones(built):
    # xlwings' runtime and Dictionary class must be xlwings' files, changed only where
    # documented (PROJECT_NAME in the runtime; the exported .cls header in the class); they are
    # compiled per platform below, and replaced by stubs where the tests run our modules (the
    # runtime would start Python)
    import xlwings

    mods = _modules(built)
    folder = Path(xlwings.__file__).parent
    runtime = (folder / "xlwings_custom_addin.bas").read_bytes().decode("cp1252")
    runtime = runtime.replace("\r\n", "\n").replace(
        'PROJECT_NAME As String = "myaddin"', 'PROJECT_NAME As String = "xlvalue"')
    assert mods["xlwings"].strip() == runtime.strip()
    dictionary = (folder / "addin" / "Dictionary.cls").read_bytes().decode("cp1252")
    dictionary = dictionary.replace("\r\n", "\n")
    shipped = dictionary[dictionary.index('Attribute VB_Name = "Dictionary"'):]
    stored = mods["Dictionary"].replace(
        'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"\n', "")
    assert stored.strip() == shipped.strip()
    assert addin.embedded_xlwings_version() == xlwings.__version__


def test_document_modules_match_the_workbook_code_names(built):
    with zipfile.ZipFile(built) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        code_names = {re.search(rb'codeName="([^"]+)"', zf.read(n)).group(1).decode() for n in sheets}
        assert b'codeName="ThisWorkbook"' in zf.read("xl/workbook.xml")
    parser = VBA_Parser(str(built))
    documents = {name.rsplit(".", 1)[0] for _, _, name, code in parser.extract_macros()
                 if "VB_Base = \"0{00020820" in code}
    assert documents == code_names == {"Sheet2"}


# ---- a real compiler: LibreOffice Basic in VBA mode -----------------------------------------

STUBS = '''Public XlvCalls As String
' what the xlwings runtime provides (its module is removed: not ours to compile)
Public Function XLPy() As Object
    Set XLPy = New XlvFakePy
End Function
Public Function RunPython(PythonCommand As String)
    XlvCalls = XlvCalls & PythonCommand & ";"
End Function
'''
FAKE_PY = '''Option ClassModule
Public Function CallUDF(ModuleName As String, FunctionName As String, Args As Variant, _
                        Optional wb As Variant, Optional caller As Variant) As Variant
    CallUDF = ModuleName & "." & FunctionName & "(" & (UBound(Args) - LBound(Args) + 1) & ")"
End Function
'''


def _renamed(module_text: str, prefix: str, name: str) -> str:
    """The wrappers with other function names (two copies in one project must not clash);
    the names passed to Python (in quotes) stay."""
    text = re.sub(r'(?<!")\bXV_', prefix + "XV_", module_text)
    return text.replace(f'Attribute VB_Name = "{vba.WRAPPER_MODULE}"', f'Attribute VB_Name = "{name}"')


@pytest.fixture(scope="module")
def compiled(built):
    from .vba_compiler import SOFFICE, excel_branch, run_in_workbook

    assert SOFFICE, "LibreOffice is part of the test environment (make test installs it)"
    catalogue = vba.catalogue()
    wrappers = vba.wrappers_module()
    # the wrappers as Excel for Mac / non-Excel hosts compile them (#Else branch), callable
    # from Basic; Application.Caller (the #If Excel branch) needs a calling cell
    other_branch = _renamed(excel_branch(wrappers, excel=False), "E_", "XlvOtherBranch")
    calls = " & \";\" & ".join(
        f"E_{name}({', '.join('1' for _, optional in vba._arguments(spec) if not optional)})"
        for name, spec in sorted(catalogue.items()))
    # the same module with the duplicate declaration the issue found (t and T)
    broken = _renamed(excel_branch(wrappers, excel=False), "B_", "XlvBroken").replace(
        "B_XV_EXPECTED_PURCHASES(params, horizon, frequency, recency, age,",
        "B_XV_EXPECTED_PURCHASES(params, t, frequency, recency, T,")
    assert "(params, t, frequency, recency, T," in broken
    broken += "\nFunction BrokenEntry() As String\n    BrokenEntry = \"compiled\"\nEnd Function\n"
    entries = f'''Function EntryAllWrappers() As String
    EntryAllWrappers = {calls}
End Function
Function EntryImportedWrappers() As String
    EntryImportedWrappers = XV_WHALE(1)
End Function
Function EntryHelp() As String
    EntryHelp = "registered " & RegisterFunctionHelp()
End Function
Function EntryRibbon() As String
    XlvCalls = ""
    EntryRibbon = Dispatch("xvRunAll") & " " & XlvCalls
End Function
Function EntryOnAction() As String
    Dim control As New XlvFakeControl
    control.ID = "xvCheck"
    XlvCalls = ""
    OnAction control
    EntryOnAction = XlvCalls
End Function
'''
    glue = {"XlvStubs": STUBS, "XlvFakePy": FAKE_PY, "XlvEntries": entries,
            "XlvFakeControl": "Option ClassModule\nPublic ID As String\n",
            "XlvOtherBranch": other_branch, "XlvBroken": broken}
    run = [("XlvEntries", "EntryAllWrappers"), ("XlvEntries", "EntryImportedWrappers"),
           ("XlvEntries", "EntryHelp"), ("XlvEntries", "EntryRibbon"),
           ("XlvEntries", "EntryOnAction"), ("XlvBroken", "BrokenEntry")]
    return run_in_workbook(built, glue, run, remove=("xlwings",))


def test_libreoffice_imports_the_whole_vba_project(compiled):
    assert compiled["loaded"].endswith("book.xlsm")
    assert set(compiled["modules"].split(",")) == {
        "Dictionary", "Sheet2", "ThisWorkbook", "XlvalueHelp", "XlvalueRibbon",
        vba.WRAPPER_MODULE, "xlwings"}


def test_every_wrapper_compiles_and_dispatches_to_python(compiled):
    expected = ";".join(f"{vba.PYTHON_UDF_MODULE}.{name}({len(vba._arguments(spec))})"
                        for name, spec in sorted(vba.catalogue().items()))
    assert compiled["XlvEntries.EntryAllWrappers"] == "ok " + expected


def test_the_imported_wrapper_module_compiles(compiled):
    # called from Basic, not from a cell: LibreOffice's Application.Caller is no object, so
    # the Excel branch stops at run time (error 91) - after compiling; a module that does
    # not compile is "not found" instead (see the broken module below)
    result = compiled["XlvEntries.EntryImportedWrappers"]
    assert result.startswith("error") and "Object variable not set" in result
    assert "could not be found" not in result


def test_help_and_ribbon_modules_compile_and_run(compiled):
    # LibreOffice has no Application.MacroOptions: RegisterFunctionHelp runs into its handler
    # at the first function (Excel registers all); the count comes back, no error escapes
    assert compiled["XlvEntries.EntryHelp"] == "ok registered 0"
    assert compiled["XlvEntries.EntryRibbon"] == (
        "ok True import xlvalue.excel.macros as m; m.ribbon('xvRunAll');")
    # the ribbon's callback, given a control as Excel passes it (an object with an ID)
    assert compiled["XlvEntries.EntryOnAction"] == (
        "ok import xlvalue.excel.macros as m; m.ribbon('xvCheck');")


def test_the_compiler_reports_a_duplicate_declaration(compiled):
    result = compiled["XlvBroken.BrokenEntry"]
    assert result.startswith("error") and "could not be found" in result


# ---- each platform's VBA compiled on its own ------------------------------------------------
# LibreOffice ignores #If / #Const and compiles both branches as one (xlwings' runtime then has
# every Declare twice and does not compile at all). Each module of the built add-in is
# therefore resolved for Windows and for the Mac first (tests/vba_compiler.py, for_platform)
# and compiled as its own module; xlwings' runtime and Dictionary class included.

COMPILED_ENTRY = '\nFunction XlvCompiled() As String\n    XlvCompiled = "compiled"\nEnd Function\n'


def _broken_in_mac_branch(runtime: str) -> str:
    """xlwings' runtime with a line that does not compile inside its first `#If Mac Then`."""
    lines = runtime.split("\n")
    at = next(i for i, line in enumerate(lines) if line.strip() == "#If Mac Then")
    return "\n".join([*lines[:at + 1], "        Dim Broken As (", *lines[at + 1:]])


@pytest.fixture(scope="module")
def platform_compiled(built):
    from .vba_compiler import PLATFORMS, SOFFICE, for_platform, run_in_workbook

    assert SOFFICE, "LibreOffice is part of the test environment (make test installs it)"
    modules = _modules(built)
    glue = {f"{name}_{platform}": for_platform(code, constants) + COMPILED_ENTRY
            for name, code in modules.items() for platform, constants in PLATFORMS.items()}
    broken = _broken_in_mac_branch(modules["xlwings"])
    glue.update({f"BrokenMac_{platform}": for_platform(broken, constants) + COMPILED_ENTRY
                 for platform, constants in PLATFORMS.items()})
    glue["xlwings_unresolved"] = modules["xlwings"] + COMPILED_ENTRY  # both branches as one
    result = run_in_workbook(built, glue, [(name, "XlvCompiled") for name in glue])
    return modules, result


def test_for_platform_resolves_nested_conditions():
    from .vba_compiler import MAC, WINDOWS, for_platform

    source = "\n".join([
        '#Const App = "Microsoft Excel" \'a comment', "a", "#If VBA7 Then", "    #If Mac Then",
        "    mac", "    #ElseIf Win64 Then", "    win64", "    #Else", "    win32", "    #End If",
        "#Else", "    old", "#End If", '#If App = "Microsoft Excel" And Not Mac Then',
        "excel-windows", "#End If", "#If MAC_OFFICE_VERSION >= 15 Then", "office2016", "#End If",
        "#If Undefined Then", "never", "#End If", "z"])
    assert for_platform(source, WINDOWS).split("\n") == ["a", "    win64", "excel-windows", "z"]
    assert for_platform(source, MAC).split("\n") == ["a", "    mac", "office2016", "z"]
    with pytest.raises(ValueError):
        for_platform("#If Mac Then\nx\n", MAC)


def test_each_platform_takes_its_own_branch_of_the_xlwings_runtime(built):
    from .vba_compiler import MAC, WINDOWS, for_platform

    runtime = _modules(built)["xlwings"]
    version = addin.embedded_xlwings_version()
    windows, mac = for_platform(runtime, WINDOWS), for_platform(runtime, MAC)
    assert "#If" not in windows and "#If" not in mac
    assert f'"xlwings64-{version}.dll"' in windows and '"libc.dylib"' not in windows
    assert '"libc.dylib"' in mac and f'"xlwings64-{version}.dll"' not in mac
    dictionary = _modules(built)["Dictionary"]
    assert 'CreateObject("Scripting.Dictionary")' in for_platform(dictionary, WINDOWS)
    assert 'CreateObject("Scripting.Dictionary")' not in for_platform(dictionary, MAC)


def test_every_module_compiles_on_windows_and_on_the_mac(platform_compiled):
    from .vba_compiler import PLATFORMS

    modules, result = platform_compiled
    assert {"xlwings", "Dictionary", "XlvalueRibbon", vba.WRAPPER_MODULE, vba.HELP_MODULE,
            "ThisWorkbook"} <= set(modules)
    for name in modules:
        for platform in PLATFORMS:
            assert result[f"{name}_{platform}.XlvCompiled"] == "ok compiled", (name, platform)
    # without resolving the branches first, LibreOffice cannot compile xlwings' runtime
    assert "could not be found" in result["xlwings_unresolved.XlvCompiled"]


def test_a_broken_mac_branch_fails_the_mac_compile_only(platform_compiled):
    _, result = platform_compiled
    assert "could not be found" in result["BrokenMac_mac.XlvCompiled"]
    assert result["BrokenMac_windows.XlvCompiled"] == "ok compiled"
