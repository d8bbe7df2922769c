"""VBA that the add-in carries, generated from the function catalogue (convert.REGISTRY).

- `wrappers_module`: one VBA function per XV_ function, in the shape xlwings'
  ImportPythonUDFsToAddin writes (xlwings.udfs.generate_vba_wrapper, written with xlwings'
  own VBAWriter): the wrapper passes its arguments to the UDF module through the xlwings
  runtime (XLPy.CallUDF with ActiveWorkbook and Application.Caller) and shows an error as
  cell text. With it in the add-in, =XV_... works without an import step.
- `help_module`: Function Wizard help (Application.MacroOptions: description, category and
  one description per argument), registered when the add-in opens (ThisWorkbook's
  Workbook_Open calls RegisterFunctionHelp).
- `vba_problems`: what would stop a module from compiling: argument names that clash
  ignoring case (VBA identifiers ignore case), reserved words, names the wrapper body uses,
  and VBA's limits (identifier length and characters, arguments, line length).
"""

from __future__ import annotations

import inspect
import io
import re

from xlvalue.excel.convert import REGISTRY, UDFSpec

__all__ = ["HELP_MODULE", "MAX_ARGUMENTS", "PYTHON_UDF_MODULE", "RESERVED", "WRAPPER_MODULE",
           "catalogue", "help_module", "this_workbook_code", "vba_problems", "wrappers_module"]

WRAPPER_MODULE = "xlvalue_functions"
HELP_MODULE = "XlvalueHelp"
PYTHON_UDF_MODULE = "xlvalue_udfs"  # the shim `xlvalue addin config` writes (UDF MODULES)
MAX_IDENTIFIER = 255  # VBA: identifiers up to 255 characters
MAX_ARGUMENTS = 60  # VBA procedures take at most 60 arguments
MAX_LINE = 1023  # VBA source lines
MAX_HELP = 255  # MacroOptions: description and each argument description

# VBA reserved identifiers (MS-VBAL 3.3.5.2: statement, marker, operator, literal, type and
# special-form keywords) and the names the wrapper body calls (an argument of that name
# would shadow them).
RESERVED = frozenset(w.lower() for w in """
Abs AddressOf Alias And Any Append Array As Attribute Base Binary Boolean ByRef Byte ByVal Call
Case CBool CByte CCur CDate CDbl CDec CDecl CInt Circle CLng CLngLng CLngPtr Close Compare Const
CSng CStr CurDir Currency CVar CVErr Date Debug Decimal Declare DefBool DefByte DefCur DefDate
DefDbl DefDec DefInt DefLng DefLngLng DefLngPtr DefObj DefSng DefStr DefVar Dim Dir Do DoEvents
Double Each Else ElseIf Empty End EndIf Enum Eqv Erase Error Event Exit Explicit False Fix For
Friend Function Get Global GoSub GoTo If Imp Implements In Input InputB Int Integer Is LBound Len
LenB Let Lib Like Line Lock Long LongLong LongPtr Loop LSet Me Mid MidB Mod New Next Not Nothing
Null Object On Open Option Optional Or ParamArray Preserve Print Private PSet Property PtrSafe
Public Put RaiseEvent Random Read ReDim Rem Resume Return RSet Scale Seek Select Set Sgn Shared
Single Spc Static Step Stop String Sub Tab Text Then To True Type TypeOf UBound Unlock Until
Variant Wend While With WithEvents Write Xor
Application ActiveWorkbook ThisWorkbook XLPy Err Range
""".split())
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CELL_REFERENCE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*)$")


def _arguments(spec: UDFSpec) -> list[tuple[str, bool]]:
    """(name, optional) of each argument, from the Python signature."""
    return [(p.name, p.default is not inspect.Parameter.empty)
            for p in inspect.signature(spec.func).parameters.values()]


def vba_problems(spec: UDFSpec) -> list[str]:
    """Why the wrapper of this function would not compile (or not be callable from a cell)."""
    problems = []
    name = spec.name
    if not _IDENTIFIER.match(name) or len(name) > MAX_IDENTIFIER:
        problems.append(f"{name}: not a VBA identifier")
    if _CELL_REFERENCE.match(name):
        problems.append(f"{name}: reads as a cell reference in a formula")
    args = _arguments(spec)
    if len(args) > MAX_ARGUMENTS:
        problems.append(f"{name}: {len(args)} arguments, VBA takes at most {MAX_ARGUMENTS}")
    seen: dict[str, str] = {name.lower(): name}
    for arg, _ in args:
        if not _IDENTIFIER.match(arg) or len(arg) > MAX_IDENTIFIER:
            problems.append(f"{name}({arg}): not a VBA identifier")
        if arg.lower() in RESERVED:
            problems.append(f"{name}({arg}): a VBA reserved word or a name the wrapper uses")
        if arg.lower() in seen:
            problems.append(f"{name}({arg}): clashes with {seen[arg.lower()]!r} (VBA ignores case)")
        seen[arg.lower()] = arg
    documented = [a for a, _ in spec.args]
    if documented != [a for a, _ in args]:
        problems.append(f"{name}: help names arguments {documented}, the function takes "
                        f"{[a for a, _ in args]}")
    for text in (spec.doc, *(d for _, d in spec.args)):
        if len(text) > MAX_HELP:
            problems.append(f"{name}: help text over {MAX_HELP} characters: {text[:40]}...")
    if any(ord(ch) > 255 for ch in spec.doc + "".join(d for _, d in spec.args)):
        problems.append(f"{name}: help text outside cp1252")
    return problems


def _wrapper(vba, spec: UDFSpec) -> None:
    """One function, as xlwings.udfs.generate_vba_wrapper writes it for an add-in."""
    fname = spec.name
    args = _arguments(spec)
    signature = ", ".join(("Optional " if optional else "") + a for a, optional in args)
    args_vba = "Array(" + ", ".join(a for a, _ in args) + ")"
    with vba.block(f"Function {fname}({signature})"):
        if spec.volatile:
            vba.writeln("Application.Volatile")
        with vba.block('#If App = "Microsoft Excel" Then'):
            vba.writeln("If TypeOf Application.Caller Is Range Then On Error GoTo failed")
            vba.writeln(f'{fname} = XLPy.CallUDF("{PYTHON_UDF_MODULE}", "{fname}", {args_vba}, '
                        "ActiveWorkbook, Application.Caller)")
            vba.writeln("Exit Function")
        with vba.block("#Else"):
            vba.writeln(f'{fname} = XLPy.CallUDF("{PYTHON_UDF_MODULE}", "{fname}", {args_vba})')
            vba.writeln("Exit Function")
        vba.writeln("#End If")
        vba.write_label("failed")
        vba.writeln(fname + " = Err.Description")
    vba.writeln("End Function")
    vba.writeln("")


def catalogue() -> dict[str, UDFSpec]:
    """Every XV_ function (importing the UDF module fills the registry)."""
    import xlvalue.excel.udfs  # noqa: F401

    if not REGISTRY:
        raise RuntimeError("the function catalogue is empty")
    return dict(REGISTRY)


def wrappers_module(registry: dict[str, UDFSpec] | None = None) -> str:
    """The worksheet-function module: a header as xlwings writes it, then one wrapper each."""
    from xlwings.utils import VBAWriter

    registry = catalogue() if registry is None else registry
    problems = [p for spec in registry.values() for p in vba_problems(spec)]
    if problems:
        raise ValueError("the function catalogue would not compile as VBA:\n" + "\n".join(problems))
    out = io.StringIO()
    vba = VBAWriter(out)
    vba.writeln(f'Attribute VB_Name = "{WRAPPER_MODULE}"')
    vba.writeln("'Generated by `xlvalue addin build` from the function catalogue "
                "(xlvalue.excel.convert.REGISTRY) in the shape of xlwings' ImportPythonUDFs")
    vba.writeln("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""")
    for name in sorted(registry):
        _wrapper(vba, registry[name])
    return out.getvalue()


def _vba_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def help_module(registry: dict[str, UDFSpec] | None = None) -> str:
    """RegisterFunctionHelp: MacroOptions for every function (Function Wizard help)."""
    registry = catalogue() if registry is None else registry
    lines = [f'Attribute VB_Name = "{HELP_MODULE}"',
             "' Function Wizard help for the XV_ functions, generated by `xlvalue addin build`.",
             "' ThisWorkbook's Workbook_Open calls RegisterFunctionHelp when the add-in opens.",
             "Option Explicit",
             "",
             "Public Function RegisterFunctionHelp() As Long",
             "    ' Returns how many functions got their help; a failure is reported in the",
             "    ' status bar (help text is a convenience: the functions work without it)",
             "    On Error GoTo failed"]
    for name in sorted(registry):
        spec = registry[name]
        args = ", ".join(_vba_string(d) for _, d in spec.args)
        lines.append(f"    Describe {_vba_string(name)}, {_vba_string(spec.doc)}, "
                     f"{_vba_string(spec.category)}, Array({args})")
        lines.append("    RegisterFunctionHelp = RegisterFunctionHelp + 1")
    lines += ["    Exit Function",
              "failed:",
              '    Application.StatusBar = "xlvalue: function help not registered: " & Err.Description',
              "End Function",
              "",
              "Private Sub Describe(FunctionName As String, Description As String, "
              "Category As String, ArgumentDescriptions As Variant)",
              "    Application.MacroOptions Macro:=\"'\" & ThisWorkbook.Name & \"'!\" & FunctionName, _",
              "        Description:=Description, Category:=Category, _",
              "        ArgumentDescriptions:=ArgumentDescriptions",
              "End Sub",
              ""]
    return "\n".join(lines)


def this_workbook_code() -> str:
    """The code of the ThisWorkbook document module (after its attributes)."""
    return ("Option Explicit\n\n"
            "Private Sub Workbook_Open()\n"
            "    RegisterFunctionHelp\n"
            "End Sub\n")
