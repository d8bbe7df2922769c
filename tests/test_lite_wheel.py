"""A wheel that xlwings Lite can install: pure Python, every runtime dependency built in Pyodide
or itself a pure-Python wheel (tests/data holds the dated lists these checks read)."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
PYODIDE_LISTS = sorted(DATA.glob("pyodide-*-packages.txt"))
# the environment markers of Pyodide (sys.platform emscripten, wasm32)
PYODIDE_ENV = {"sys_platform": "emscripten", "platform_system": "Emscripten",
               "platform_machine": "wasm32", "os_name": "posix", "implementation_name": "cpython",
               "platform_python_implementation": "CPython", "python_version": "3.13",
               "python_full_version": "3.13.2", "extra": ""}


def _table(path: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version, kind = line.split()[:3]
            out[canonicalize_name(name)] = (version, kind)
    return out


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def test_the_lists_are_dated_and_sourced():
    assert len(PYODIDE_LISTS) >= 2
    for path in [*PYODIDE_LISTS, DATA / "pure_python_wheels.txt"]:
        head = path.read_text()[:600]
        assert "2026-" in head and ("npm" in head or "pip download" in head), path.name
    assert len(_table(PYODIDE_LISTS[0])) > 300


@pytest.mark.parametrize("pyodide_list", PYODIDE_LISTS, ids=lambda p: p.stem)
def test_every_runtime_dependency_installs_in_pyodide(pyodide_list):
    """Each dependency (and each dependency of a pure one) is built in this Pyodide release at
    a version the lower bound allows, or is a pure-Python wheel of the checked list."""
    pyodide = _table(pyodide_list)
    pure = _table(DATA / "pure_python_wheels.txt")
    todo, seen, problems = list(runtime_requirements()), set(), []
    assert {canonicalize_name(r.name) for r in todo} >= {"numpy", "pandas", "scipy"}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker and not req.marker.evaluate(PYODIDE_ENV)):
            continue
        seen.add(name)
        if name in pyodide:
            version = pyodide[name][0]
            if not req.specifier.contains(version, prereleases=True):
                problems.append(f"{req}: Pyodide has {version}")
        elif name in pure:
            assert pure[name][1].endswith("-none-any.whl"), name
            if not req.specifier.contains(pure[name][0], prereleases=True):
                problems.append(f"{req}: the checked pure wheel is {pure[name][0]}")
            try:  # its own dependencies, from the installed metadata
                todo.extend(Requirement(r) for r in md.requires(req.name) or [])
            except md.PackageNotFoundError:
                problems.append(f"{name} is not installed here: cannot read its dependencies")
        else:
            problems.append(f"{req}: neither built in Pyodide nor a known pure-Python wheel")
    assert problems == []


def test_the_check_catches_a_dependency_pyodide_lacks():
    pyodide = _table(PYODIDE_LISTS[0])
    assert canonicalize_name("pywin32") not in pyodide
    assert canonicalize_name("pywin32") not in _table(DATA / "pure_python_wheels.txt")
    assert not Requirement("numpy>=99").specifier.contains(pyodide["numpy"][0])


@pytest.mark.slow
def test_pip_wheel_builds_a_pure_python_wheel_with_the_plugin(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                          "-w", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    wheels = list(tmp_path.glob("xlvalue-*.whl"))
    assert len(wheels) == 1 and wheels[0].name.endswith("-py3-none-any.whl"), wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert {"xlvalue/lite/__init__.py", "xlvalue/lite/functions.py", "xlvalue/lite/scripts.py",
            "xlvalue/datasets/CDNOW_sample.txt"} <= set(names)
    assert not any(n.endswith((".so", ".pyd", ".dylib")) for n in names)
