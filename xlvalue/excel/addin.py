"""The xlvalue Excel add-in: built reproducibly from text sources, installed, configured.

The package is xlwings' BSD-licensed ribbon add-in template (quickstart_addin_ribbon.xlam)
with our ribbon (generated from the registry of analyses by xlvalue.excel.ribbon: one
"xlvalue" tab, a button per analysis and per macro) and a VBA
project rebuilt from:
- xlwings' custom-add-in runtime (xlwings_custom_addin.bas) with PROJECT_NAME = "xlvalue"
  (so it reads xlvalue.conf) and xlwings' Dictionary class (the runtime's macOS branch uses
  it), both byte for byte as the installed xlwings ships them otherwise;
- our ribbon callback (addin_src/XlvalueRibbon.bas, one callback for every button);
- the worksheet-function wrappers and their Function Wizard help, generated from the function
  catalogue (xlvalue.excel.vba), registered by ThisWorkbook's Workbook_Open;
- document modules named after the template's code names (ThisWorkbook, Sheet2).
The add-in records the xlwings version whose runtime it embeds (a custom document property);
`install` refuses an add-in that does not match the installed xlwings. On the desktop
pyproject.toml pins xlwings to the version the shipped add-in embeds (`xlwings==0.37.8`), so a
fresh install keeps working when xlwings releases a newer version. Building needs ms-ovba (the
`addin` extra); installing the packaged add-in does not.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import uuid
import zipfile
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from xlvalue.errors import InputError, Problem
from xlvalue.excel import ovba, vba
from xlvalue.excel.ribbon import custom_ui_xml
from xlvalue.workbook.writer import atomic_write

__all__ = ["ADDIN_NAME", "FIXED_DATE", "MANUAL_STEPS", "PROJECT_NAME", "XLWINGS_PROPERTY",
           "addin_properties", "build_addin", "build_vba_project", "check_xlwings_matches",
           "class_modules", "config_path", "config_text", "embedded_xlwings_version", "install",
           "packaged_addin", "uninstall", "vba_modules", "write_config", "xlstart_dir",
           "xlwings_dictionary", "xlwings_runtime"]

ADDIN_NAME = "xlvalue.xlam"
XLWINGS_PROPERTY = "xlwings version"  # custom document property: the embedded runtime
PROJECT_NAME = "xlvalue"  # xlwings' PROJECT_NAME: the add-in reads xlvalue.conf
FIXED_DATE = (2024, 1, 1, 0, 0, 0)


def _source(name: str) -> bytes:
    return resources.files("xlvalue.excel").joinpath("addin_src", name).read_bytes()


def _xlwings_file(name: str) -> Path:
    import xlwings

    return Path(xlwings.__file__).parent / name


def _crlf_cp1252(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("cp1252")


def xlwings_runtime() -> str:
    """xlwings' custom-add-in runtime module with its one documented change: PROJECT_NAME."""
    text = _xlwings_file("xlwings_custom_addin.bas").read_bytes().decode("cp1252")
    default = 'Public Const PROJECT_NAME As String = "myaddin"'
    if default not in text:
        raise RuntimeError("xlwings_custom_addin.bas no longer sets PROJECT_NAME as expected")
    return text.replace(default, f'Public Const PROJECT_NAME As String = "{PROJECT_NAME}"')


def xlwings_dictionary() -> str:
    """xlwings' Dictionary class (Scripting.Dictionary on macOS), as stored in a VBA project:
    its attribute lines without the exported file's VERSION/BEGIN..END header."""
    text = _xlwings_file("addin/Dictionary.cls").read_bytes().decode("cp1252").replace("\r\n", "\n")
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("Attribute VB_Name"))
    return "\n".join(lines[start:])


def embedded_xlwings_version() -> str:
    """The xlwings version whose runtime (DLL and AppleScript names) the add-in embeds."""
    match = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', xlwings_runtime())
    if match is None:
        raise RuntimeError("xlwings_custom_addin.bas has no XLWINGS_VERSION")
    return match.group(1)


def vba_modules() -> dict[str, bytes]:
    """The standard modules of the add-in's VBA project: name -> source (CRLF, cp1252)."""
    return {name: _crlf_cp1252(text) for name, text in (
        ("xlwings", xlwings_runtime()),
        ("XlvalueRibbon", _source("XlvalueRibbon.bas").decode("utf-8")),
        (vba.WRAPPER_MODULE, vba.wrappers_module()),
        (vba.HELP_MODULE, vba.help_module()))}


def class_modules() -> dict[str, bytes]:
    """Class modules: xlwings' Dictionary, which the runtime's macOS branch uses."""
    return {"Dictionary": _crlf_cp1252(xlwings_dictionary())}


def _sheet_code_names(template: Path) -> list[str]:
    """codeName of each worksheet of the template: its VBA document modules must match."""
    with zipfile.ZipFile(template) as zf:
        names = sorted(n for n in zf.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        found = [re.search(rb'<sheetPr[^>]*codeName="([^"]+)"', zf.read(n)) for n in names]
    if not all(found):
        raise RuntimeError(f"{template.name}: a worksheet without a codeName")
    return [m.group(1).decode() for m in found if m]


_DOC_ATTRIBUTES = ('Attribute VB_Name = "{name}"\n'
                   'Attribute VB_Base = "0{{{base}}}"\n'
                   "Attribute VB_GlobalNameSpace = False\n"
                   "Attribute VB_Creatable = False\n"
                   "Attribute VB_PredeclaredId = True\n"
                   "Attribute VB_Exposed = True\n"
                   "Attribute VB_TemplateDerived = False\n"
                   "Attribute VB_Customizable = True\n")
_CLASS_BASE = "FCFB3D2A-A0FA-1068-A738-08002B3371B5"  # the base of every VBA class module


def build_vba_project(modules: dict[str, bytes], classes: dict[str, bytes] | None = None,
                      documents: dict[str, tuple[str, str]] | None = None) -> bytes:
    """vbaProject.bin from module sources, with ms-ovba's container and our compressor.

    documents: document module name -> (its base GUID, its code), e.g. ThisWorkbook and the
    worksheets' code names.
    """
    try:
        from ms_ovba.Models.Entities.doc_module import DocModule
        from ms_ovba.Models.Entities.reference import Reference
        from ms_ovba.Models.Entities.reference_registered import ReferenceRegistered
        from ms_ovba.Models.Entities.std_module import StdModule
        from ms_ovba.Models.Fields.libid_reference import LibidReference
        from ms_ovba.vbaProject import VbaProject
        from ms_ovba.Views.project_ole_file import ProjectOleFile
        from ms_ovba_compression import ms_ovba as compression
    except ImportError:
        raise InputError(Problem("building the add-in needs ms-ovba: pip install 'xlvalue[addin]' "
                                 "(installing the shipped add-in does not)")) from None

    class SourceModule(DocModule):
        """A document or class module whose stored source we write whole (ms-ovba's own
        normalize_file would put the attributes after the code)."""

        def __init__(self, name: str, kind: str, source: bytes):
            super().__init__(name)
            self.type, self._source = kind, source

        def normalize_file(self) -> None:
            Path(self._file_path + ".new").write_bytes(self._source)

        def to_project_module_string(self) -> str:
            if self.type == "Class":
                return f"Class={self.modName.value}"
            return super().to_project_module_string()

        def pack(self, endien, cp_name):  # both kinds are MODULETYPE 0x0022 in the dir stream
            kind, self.type = self.type, "Document"
            try:
                return super().pack(endien, cp_name)
            finally:
                self.type = kind

    documents = documents if documents is not None else {
        "ThisWorkbook": ("00020819-0000-0000-C000-000000000046", "")}
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        project = VbaProject()
        project.project_id = "{4F3C2A1E-6B7D-4E8F-9A0B-1C2D3E4F5A6B}"
        for name, (base, code) in documents.items():
            text = _DOC_ATTRIBUTES.format(name=name, base=base) + code
            doc = SourceModule(name, "Document", _crlf_cp1252(text))
            doc.add_file(str(Path(tmp) / f"{name}.cls"))
            doc.normalize_file()
            project.add_module(doc)
        for name, text in (classes or {}).items():
            lines = text.decode("cp1252").split("\r\n")
            lines.insert(1, f'Attribute VB_Base = "0{{{_CLASS_BASE}}}"')
            cls = SourceModule(name, "Class", "\r\n".join(lines).encode("cp1252"))
            cls.add_file(str(Path(tmp) / f"{name}.cls"))
            cls.normalize_file()
            project.add_module(cls)
        for name, text in modules.items():
            path = Path(tmp) / f"{name}.bas"
            path.write_bytes(text)
            mod = StdModule(name)
            mod.add_file(str(path))
            mod.normalize_file()
            project.add_module(mod)
        for libid, path_, title, ref_name in (
                ("0002043000000000C000000000000046", "C:\\Windows\\System32\\stdole2.tlb",
                 "OLE Automation", "stdole"),
                ("2DF8D04C5BFA101BBDE500AA0044DE52",
                 r"C:\Program Files\Common Files\Microsoft Shared\OFFICE16\MSO.DLL",
                 "Microsoft Office 16.0 Object Library", "Office")):
            lib = LibidReference(uuid.UUID(libid), "2.0", "0", path_, title)
            project.add_reference(Reference(ReferenceRegistered(lib), ref_name))
        original = compression.MsOvba.compress
        compression.MsOvba.compress = lambda self, data: ovba.compress(bytes(data))
        # the obfuscated PROJECT fields (CMG, DPB, GC) take random seed bytes and the file
        # system random temp names: a fixed seed makes the build reproducible
        state = random.getstate()
        random.seed(20240101)
        try:
            ProjectOleFile.write_file(project)
        finally:
            compression.MsOvba.compress = original
            random.setstate(state)
        return (Path(tmp) / "vbaProject.bin").read_bytes()


def build_addin(path: str | Path) -> Path:
    """Write xlvalue.xlam: xlwings' ribbon add-in template with our ribbon and VBA project."""
    path = Path(path)
    template = _xlwings_file("quickstart_addin_ribbon.xlam")
    documents = {"ThisWorkbook": ("00020819-0000-0000-C000-000000000046", vba.this_workbook_code())}
    for code_name in _sheet_code_names(template):
        documents[code_name] = ("00020820-0000-0000-C000-000000000046", "")
    project = build_vba_project(vba_modules(), class_modules(), documents)
    with zipfile.ZipFile(template) as src:
        parts = {info.filename: src.read(info.filename) for info in src.infolist()}
    parts["xl/vbaProject.bin"] = project
    parts["customUI/customUI.xml"] = custom_ui_xml()
    _add_custom_properties(parts, {XLWINGS_PROPERTY: embedded_xlwings_version()})

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for name in sorted(parts):
                zi = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                zi.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(zi, parts[name])

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
    return path


_CUSTOM = "docProps/custom.xml"
_CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"


def _add_custom_properties(parts: dict[str, bytes], properties: dict[str, str]) -> None:
    """Document properties (File > Info > Properties > Custom) in an OOXML package."""
    items = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{i}" name="{escape(k)}">'
        f"<vt:lpwstr>{escape(v)}</vt:lpwstr></property>"
        for i, (k, v) in enumerate(properties.items(), start=2))
    parts[_CUSTOM] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://'
        'schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://'
        f'schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{items}</Properties>'
    ).encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace(
        "</Types>", f'<Override PartName="/{_CUSTOM}" ContentType="{_CUSTOM_TYPE}" /></Types>').encode()
    rels = parts["_rels/.rels"].decode()
    parts["_rels/.rels"] = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdXlvalue1" Type="{_CUSTOM_REL}" Target="{_CUSTOM}" /></Relationships>'
    ).encode()


def addin_properties(addin: Path) -> dict[str, str]:
    """The custom document properties of an add-in file (name -> text)."""
    with zipfile.ZipFile(addin) as zf:
        if _CUSTOM not in zf.namelist():
            return {}
        text = zf.read(_CUSTOM).decode()
    return {m.group(1): m.group(2) for m in re.finditer(
        r'<property [^>]*name="([^"]+)"><vt:lpwstr>([^<]*)</vt:lpwstr>', text)}


def packaged_addin() -> Path:
    """The add-in shipped inside the package (built by `make templates`)."""
    return Path(str(resources.files("xlvalue.excel").joinpath(ADDIN_NAME)))


def check_xlwings_matches(addin: Path) -> str:
    """The add-in embeds one xlwings version's runtime (its DLL and AppleScript carry the
    version number): it only works with that xlwings installed."""
    import xlwings

    embedded = addin_properties(addin).get(XLWINGS_PROPERTY)
    if embedded is None:
        raise InputError(Problem("not an xlvalue add-in built by `xlvalue addin build` (no "
                                 f"'{XLWINGS_PROPERTY}' property)", book=str(addin)))
    if embedded != xlwings.__version__:
        raise InputError(Problem(
            f"this add-in embeds the runtime of xlwings {embedded}, but xlwings "
            f"{xlwings.__version__} is installed: pip install xlwings=={embedded}, or build an "
            "add-in for this xlwings with `xlvalue addin build` (needs pip install "
            "'xlvalue[addin]')", book=str(addin)))
    return embedded


# ---- installation and configuration ---------------------------------------------------------

def xlstart_dir() -> Path | None:
    """Excel's per-user startup folder, if this machine has Excel."""
    system = platform.system()
    if system == "Windows":
        folder = Path(os.environ.get("APPDATA", "")) / "Microsoft" / "Excel" / "XLSTART"
        return folder if folder.parent.exists() else None
    if system == "Darwin":
        folder = (Path.home() / "Library" / "Group Containers" / "UBF8T346G9.Office" /
                  "User Content.localized" / "Startup.localized" / "Excel")
        return folder if folder.parent.exists() else None
    return None


def config_path(system: str | None = None) -> Path:
    """Where the add-in's runtime reads xlvalue.conf (xlwings' GetConfigFilePath): on macOS
    $HOME inside Excel's sandbox, on Windows %USERPROFILE%\\.xlvalue."""
    if (system or platform.system()) == "Darwin":
        return (Path.home() / "Library" / "Containers" / "com.microsoft.Excel" / "Data" /
                f"{PROJECT_NAME}.conf")
    return (Path(os.environ.get("USERPROFILE", str(Path.home()))) / f".{PROJECT_NAME}" /
            f"{PROJECT_NAME}.conf")


def config_text(interpreter: str | None = None, pythonpath: str | None = None) -> str:
    """xlwings .conf lines: interpreter, PYTHONPATH (for the UDF shim), UDF module."""
    python = interpreter or sys.executable
    key = "INTERPRETER_MAC" if platform.system() == "Darwin" else "INTERPRETER_WIN"
    shim_dir = pythonpath or str(config_path().parent)
    lines = [(key, python), ("PYTHONPATH", shim_dir), ("UDF MODULES", "xlvalue_udfs")]
    return "".join(f'"{k}","{v}"\n' for k, v in lines)


def write_config(interpreter: str | None = None) -> Path:
    """Write xlvalue.conf and the one-line UDF module shim next to it."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    shim = path.parent / "xlvalue_udfs.py"
    atomic_write(shim, lambda tmp: tmp.write_text(
        '"""xlwings UDF module of the xlvalue add-in."""\nfrom xlvalue.excel.udfs import *  # noqa\n'
        "from xlvalue.excel.udfs import __all__  # noqa\n"))
    atomic_write(path, lambda tmp: tmp.write_text(config_text(interpreter, str(path.parent))))
    return path


MANUAL_STEPS = """No Excel installation was found on this machine. To install the add-in by hand:
  1. Copy {addin} to the machine with Excel (it embeds xlwings {xlwings}'s runtime: that
     machine needs xlvalue installed from its wheel, which pins xlwings=={xlwings}).
  2. In Excel: File > Options > Add-ins > Manage: Excel Add-ins > Go... > Browse, pick
     xlvalue.xlam and tick it (or copy it into Excel's XLSTART folder).
  3. Run `xlvalue addin config` on that machine (the Python that runs the functions and
     buttons); on macOS also `xlwings runpython install` once.
"""


def install(addin: Path | None = None) -> tuple[Path | None, str]:
    """Copy the add-in (default: the packaged one) into XLSTART after checking that it fits
    the installed xlwings; without Excel, return the manual steps instead."""
    addin = packaged_addin() if addin is None else addin
    if not addin.exists():
        raise InputError(Problem("add-in not found; build it with `xlvalue addin build`",
                                 book=str(addin)))
    version = check_xlwings_matches(addin)
    folder = xlstart_dir()
    if folder is None:
        return None, MANUAL_STEPS.format(addin=addin, xlwings=version)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ADDIN_NAME
    shutil.copy2(addin, target)
    return target, f"installed {target}; restart Excel to see the xlvalue tab"


def uninstall() -> str:
    folder = xlstart_dir()
    if folder is None or not (folder / ADDIN_NAME).exists():
        return "xlvalue.xlam is not installed in Excel's startup folder"
    (folder / ADDIN_NAME).unlink()
    return f"removed {folder / ADDIN_NAME}"
