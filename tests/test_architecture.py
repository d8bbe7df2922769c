"""The layers of docs/architecture.md hold: the analytics core imports nothing of workbooks,
Excel or clusters, and lower layers never import the doors above them."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import xlvalue

PACKAGE = Path(xlvalue.__file__).parent
FORBIDDEN_IN_CORE = ("openpyxl", "python_calamine", "lxml", "xlwings", "defusedxml", "dask",
                     "distributed", "formulas")
# A module may import only from its own layer or the layers listed for it (docs/architecture.md).
_CORE = {"xlvalue.errors", "xlvalue.datasets", "xlvalue.analytics"}
_ENGINE = _CORE | {"xlvalue.workbook", "xlvalue.analyses", "xlvalue.pipeline"}
LAYERS = {
    "xlvalue.errors": set(),
    "xlvalue.datasets": set(),
    "xlvalue.analytics": {"xlvalue.errors", "xlvalue.datasets"},
    "xlvalue.workbook": _CORE,
    "xlvalue.analyses": _CORE | {"xlvalue.workbook"},
    "xlvalue.pipeline": _CORE | {"xlvalue.workbook", "xlvalue.analyses"},
    # the doors, each above the engine; a door may use the doors listed before it
    "xlvalue.cluster": _ENGINE,
    "xlvalue.excel": _ENGINE,
    "xlvalue.lite": _ENGINE | {"xlvalue.excel"},
    "xlvalue.formula_eval": _ENGINE | {"xlvalue.excel"},
    "xlvalue.cli": _ENGINE | {"xlvalue.cluster", "xlvalue.excel", "xlvalue.formula_eval"},
}


def analytics_modules() -> list[str]:
    import xlvalue.analytics

    return ["xlvalue.analytics"] + [m.name for m in pkgutil.walk_packages(
        xlvalue.analytics.__path__, "xlvalue.analytics.")]


def test_the_core_loads_no_workbook_excel_or_cluster_library():
    """Import every analytics module in a fresh interpreter; none of the door libraries loads."""
    modules = analytics_modules()
    assert len(modules) >= 10
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + f"print(','.join(m for m in {FORBIDDEN_IN_CORE!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the analytics core loaded {out.stdout.strip()}"


def test_the_purity_check_can_fail():
    """The same probe reports a door library when one is imported (the check is not blind)."""
    # (the reader loads python-calamine only when it reads cells; the template writer needs
    # openpyxl at import)
    code = ("import sys\nimport xlvalue.workbook.template\n"
            f"print(','.join(m for m in {FORBIDDEN_IN_CORE!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "openpyxl" in out.stdout


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "xlvalue" or m.startswith("xlvalue.")}


def _layer(module: str) -> str | None:
    for layer in sorted(LAYERS, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_imports_point_down_the_layers(layer):
    """Every import (also lazy ones inside functions) of a layer's modules stays in the layers
    below it, as drawn in docs/architecture.md."""
    root = PACKAGE.parent
    files = [p for p in PACKAGE.rglob("*.py")
             if _layer(".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"))
             == layer]
    assert files, layer
    allowed = LAYERS[layer] | {layer, "xlvalue"}
    bad = []
    for path in files:
        for imported in _imports(path):
            target = _layer(imported) or imported
            if imported == "xlvalue":
                continue
            if target not in allowed:
                bad.append(f"{path.relative_to(root)} imports {imported}")
    assert not bad, "\n".join(sorted(bad))


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(
        ".__init__")


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (lazy imports inside functions included; an
    import of a package counts as an import of its __init__)."""
    modules = {_module_of(p) for p in PACKAGE.rglob("*.py")}
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        targets = set()
        for imported in _imports(path):
            while imported not in modules and "." in imported:  # from a.b import name
                imported = imported.rsplit(".", 1)[0]
            if imported in modules and imported != "xlvalue":
                targets.add(imported)
        graph[_module_of(path)] = targets - {_module_of(path)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_through_others():
    """No import cycle anywhere in the package, lazy imports included."""
    assert cycles(import_graph()) == []


def test_the_cycle_check_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def public_modules() -> list[str]:
    """Every module of the package a user may import (not __main__, not _private ones)."""
    names = ["xlvalue"] + [m.name for m in pkgutil.walk_packages(xlvalue.__path__, "xlvalue.")]
    return [n for n in names if not any(part.startswith("_") for part in n.split("."))]


def unexported(mod) -> set[str]:
    """Public classes and functions a module defines itself but leaves out of its __all__."""
    import inspect

    own = {name for name, obj in vars(mod).items()
           if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
           and getattr(obj, "__module__", None) == mod.__name__}
    return own - set(getattr(mod, "__all__", ()))


@pytest.mark.parametrize("module", public_modules())
def test_every_public_module_says_what_it_holds_and_exports(module):
    """A module docstring, and an __all__ that names only what exists and every public class
    and function the module itself defines (so `help()` and star imports show the API)."""
    import importlib

    mod = importlib.import_module(module)
    assert (mod.__doc__ or "").strip(), f"{module} has no module docstring"
    assert hasattr(mod, "__all__"), f"{module} has no __all__"
    assert all(hasattr(mod, name) for name in mod.__all__), f"{module}.__all__ names a missing object"
    assert not unexported(mod), f"{module}.__all__ lacks {sorted(unexported(mod))}"


def test_the_export_check_can_fail():
    """A module defining a public function it does not export is caught (the check is not blind)."""
    import types

    mod = types.ModuleType("xlvalue.probe", "A probe.")
    exec("def shown(): pass\ndef hidden(): pass\n__all__ = ['shown']", mod.__dict__)
    assert unexported(mod) == {"hidden"}


@pytest.mark.parametrize("module", ["lifetimes", "formulas", "dask.distributed"])
def test_the_test_environment_has_every_extra(module):
    """Some test modules skip without an optional library (so a minimal install can still run
    the rest); `make test` installs them all, and this test fails where one is missing, so no
    skip can hide work in the suite that CI runs."""
    import importlib

    importlib.import_module(module)
