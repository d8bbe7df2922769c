"""A wheel that xlwings Lite can install: pure Python, and under Pyodide's environment markers
every requirement is built in that Pyodide release at an allowed version or is a checked
pure-Python wheel (tests/data: the npm package `pyodide`'s pyodide-lock.json of 0.27.7,
0.29.5 and 314.0.8, reduced by tests/lite_pyodide_data.py to the names xlvalue reaches)."""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.lite_blocked_probe import BLOCKED
from tests.lite_pyodide_data import (
    DATA,
    header_value,
    project_requirements,
    read_table,
    seed_names,
    wheel_requirements,
)

ROOT = Path(__file__).resolve().parents[1]
PYODIDE_LISTS = sorted(DATA.glob("pyodide-*-packages.txt"))
PURE = read_table(DATA / "pure_python_wheels.txt")
# what the plugin needs in Pyodide; everything else is desktop-only (never imported there)
LITE_NEEDS = {"numpy", "pandas", "scipy", "lxml", "pyarrow", "threadpoolctl", "xlwings"}


def pyodide_env(pyodide_list: Path) -> dict[str, str]:
    """The environment markers micropip evaluates in this Pyodide release."""
    python = header_value(pyodide_list, "Python")
    return {"sys_platform": "emscripten", "platform_system": "Emscripten",
            "platform_machine": "wasm32", "os_name": "posix", "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "python_version": ".".join(python.split(".")[:2]), "python_full_version": python,
            "extra": ""}


def resolve(requirements: list[Requirement], pyodide_list: Path) -> tuple[set[str], list[str]]:
    """What micropip would take for these requirements in this Pyodide release: a package of
    the lock (then the lock's own dependencies, which Pyodide installs with it) when its
    version is allowed, else a checked pure-Python wheel (then its requirements). Returns the
    names installed and the problems (a requirement neither can meet)."""
    table, env = read_table(pyodide_list), pyodide_env(pyodide_list)
    todo, seen, problems = [(r, "xlvalue") for r in requirements], set(), []
    while todo:
        req, by = todo.pop()
        name = canonicalize_name(req.name)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        if name not in table:
            problems.append(f"{name} (needed by {by}) is not in {pyodide_list.name}: regenerate "
                            "it with tests/lite_pyodide_data.py")
            continue
        version, kind, depends = table[name]
        if kind != "absent" and req.specifier.contains(version, prereleases=True):
            if name not in seen:
                todo.extend((Requirement(d), name) for d in depends.split(",") if d != "-")
            seen.add(name)
        elif name in PURE and req.specifier.contains(PURE[name][0], prereleases=True):
            assert PURE[name][1].endswith("-none-any.whl"), name
            if name not in seen:
                todo.extend((r, name) for r in wheel_requirements(name))
            seen.add(name)
        else:
            where = "not built" if kind == "absent" else f"built at {version}"
            problems.append(f"{req} (needed by {by}): {where} in Pyodide "
                            f"{header_value(pyodide_list, 'Pyodide')}, and no checked pure wheel")
    return seen, problems


def test_the_lists_are_the_releases_the_issue_names_and_sourced():
    versions = {header_value(p, "Pyodide") for p in PYODIDE_LISTS}
    assert "0.27.7" in versions and any(v.startswith("0.29.") for v in versions)
    for path in PYODIDE_LISTS:
        head = path.read_text()[:800]
        assert "npm pack pyodide@" in head and re.search(r"sha256 [0-9a-f]{64}", head), path.name
        assert "fetched 2026-" in head, path.name
    head = (DATA / "pure_python_wheels.txt").read_text()[:600]
    assert "2026-" in head and "pip download" in head


@pytest.mark.parametrize("pyodide_list", PYODIDE_LISTS, ids=lambda p: p.stem)
def test_the_lists_hold_every_name_the_requirements_reach(pyodide_list):
    assert seed_names() <= set(read_table(pyodide_list)), (
        "a requirement was added: regenerate the list with tests/lite_pyodide_data.py")


@pytest.mark.parametrize("pyodide_list", PYODIDE_LISTS, ids=lambda p: p.stem)
def test_every_requirement_resolves_under_pyodide_markers(pyodide_list):
    installed, problems = resolve(project_requirements(), pyodide_list)
    assert problems == []
    assert LITE_NEEDS <= installed
    assert not installed & {"python-calamine", "openpyxl", "defusedxml", "tqdm"}


def test_calamine_unconditionally_would_not_install_in_pyodide_0_27():
    """What the markers fix: Pyodide 0.27.7 (Lite shipped 0.27.x) builds no python-calamine,
    and it has no pure wheel; 0.29 builds it."""
    old = next(p for p in PYODIDE_LISTS if header_value(p, "Pyodide") == "0.27.7")
    _, problems = resolve([Requirement("python-calamine>=0.2.3")], old)
    assert len(problems) == 1 and "not built in Pyodide 0.27.7" in problems[0]
    new = next(p for p in PYODIDE_LISTS if header_value(p, "Pyodide").startswith("0.29."))
    assert resolve([Requirement("python-calamine>=0.2.3")], new) == ({"python-calamine",
                                                                      "packaging"}, [])


def test_a_dependency_pyodide_lacks_is_reported():
    _, problems = resolve([Requirement("pywin32>=300")], PYODIDE_LISTS[0])
    assert len(problems) == 1 and "not built" in problems[0]
    _, problems = resolve([Requirement("numpy>=99")], PYODIDE_LISTS[0])
    assert len(problems) == 1 and "built at" in problems[0]


def test_what_pyodide_leaves_out_is_what_the_plugin_runs_without():
    """Every requirement left out under Pyodide is blocked in the import probe that runs every
    Lite function and script (tests/lite_blocked_probe.py), and on the desktop every
    requirement applies."""
    env = pyodide_env(PYODIDE_LISTS[0])
    left_out = [r for r in project_requirements() if r.marker and not r.marker.evaluate(env)]
    by_dist: dict[str, set[str]] = {}
    for module, dists in md.packages_distributions().items():
        for dist in dists:
            by_dist.setdefault(canonicalize_name(dist), set()).add(module)
    modules = {m for r in left_out if canonicalize_name(r.name) != "xlwings"
               for m in by_dist[canonicalize_name(r.name)]}
    assert modules >= {"python_calamine", "openpyxl", "defusedxml", "tqdm"}
    assert modules <= set(BLOCKED)
    for platform_system, sys_platform in (("Windows", "win32"), ("Darwin", "darwin"),
                                          ("Linux", "linux")):
        desktop = dict(env, sys_platform=sys_platform, platform_system=platform_system,
                       python_version="3.11")
        applied = [r for r in project_requirements() if r.marker is None
                   or r.marker.evaluate(desktop)]
        assert {canonicalize_name(r.name) for r in applied} == {
            canonicalize_name(r.name) for r in project_requirements()}
        assert [str(r.specifier) for r in applied if r.name == "xlwings"] == ["==0.37.8"]


@pytest.mark.slow
def test_the_built_wheel_is_pure_and_its_requirements_resolve_in_pyodide(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                          "-w", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    wheels = list(tmp_path.glob("xlvalue-*.whl"))
    assert len(wheels) == 1 and wheels[0].name.endswith("-py3-none-any.whl"), wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {"xlvalue/lite/__init__.py", "xlvalue/lite/functions.py", "xlvalue/lite/scripts.py",
            "xlvalue/datasets/CDNOW_sample.txt"} <= set(names)
    assert not any(n.endswith((".so", ".pyd", ".dylib")) for n in names)
    requires = [Requirement(line.split(":", 1)[1].strip()) for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    runtime = [r for r in requires if r.marker is None or "extra" not in str(r.marker)]
    assert sorted(map(str, runtime)) == sorted(map(str, project_requirements()))
    for pyodide_list in PYODIDE_LISTS:
        installed, problems = resolve(runtime, pyodide_list)
        assert problems == [] and LITE_NEEDS <= installed, pyodide_list.name
