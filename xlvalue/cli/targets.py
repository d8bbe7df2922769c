"""The files a command reads and writes, checked before any work is done: an input that exists
and can be read, a target whose folder takes new files and that may be replaced."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from xlvalue.errors import InputError, Problem

__all__ = ["cannot_write_in", "readable", "writable"]


def _a(what: str) -> str:
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def readable(path: str | Path, what: str = "input workbook") -> Path:
    """An existing input file, or a clear user error naming it (before any work is done).
    A workbook is also opened as a zip by the reader's own check, so a text file named
    .xlsx is refused before any progress line is printed."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such {what}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not {_a(what)}")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: the {what} cannot be read (permission denied)")
    if what.endswith("workbook"):
        from xlvalue.workbook.ooxml import WORKBOOK_SUFFIXES, open_package

        if path.suffix.lower() not in WORKBOOK_SUFFIXES:
            raise InputError(Problem(f"expected an .xlsx or .xlsm workbook, got "
                                     f"'{path.suffix}'", book=path.name))
        with open_package(path):
            pass
    return path


def cannot_write_in(folder: Path) -> str | None:
    """Why no file can be made in `folder` (None: one can). Asked of the file system itself:
    os.access answers yes to root, and for folders like /proc, where creating fails."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return "permission denied"
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".xlvalue-probe-")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def writable(path: str | Path, what: str = "output", replace: bool = True) -> Path:
    """A target that can be written: its folder exists and a file can be made in it (new
    files are made there, then moved over the target), and an existing target may be
    replaced. Checked before computing, so a long run never ends in 'cannot write'."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: the folder of the {what} ({folder}) does not exist")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name for the {what}")
    if path.exists() and not replace:
        raise InputError(f"{path}: exists; use --force to replace it")
    why = cannot_write_in(folder)
    if why:
        raise InputError(f"{path}: cannot write in the folder {folder} ({why})")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{path}: the {what} is read-only")
    return path
