"""Child process of test_lite_imports: xlvalue.lite with the libraries Lite lacks blocked.

Run as `python -m tests.lite_blocked_probe [control]`. The demo workbook is read into the
xlwings stand-in with openpyxl first; then openpyxl is dropped from sys.modules and a meta-path
finder makes every import of python-calamine, openpyxl, defusedxml, tqdm, Dask, distributed,
formulas or multiprocessing raise, thread and process pools refuse to start, and Thread.start
raises. Only then is xlvalue.lite imported, every function called and every script run. Prints
one JSON line.
With `control`, imports the template writer instead, which must fail (the blocker works).
"""

from __future__ import annotations

import importlib.abc
import json
import sys
import threading
from pathlib import Path

# python-calamine, openpyxl, defusedxml and tqdm are not required under Pyodide (pyproject.toml's
# markers; tests/test_lite_wheel.py checks that every requirement left out there is blocked here)
BLOCKED = ("python_calamine", "openpyxl", "et_xmlfile", "defusedxml", "tqdm", "dask",
           "distributed", "formulas", "multiprocessing")
ROOT = Path(__file__).resolve().parents[1]


class Blocker(importlib.abc.MetaPathFinder):
    """Raises on any import of a blocked top-level package."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked for xlwings Lite: {name}")
        return None


def refuse(*_args, **_kwargs):
    raise RuntimeError("xlwings Lite has no threads or processes")


def block() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED or name.split(".")[0] == "xlvalue":
            del sys.modules[name]
    sys.meta_path.insert(0, Blocker())
    threading.Thread.start = refuse  # type: ignore[method-assign]
    from concurrent.futures import thread  # process pools need multiprocessing: blocked

    thread.ThreadPoolExecutor.__init__ = refuse  # type: ignore[method-assign]


def main() -> dict:
    from tests import xlwings_standin as standin

    book = standin.load(ROOT / "templates" / "xlvalue_demo.xlsx")
    empty = standin.Book("Book1.xlsx")
    empty.sheets.add("Sheet1")
    block()
    if sys.argv[1:] == ["control"]:
        try:
            import xlvalue.workbook.template  # noqa: F401  (needs openpyxl)
        except ImportError as exc:
            return {"control_blocked": str(exc)}
        return {"control_blocked": ""}

    import xlvalue.excel.udfs as classic
    import xlvalue.lite as lite
    from tests.lite_calls import classic_calls, lite_args

    rows = book.sheets["Transactions"].range((1, 1), (6920, 3)).options(ndim=2).value
    calls = classic_calls(rows, classic)
    equal = {name: getattr(lite, name)(*lite_args(args)) == getattr(classic, name)(*args)
             for name, args in calls.items()}
    errors = [n for n, a in calls.items() if str(getattr(classic, n)(*a)[0][0]).startswith("#XV!")]
    scripts = {s.__name__: s(book) for s in lite.SCRIPTS if s.__name__ != "xv_demo"}
    scripts["xv_demo"] = lite.xv_demo(empty)
    scripts["xv_run_all_again"] = lite.xv_run_all(book)
    return {
        "functions": sorted(lite.FUNCTIONS), "equal": equal, "errors": errors,
        "scripts": {k: v for k, v in scripts.items()},
        "blocks": sorted(n.name for n in book.names if n.name.startswith("xv_out_")),
        "demo_blocks": sorted(n.name for n in empty.names if n.name.startswith("xv_out_")),
        "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(BLOCKED)),
        "threads": threading.active_count(),
    }


if __name__ == "__main__":
    result = main()
    print("RESULT " + json.dumps(result))
