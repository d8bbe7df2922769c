"""A real VBA compiler for the tests: LibreOffice Basic in VBA mode, headless.

`run_in_workbook` opens a macro workbook in `soffice --headless` (a throw-away user profile,
a runner macro in its application Basic started as macro:///Standard.XvRunner.Main).
LibreOffice imports the workbook's VBA project itself, from vbaProject.bin, as the document
library VBAProject in VBA mode (`Option VBASupport 1`): what Excel would load is what gets
compiled. The runner then drops modules that are not ours to compile, adds test glue modules
(stubs for what Excel or the xlwings runtime would provide, entry functions) and calls each
entry through the document's script provider. A module that does not compile has no callable
methods: the call fails with "script could not be found"; a runtime error comes back as
"error <number>: <description>". Results are appended line by line, so a hang (a modal
dialog) still shows how far it got; the process group is killed after `timeout`.

Glue sources get `Option VBASupport 1` (and `Option ClassModule` for classes) and lose their
`Attribute` lines, as the VBA editor would import a .bas/.cls file.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["MAC", "PLATFORMS", "SOFFICE", "WINDOWS", "as_macro_workbook", "excel_branch",
           "for_platform", "run_in_workbook", "vba_for_libreoffice"]

SOFFICE = shutil.which("soffice")
_HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {kind} PUBLIC '
           '"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "{dtd}">\n')


def excel_branch(source: str, excel: bool = True) -> str:
    """Resolve `#If App = "Microsoft Excel"` / `#Else` / `#End If`: the Excel branch (as Excel
    compiles it) or, with excel=False, the other one; other directives are left alone."""
    out: list[str] = []
    stack: list[tuple[bool, bool]] = []  # (is an App block, keeping lines now)
    for line in source.split("\n"):
        s = line.strip()
        if s.startswith("#Const App"):
            continue
        if re.match(r'#If App = "Microsoft Excel" Then', s):
            stack.append((True, excel))
            continue
        if stack and stack[-1][0] and s == "#Else":
            stack[-1] = (True, not excel)
            continue
        if stack and s == "#End If":
            if stack[-1][0]:
                stack.pop()
                continue
            stack.pop()
        elif s.startswith("#If "):
            stack.append((False, True))
        if all(keep for _, keep in stack):
            out.append(line)
    return "\n".join(out)


# VBA's compiler constants (learn.microsoft.com, VBA "Compiler constants": on 64-bit Windows
# Win64, Win32, VBA6 and VBA7 are True, Mac False). On the Mac, Office 2016 and later: Mac and
# VBA7 True, MAC_OFFICE_VERSION 16 (Office 2011 was 14); the Windows constants False.
WINDOWS = {"vba6": True, "vba7": True, "win16": False, "win32": True, "win64": True,
           "mac": False}
MAC = {"vba6": True, "vba7": True, "win16": False, "win32": False, "win64": False, "mac": True,
       "mac_office_version": 16}
PLATFORMS = {"windows": WINDOWS, "mac": MAC}

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>\d+(?:\.\d+)?)|'
                    r"(?P<op><>|<=|>=|[=<>()])|(?P<name>[A-Za-z_][A-Za-z_0-9]*))")


def _condition(expr: str, constants: dict) -> object:
    """Value of a `#If` / `#ElseIf` / `#Const` expression: constants (case-insensitive; an
    undefined one is Empty, i.e. False), string and number literals, comparisons, Not, And, Or,
    Xor and parentheses. Anything else raises, so the tests never guess."""
    tokens, pos = [], 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read conditional expression {expr!r}")
        pos = m.end()
        if m["str"] is not None:
            tokens.append(("val", m["str"][1:-1].replace('""', '"')))
        elif m["num"] is not None:
            tokens.append(("val", float(m["num"])))
        elif m["op"] is not None:
            tokens.append(("op", m["op"]))
        else:
            word = m["name"].lower()
            if word in ("and", "or", "xor", "not"):
                tokens.append(("op", word))
            elif word in ("true", "false"):
                tokens.append(("val", word == "true"))
            else:
                tokens.append(("val", constants.get(word, False)))

    def number(v):
        return float(v) if isinstance(v, bool | int | float) else v

    def primary(i):
        kind, v = tokens[i]
        if (kind, v) == ("op", "not"):
            value, i = primary(i + 1)
            return not value, i
        if (kind, v) == ("op", "("):
            value, i = disjunction(i + 1)
            if tokens[i] != ("op", ")"):
                raise ValueError(f"unbalanced parentheses in {expr!r}")
            return value, i + 1
        if kind != "val":
            raise ValueError(f"unexpected {v!r} in {expr!r}")
        return v, i + 1

    def comparison(i):
        left, i = primary(i)
        while i < len(tokens) and tokens[i][1] in ("=", "<>", "<", ">", "<=", ">="):
            op = tokens[i][1]
            right, i = primary(i + 1)
            a, b = number(left), number(right)
            left = {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b,
                    ">=": a >= b}[op]
        return left, i

    def conjunction(i):
        left, i = comparison(i)
        while i < len(tokens) and tokens[i][1] == "and":
            right, i = comparison(i + 1)
            left = bool(left) and bool(right)
        return left, i

    def disjunction(i):
        left, i = conjunction(i)
        while i < len(tokens) and tokens[i][1] in ("or", "xor"):
            op = tokens[i][1]
            right, i = conjunction(i + 1)
            left = (bool(left) or bool(right)) if op == "or" else (bool(left) != bool(right))
        return left, i

    value, end = disjunction(0)
    if end != len(tokens):
        raise ValueError(f"cannot read conditional expression {expr!r}")
    return value


def for_platform(source: str, constants: dict) -> str:
    """A module as VBA compiles it on one platform: `#Const`, `#If ... Then`, `#ElseIf`,
    `#Else` and `#End If` resolved with the platform's compiler constants, every line of a branch
    not taken dropped (LibreOffice Basic ignores the directives and would compile both
    branches as one), directive lines dropped. A comment after a directive is allowed."""
    consts = dict(constants)
    out: list[str] = []
    stack: list[list[bool]] = []  # per open #If: [this branch kept, a branch already taken]

    def live() -> bool:
        return all(frame[0] for frame in stack)

    for line in source.replace("\r\n", "\n").split("\n"):
        s = line.strip()
        directive = re.match(r"#(Const|If|ElseIf|Else|End If)\b(.*)$", s, re.I)
        if directive is None:
            if live():
                out.append(line)
            continue
        word, rest = directive[1].lower(), re.sub(r"\s'.*$", "", directive[2]).strip()
        if word == "const":
            if live():
                name, expr = rest.split("=", 1)
                consts[name.strip().lower()] = _condition(expr, consts)
        elif word == "if":
            taken = bool(_condition(re.sub(r"\s+Then$", "", rest, flags=re.I), consts))
            stack.append([taken, taken])
        elif word == "elseif":
            frame = stack[-1]
            taken = not frame[1] and bool(_condition(re.sub(r"\s+Then$", "", rest, flags=re.I),
                                                      consts))
            frame[0], frame[1] = taken, frame[1] or taken
        elif word == "else":
            frame = stack[-1]
            frame[0], frame[1] = not frame[1], True
        else:  # End If
            stack.pop()
    if stack:
        raise ValueError("an #If without #End If")
    return "\n".join(out)


# LibreOffice Basic cannot evaluate VBA's comparison constants in an Enum initialiser (xlwings'
# Dictionary class declares `BinaryCompare = VBA.vbBinaryCompare`); their values are VBA's own
_LIBREOFFICE_CONSTANTS = {"VBA.vbBinaryCompare": "0", "VBA.vbTextCompare": "1",
                          "VBA.vbDatabaseCompare": "2"}


def vba_for_libreoffice(source: str) -> str:
    """A VBA module as LibreOffice Basic compiles it: VBA mode on, Attribute lines off, VBA's
    comparison constants as their values."""
    text = source.replace("\r\n", "\n")
    for name, value in _LIBREOFFICE_CONSTANTS.items():
        text = text.replace(name, value)
    lines = [line for line in text.split("\n")
             if not line.startswith("Attribute ") and line.strip() != "Option ClassModule"]
    header = ["Option VBASupport 1"] + (["Option ClassModule"] if "Option ClassModule" in text else [])
    return "\n".join(header + lines)


def _module_xml(name: str, code: str) -> str:
    return (_HEADER.format(kind="script:module", dtd="module.dtd") +
            f'<script:module xmlns:script="http://openoffice.org/2000/script" script:name="{name}" '
            f'script:language="StarBasic">{escape(code)}</script:module>')


def _library_xml(name: str, modules: list[str]) -> str:
    elements = "".join(f' <library:element library:name="{m}"/>\n' for m in modules)
    return (_HEADER.format(kind="library:library", dtd="library.dtd") +
            f'<library:library xmlns:library="http://openoffice.org/2000/library" '
            f'library:name="{name}" library:readonly="false" library:passwordprotected="false">\n'
            f"{elements}</library:library>")


def _libraries_xml(names: list[str]) -> str:
    items = ' <library:library library:name="Standard" library:link="false"/>\n' + "".join(
        f' <library:library library:name="{n}" xlink:href="$(USER)/basic/{n}/script.xlb/" '
        'xlink:type="simple" library:link="false"/>\n' for n in names)
    return (_HEADER.format(kind="library:libraries", dtd="libraries.dtd") +
            '<library:libraries xmlns:library="http://openoffice.org/2000/library" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink">\n{items}</library:libraries>')


def _workbook_runner(book: Path, remove: list[str], glue: dict[str, Path],
                     entries: list[tuple[str, str]], result: Path, macros: bool = True) -> str:
    """The runner macro (application Basic). Each result line is appended and the file closed
    at once, so a run that hangs still shows how far it got."""
    lines = ["Function ReadAll(path As String) As String",
             "  Dim f As Integer, txt As String, s As String", "  f = FreeFile",
             "  Open path For Input As #f", "  Do While Not EOF(f)", "    Line Input #f, txt",
             "    s = s & txt & Chr(10)", "  Loop", "  Close #f", "  ReadAll = s", "End Function",
             "Sub Say(key As String, value As String)",
             "  Dim f As Integer", "  f = FreeFile", f'  Open "{result}" For Append As #f',
             "  Print #f, key & Chr(9) & value", "  Close #f", "End Sub",
             "Sub Main",
             "  Dim doc As Object, project As Object, sp As Object, r As Variant",
             "  Dim args(1) As New com.sun.star.beans.PropertyValue",
             "  On Error GoTo load_failed",
             # ALWAYS_EXECUTE_NO_WARN (4) runs the document's macros, NEVER_EXECUTE (0) not
             '  args(0).Name = "MacroExecutionMode"', f"  args(0).Value = {4 if macros else 0}",
             '  args(1).Name = "Hidden"', "  args(1).Value = True",
             f'  doc = StarDesktop.loadComponentFromURL("{book.as_uri()}", "_blank", 0, args())',
             '  Say "loaded", doc.getURL()',
             '  doc.BasicLibraries.loadLibrary("VBAProject")',
             '  project = doc.BasicLibraries.getByName("VBAProject")',
             '  Say "modules", Join(project.getElementNames(), ",")']
    lines += [f'  project.removeByName("{m}")' for m in remove]
    lines += [f'  project.insertByName("{m}", ReadAll("{path}"))' for m, path in glue.items()]
    lines += ['  Say "glue", "in"', "  sp = doc.getScriptProvider()"]
    for i, (module, function) in enumerate(entries):
        key = f"{module}.{function}"
        lines += [f"  On Error GoTo failed_{i}",
                  f'  r = sp.getScript("vnd.sun.star.script:VBAProject.{key}?language=Basic'
                  '&location=document").invoke(Array(), Array(), Array())',
                  f'  Say "{key}", "ok " & r', f"  GoTo done_{i}",
                  f"failed_{i}:",
                  f'  Say "{key}", "error " & Err & ": " & Replace(Error$, Chr(10), " ")',
                  f"  Resume done_{i}", f"done_{i}:"]
    lines += ["  On Error GoTo load_failed", "  doc.close(True)", '  Say "closed", ""', "  Exit Sub",
              "load_failed:", '  Say "load", "error " & Err & ": " & Error$',
              "  If Not IsNull(doc) Then doc.close(True)", "End Sub"]
    return "\n".join(lines)


def _soffice(profile: Path, runner: str, result: Path, timeout: float) -> list[str]:
    env = dict(os.environ)
    # a first start lays out the profile (registry, Basic containers), then it is ours
    subprocess.run([SOFFICE, "--headless", "--terminate_after_init",
                    f"-env:UserInstallation={profile.as_uri()}"], capture_output=True,
                   timeout=timeout, env=env, check=False)
    standard = profile / "user" / "basic" / "Standard"
    (standard / "XvRunner.xba").write_text(_module_xml("XvRunner", runner), encoding="utf-8")
    (standard / "script.xlb").write_text(_library_xml("Standard", ["XvRunner"]), encoding="utf-8")
    proc = subprocess.Popen(
        [SOFFICE, "--headless", "--norestore",
         f"-env:UserInstallation={profile.as_uri()}", "macro:///Standard.XvRunner.Main"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"LibreOffice did not finish in {timeout:.0f} s (a modal dialog? "
                           "a Basic error outside an entry point?)") from None
    if not result.exists():
        raise RuntimeError(f"the runner macro did not run: {err.decode(errors='replace')[-500:]}")
    return result.read_text(encoding="utf-8", errors="replace").splitlines()


def as_macro_workbook(addin: Path, dest: Path) -> Path:
    """A copy of an .xlam that LibreOffice opens: the same parts, the workbook's content type
    that of an .xlsm (LibreOffice has no filter for the add-in type; the VBA project, which
    it imports, is unchanged)."""
    with zipfile.ZipFile(addin) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.ms-excel.addin.macroEnabled.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            dst.writestr(info, data)
    return dest


def run_in_workbook(book: Path, glue: dict[str, str], entries: list[tuple[str, str]],
                    remove: tuple[str, ...] = (), timeout: float = 90) -> dict[str, str]:
    """Open a macro workbook (.xlsm) in LibreOffice, which imports its VBA project as the
    library VBAProject in VBA mode; drop the `remove` modules, add the `glue` modules
    (name -> VBA source), call each (module, function) entry and return
    "module.function" -> "ok <value>" or "error <number>: <description>" (a module that does
    not compile raises at the call); "modules" lists the modules LibreOffice imported."""
    if SOFFICE is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: apt-get install "
                           "libreoffice-calc-nogui (the Makefile does this)")
    with tempfile.TemporaryDirectory(prefix="xlvalue-lo-") as tmp:
        folder = Path(tmp)
        result = folder / "result.txt"
        # LibreOffice 7.4 fails the first script call into a freshly changed library with an
        # "Internal error"; a first, trivial call takes that, the entries run after it
        glue = {"XlvWarmUp": 'Function WarmUp() As String\n    WarmUp = "warm"\nEnd Function\n',
                **glue}
        entries = [("XlvWarmUp", "WarmUp"), *entries]
        paths = {}
        for name, source in glue.items():
            paths[name] = folder / f"{name}.bas"
            paths[name].write_text(vba_for_libreoffice(source), encoding="utf-8")
        copy = as_macro_workbook(book, folder / "book.xlsm")  # never the caller's file (locks)
        runner = _workbook_runner(copy, list(remove), paths, entries, result)
        lines = _soffice(folder / "profile", runner, result, timeout)
    return dict(line.split("\t", 1) for line in lines if "\t" in line)
