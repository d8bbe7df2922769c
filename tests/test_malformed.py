"""The malformed corpus: every case runs in a child process of its own (forked), so that an
abort, a hang or a memory blow-up is a failed case, not a dead test run.

For every case: exit code 0 or 2 only, no traceback, panic or Python warning on stderr, the
input unchanged, no part of it lost in the output (and no relationship left dangling), no
case over LIMIT_SECONDS or LIMIT_BYTES, and `check` ending as `run` ends. The figures (cases,
worst time, worst memory) are written to the file named by XLVALUE_CORPUS_REPORT, if set. Memory is the
peak a case's child added to what it inherited, plus the peak of a fresh process that has
loaded what a run loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from xlvalue.cli.main import main
from xlvalue.formula_eval import evaluate
from xlvalue.workbook import ooxml, reader

from .malformed import CASES, Case

LIMIT_SECONDS = 60
LIMIT_BYTES = 1024**3
EDITED = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
          "xl/styles.xml", "xl/calcChain.xml"}
_LIMITS = {"XLVALUE_MAX_INFLATED_BYTES": (ooxml, "MAX_INFLATED_BYTES"),
           "XLVALUE_MAX_PART_BYTES": (ooxml, "MAX_PART_BYTES"),
           "XLVALUE_MAX_COMPRESSION_RATIO": (ooxml, "MAX_PART_RATIO"),
           "XLVALUE_MAX_CELLS": (reader, "MAX_CELLS"),
           "XLVALUE_MAX_EVAL_CELLS": (evaluate, "MAX_EVAL_CELLS"),
           "XLVALUE_MAX_EVAL_FORMULAS": (evaluate, "MAX_EVAL_FORMULAS")}
FIGURES: dict[str, tuple[float, int]] = {}


def _params():
    return [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else [])
            for c in CASES]


def _status(field: str) -> int:
    """A field of /proc/self/status in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def in_child(argv: list[str], env: dict[str, str], err_path: Path,
             timeout: float = 2 * LIMIT_SECONDS, fsize: int | None = None
             ) -> tuple[int | str, str, float, int]:
    """Run `xlvalue argv` in a forked child: (exit code or 'signal N'/'hang', stderr, seconds,
    peak memory the child added to what it inherited, in bytes). `fsize` limits the size any
    file may grow to in the child (RLIMIT_FSIZE, as on a full disk)."""
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    read_end, write_end = os.pipe()  # a pipe: no file-size limit applies to stderr
    mem_read, mem_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        start_rss = 0
        try:
            os.close(read_end)
            os.close(mem_read)
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # the peak (VmHWM) restarts from this process's own RSS
            start_rss = _status("VmRSS")
            os.dup2(write_end, 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            sys.stderr = open(2, "w", closefd=False)
            sys.stdout = open(1, "w", closefd=False)
            if fsize is not None:
                import resource

                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            for key, value in env.items():
                os.environ[key] = value
                if key in _LIMITS:
                    module, attr = _LIMITS[key]
                    setattr(module, attr, int(value))
            code = main(argv)
        except BaseException:  # noqa: BLE001 - reported to the parent through stderr
            try:
                traceback.print_exc()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            try:
                os.write(mem_write, str(max(_status("VmHWM") - start_rss, 0)).encode())
                sys.stderr.flush()
                sys.stdout.flush()
            finally:
                os._exit(code if isinstance(code, int) else 98)
    os.close(write_end)
    os.close(mem_write)
    os.set_blocking(read_end, False)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(read_end, 65536)
            except BlockingIOError:
                return
            if not data:
                return
            chunks.append(data)
    while True:
        drain()
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > timeout:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            drain()
            os.close(read_end)
            os.close(mem_read)
            return "hang", b"".join(chunks).decode(errors="replace"), timeout, 0
        time.sleep(0.005)
    drain()
    os.close(read_end)
    err_path.write_bytes(b"".join(chunks))
    seconds = time.monotonic() - started
    grown = os.read(mem_read, 64)
    os.close(mem_read)
    # peak the case added to what the child started with; a child killed before reporting
    # (a signal) counts everything it had, from wait4
    peak = int(grown) if grown else usage.ru_maxrss * 1024
    code: int | str = os.waitstatus_to_exitcode(status)
    if isinstance(code, int) and code < 0:
        code = f"signal {-code}"
    return code, b"".join(chunks).decode(errors="replace"), seconds, peak


@pytest.fixture(scope="session")
def process_baseline(tmp_path_factory) -> int:
    """Peak memory of a fresh `xlvalue` process that has loaded what a run loads (bytes).

    Also warms this process up: one run, check and eval in-process load every lazily imported
    module here, so each forked case does not import them again (seconds per case)."""
    from .hostile import eval_book
    from .malformed import book

    warm = tmp_path_factory.mktemp("warm")
    path = book(warm / "warm.xlsx")
    assert main(["run", str(path), "-o", str(warm / "out.xlsx"), "-q"]) == 0
    assert main(["check", str(path)]) == 0
    ev = eval_book(warm / "eval.xlsx")
    assert main(["eval", str(ev), "--report", str(warm / "r.csv")]) == 0
    # VmHWM, not getrusage: after fork and exec, ru_maxrss starts from the parent's RSS
    code = ("import xlvalue.cli.main, xlvalue.pipeline, xlvalue.workbook.writer, "
            "python_calamine, openpyxl; "
            "print(next(l.split()[1] for l in open('/proc/self/status') "
            "if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) * 1024


def _argv(case: Case, command: str, path: Path, out: Path) -> list[str]:
    only = []
    if "--only" in case.args:
        i = case.args.index("--only")
        only = case.args[i:i + 2]
    if command == "check":
        return ["check", str(path), *only]
    if command == "eval":
        return ["eval", str(path), "--report", str(out.with_suffix(".csv")), "-o", str(out)]
    return ["run", str(path), "-o", str(out), "-q", *case.args]


def _parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: hashlib.sha256(zf.read(i)).hexdigest() for i in zf.infolist()}


def _dangling(path: Path) -> set[tuple[str, str]]:
    """(rels part, target) of every internal relationship whose target is not in the zip."""
    from lxml import etree

    out = set()
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        for name in names:
            if not name.endswith(".rels"):
                continue
            owner = str(PurePosixPath(name).parent.parent / PurePosixPath(name).name[:-5])
            owner = "" if name == "_rels/.rels" else owner
            for rel in etree.fromstring(zf.read(name)):
                if rel.get("TargetMode") != "External":
                    target = ooxml.resolve_target(owner, rel.get("Target", ""))
                    if target not in names:
                        out.add((name, target))
    return out


def _clean_stderr(err: str) -> None:
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    assert "panicked" not in err and "stack backtrace" not in err, err
    assert not re.search(r"\b\w+Warning\b", err), err


def _first_error(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("error:")][:1]


def test_corpus_is_large_enough():
    assert len(CASES) >= 180
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", _params())
def test_malformed_workbook(case: Case, tmp_path: Path, process_baseline: int):
    path = case.build(tmp_path / "case.xlsx")
    regular = path.is_file()
    before = hashlib.sha256(path.read_bytes()).hexdigest() if regular else ""
    out_path = tmp_path / "out.xlsx"
    code, err, seconds, peak = in_child(_argv(case, case.command, path, out_path), case.env,
                                        tmp_path / "stderr.txt")
    FIGURES[case.name] = (seconds, peak + process_baseline)
    assert code in (0, 2, 3), (code, err)
    _clean_stderr(err)
    if case.command == "run":  # `check` runs every validation `run` runs: it ends the same way
        check_code, check_err, _, _ = in_child(_argv(case, "check", path, out_path), case.env,
                                               tmp_path / "check.txt")
        _clean_stderr(check_err)
        # an analysis a plain run left out for faulty inputs: run writes the rest (exit 3),
        # check fails on it (exit 2), naming the same analysis
        left_out = [ln.removeprefix("warning: ") for ln in err.splitlines()
                    if ln.startswith("warning: ") and " not run: " in ln]
        assert (code == 3) == bool(left_out), ("a partial run exits 3", code, err)
        assert check_code == (2 if left_out else code), ("check and run disagree", check_err,
                                                        err)
        assert all(f"error: {ln}" in check_err for ln in left_out), (check_err, err)
        if code == 2:  # the same problem, or at least the same workbook named
            assert _first_error(check_err) == _first_error(err) or path.name in check_err
    assert seconds < LIMIT_SECONDS, seconds
    assert peak + process_baseline < LIMIT_BYTES, (peak, process_baseline)
    if regular:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    if case.expect is not None:
        assert code == 2, err
        assert case.expect in err, err
        assert not out_path.exists()
        return
    assert code in (0, 3), err
    assert out_path.exists()
    if case.command != "run":
        return
    src, dst = _parts(path), _parts(out_path)
    kept = {n: h for n, h in src.items() if n not in EDITED and n not in case.may_drop}
    assert {n: dst.get(n) for n in kept} == kept, "parts of the input lost or changed"
    with zipfile.ZipFile(out_path) as zf:
        names = [i.filename.lower() for i in zf.infolist()]
        assert len(names) == len(set(names)), "duplicate entries in the output"
        assert zf.testzip() is None
    assert _dangling(out_path) <= _dangling(path)


def teardown_module(module) -> None:
    report = os.environ.get("XLVALUE_CORPUS_REPORT")
    if report and FIGURES:
        worst_time = max(FIGURES.items(), key=lambda kv: kv[1][0])
        worst_mem = max(FIGURES.items(), key=lambda kv: kv[1][1])
        Path(report).write_text(json.dumps({
            "cases": len(FIGURES), "worst_seconds": round(worst_time[1][0], 2),
            "worst_seconds_case": worst_time[0], "worst_mib": round(worst_mem[1][1] / 2**20),
            "worst_mib_case": worst_mem[0],
            "per_case": {k: [round(s, 2), round(b / 2**20)] for k, (s, b) in FIGURES.items()}},
            indent=1))


def test_eval_leaves_text_that_looks_like_a_formula_as_text(tmp_path: Path):
    """A text cell '=XV_NBD_P(...) is neither computed nor written back as a formula."""
    from .hostile import SHEET, eval_book

    book = eval_book(tmp_path / "e.xlsx", text="=XV_ELASTICITY(1,2,3,4)")
    out = tmp_path / "o.xlsx"
    assert main(["eval", str(book), "--report", str(tmp_path / "r.csv"), "-o", str(out)]) == 0
    report = (tmp_path / "r.csv").read_text()
    assert "B1" in report and "C1" not in report
    with zipfile.ZipFile(out) as zf:
        sheet = zf.read(SHEET).decode()
    assert re.search(r'<c r="C1" t="inlineStr"><is><t>=XV_ELASTICITY\(1,2,3,4\)</t>', sheet)
    assert re.search(r'<c r="B1"[^>]*><f>XV_NBD_P\(A1,0.84,2.67\)</f><v>0\.\d', sheet)
