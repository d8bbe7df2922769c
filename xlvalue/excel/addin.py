"""The xlvalue Excel add-in: built reproducibly from text sources, installed, configured.

Sources (in xlvalue/excel/addin_src/): the ribbon XML (one "xlvalue" tab, a group per area,
one button per macro) and a VBA module whose single callback passes control.Id to
`xlvalue.excel.macros.ribbon`. The package is xlwings' BSD-licensed ribbon add-in template
(quickstart_addin_ribbon.xlam); its VBA project is rebuilt from our module plus xlwings'
BSD-licensed custom-add-in module, with PROJECT_NAME set to xlvalue.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import shutil
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from xlvalue.errors import InputError, Problem
from xlvalue.excel import ovba
from xlvalue.workbook.writer import atomic_write

__all__ = ["ADDIN_NAME", "FIXED_DATE", "MANUAL_STEPS", "build_addin", "build_vba_project",
           "config_path", "config_text", "install", "uninstall", "vba_modules", "write_config",
           "xlstart_dir"]

ADDIN_NAME = "xlvalue.xlam"
FIXED_DATE = (2024, 1, 1, 0, 0, 0)


def _source(name: str) -> bytes:
    return resources.files("xlvalue.excel").joinpath("addin_src", name).read_bytes()


def _xlwings_file(name: str) -> Path:
    import xlwings

    return Path(xlwings.__file__).parent / name


def vba_modules() -> dict[str, bytes]:
    """The standard modules of the add-in's VBA project: name -> source (CRLF, cp1252)."""
    xlwings_bas = _xlwings_file("xlwings_custom_addin.bas").read_bytes().decode("cp1252")
    xlwings_bas = xlwings_bas.replace('Public Const PROJECT_NAME As String = "myaddin"',
                                      'Public Const PROJECT_NAME As String = "xlvalue"')
    ours = _source("XlvalueRibbon.bas").decode("utf-8")
    return {name: text.replace("\r\n", "\n").replace("\n", "\r\n").encode("cp1252")
            for name, text in (("xlwings", xlwings_bas), ("XlvalueRibbon", ours))}


def build_vba_project(modules: dict[str, bytes]) -> bytes:
    """vbaProject.bin from module sources, with ms-ovba's container and our compressor."""
    import uuid

    from ms_ovba.Models.Entities.doc_module import DocModule
    from ms_ovba.Models.Entities.reference import Reference
    from ms_ovba.Models.Entities.reference_registered import ReferenceRegistered
    from ms_ovba.Models.Entities.std_module import StdModule
    from ms_ovba.Models.Fields.libid_reference import LibidReference
    from ms_ovba.vbaProject import VbaProject
    from ms_ovba.Views.project_ole_file import ProjectOleFile
    from ms_ovba_compression import ms_ovba as compression

    blank = Path(resources.files("ms_ovba").joinpath("blank_files"))
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        project = VbaProject()
        project.project_id = "{4F3C2A1E-6B7D-4E8F-9A0B-1C2D3E4F5A6B}"
        for name, guid in (("Sheet1", "0002082000000000C000000000000046"),
                           ("ThisWorkbook", "0002081900000000C000000000000046")):
            doc = DocModule(name)
            # ms-ovba appends to '<file>.new' beside its input: work on copies, never in place
            local = Path(tmp) / f"{name}.cls"
            shutil.copyfile(blank / f"{name}.cls", local)
            doc.add_file(str(local))
            doc.add_guid(uuid.UUID(guid))
            doc.normalize_file()
            project.add_module(doc)
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
    replaced = {"xl/vbaProject.bin": build_vba_project(vba_modules()),
                "customUI/customUI.xml": _source("customUI.xml")}

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(template) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in sorted(src.infolist(), key=lambda i: i.filename):
                data = replaced.get(info.filename, src.read(info.filename))
                zi = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE)
                zi.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(zi, data)

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
    return path


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


def config_path() -> Path:
    """Where the add-in's xlwings code looks for xlvalue.conf."""
    if platform.system() == "Darwin":
        return Path.home() / "xlvalue.conf"
    return Path(os.environ.get("USERPROFILE", str(Path.home()))) / ".xlvalue" / "xlvalue.conf"


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
  1. Copy {addin} to the machine with Excel.
  2. In Excel: File > Options > Add-ins > Manage: Excel Add-ins > Go... > Browse, pick
     xlvalue.xlam and tick it (or copy it into Excel's XLSTART folder).
  3. Trust access to the VBA project object model (Trust Center > Macro Settings) so that
     xlwings can import the XV_ functions, then run `xlvalue addin config` on that machine.
"""


def install(addin: Path) -> tuple[Path | None, str]:
    """Copy the add-in into XLSTART; without Excel, return the manual steps instead."""
    if not addin.exists():
        raise InputError(Problem("add-in not found; build it with `xlvalue addin build`",
                                 book=str(addin)))
    folder = xlstart_dir()
    if folder is None:
        return None, MANUAL_STEPS.format(addin=addin)
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
