"""The small Pyodide package lists in tests/data, made from a Pyodide release's pyodide-lock.json.

A Pyodide release lists the packages built for it in `pyodide-lock.json`, shipped in the npm
package `pyodide` (`npm pack pyodide@0.27.7`, file package/pyodide-lock.json). The test data
keeps only what xlvalue's requirements reach: every runtime requirement of pyproject.toml
(whatever its environment marker), every pure-Python wheel of tests/data/pure_python_wheels.txt
and the requirements of those wheels, and, following the lock's `depends`, what those need in
Pyodide. A name looked up but not in the lock is kept as `absent`, so the data says what
Pyodide does not build too.

    python -m tests.lite_pyodide_data package/pyodide-lock.json 0.27.7 SHA256 > FILE

Line format: `name version kind depends`, kind `wasm` (a wheel built for Pyodide), `pure`
(py3-none-any), `other` (a shared library or test package) or `absent`; depends
comma-separated or `-`. The header carries the release, its Python and the source.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def read_table(path: Path) -> dict[str, tuple[str, ...]]:
    """A tests/data list: canonical name -> the rest of its line's fields."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, *rest = line.split()
            out[canonicalize_name(name)] = tuple(rest)
    return out


def header_value(path: Path, key: str) -> str:
    """A `# key: value` header line of a tests/data list."""
    for line in path.read_text().splitlines():
        if line.startswith(f"# {key}: "):
            return line.split(": ", 1)[1].strip()
    raise KeyError(f"{path.name} has no '# {key}:' line")


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def seed_names() -> set[str]:
    """Every name xlvalue's requirements can reach before Pyodide's own dependencies."""
    names = {canonicalize_name(r.name) for r in project_requirements()}
    for name in read_table(DATA / "pure_python_wheels.txt"):
        names.add(name)
        names |= {canonicalize_name(r.name) for r in wheel_requirements(name)}
    return names


def wheel_requirements(name: str) -> list[Requirement]:
    """An installed distribution's requirements, its extras left out."""
    try:
        found = [Requirement(r) for r in md.requires(name) or []]
    except md.PackageNotFoundError:
        return []
    return [r for r in found if r.marker is None or "extra" not in str(r.marker)]


def kind(file_name: str) -> str:
    if file_name.endswith("-none-any.whl"):
        return "pure"
    return "wasm" if file_name.endswith(".whl") else "other"


def lines(lock: dict, version: str, sha256: str, fetched: str) -> list[str]:
    packages = {canonicalize_name(n): p for n, p in lock["packages"].items()}
    info = lock["info"]
    todo, seen = sorted(seed_names()), {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        entry = packages.get(name)
        seen[name] = entry
        if entry:
            todo.extend(canonicalize_name(d) for d in entry.get("depends", []))
    out = [f"# Pyodide {version}: the packages xlvalue's requirements reach (tests/lite_pyodide_data.py)",
           f"# Source: the npm registry, `npm pack pyodide@{version}`, package/pyodide-lock.json",
           f"# (sha256 {sha256}), fetched {fetched}.",
           "# Format: name version kind depends (kind: wasm, pure, other or absent = not built).",
           f"# Pyodide: {version}", f"# Python: {info['python']}",
           f"# Platform: {info['platform']}"]
    for name in sorted(seen):
        entry = seen[name]
        if entry is None:
            out.append(f"{name} - absent -")
        else:
            deps = ",".join(sorted(canonicalize_name(d) for d in entry.get("depends", []))) or "-"
            out.append(f"{name} {entry['version']} {kind(entry['file_name'])} {deps}")
    return out


def main(argv: list[str]) -> int:
    lock_path, version, sha256 = argv[:3]
    fetched = argv[3] if len(argv) > 3 else "today"
    lock = json.loads(Path(lock_path).read_text())
    print("\n".join(lines(lock, version, sha256, fetched)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
