"""Child process of test_lite_xlwings: xlvalue.lite through xlwings' own Lite/Server code.

xlwings Lite runs with XLWINGS_ON_SERVER set, where `from xlwings import func, script, arg,
ret` are the decorators of xlwings.server; the parent sets it (and xlwings' noncommercial
licence key, which that module asks for) before this process imports anything. Registration
metadata comes from xlwings' custom_functions_meta/custom_scripts_meta; a function is called
through custom_functions_call with an Office.js-shaped payload, and scripts through
custom_scripts_call with the workbook injected for their `xw.Book` parameter (here the
stand-in). The fallback of the Lite steps, `from xlvalue.lite import *` as a workbook's
main.py, is made into a module the way xlwings Server's Pyodide runtime makes main.py
(`create_module_from_string` in xlwings_server/wasm/wasm_runtime.py: exec of the text in a
fresh module) and registered, called and run through that module. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> dict:
    import xlwings as xw
    from xlwings.server import (
        custom_functions_call,
        custom_functions_meta,
        custom_scripts_call,
        custom_scripts_meta,
    )

    import xlvalue.excel.udfs as classic
    import xlvalue.lite as lite
    from tests import xlwings_standin as standin
    from tests.lite_calls import classic_calls, lite_args

    book = standin.load(ROOT / "templates" / "xlvalue_demo.xlsx")
    rows = book.sheets["Transactions"].range((1, 1), (6920, 3)).options(ndim=2).value
    calls = classic_calls(rows, classic)
    payload = {"version": xw.__version__, "client": "Office.js", "runtime": "1.4",
               "culture_info_name": "en-US", "date_format": "yyyy-mm-dd"}
    called = {}
    for name in calls:  # every function, the way Lite calls it
        data = dict(payload, func_name=name, args=list(lite_args(calls[name])))
        got = asyncio.run(custom_functions_call(data, lite))
        want = getattr(classic, name)(*calls[name])
        want = [["" if v is None else v for v in row] for row in want]  # Office.js: empty
        called[name] = {"rows": len(got), "header": got[0],
                        "equal": json.dumps(got, default=str) == json.dumps(want, default=str)}
    main_py = _module_from_string("from xlvalue.lite import *\n", "main")
    rfm = dict(payload, func_name="XV_RFM", args=list(lite_args(calls["XV_RFM"])))
    fallback = {"functions": sorted(f["name"] for f in custom_functions_meta(main_py)["functions"]),
                "scripts": sorted(m["function_name"] for m in custom_scripts_meta(main_py)),
                "rfm_equal": asyncio.run(custom_functions_call(rfm, main_py))
                == asyncio.run(custom_functions_call(rfm, lite))}
    from tests.lite_remote import apply_actions, block, empty_book, payload, replay

    api = payload(ROOT / "templates" / "xlvalue_demo.xlsx", xw.__version__)
    remote = xw.Book(json=api)  # xlwings' Office.js engine: the Book API scripts get in Lite
    asyncio.run(custom_scripts_call(lite, "xv_run_all", typehint_to_value={xw.Book: remote}))
    replayed = replay(api, remote.json()["actions"])
    grids, names, actions = replayed.grids, replayed.names, replayed.counts
    remote_view = {  # what the run-all script did beyond cells: links, tab, panes, charts
        "formulas": {sheet: {f"{r},{c}": f for (r, c), f in cells.items()}
                     for sheet, cells in replayed.formulas.items() if cells},
        "active": replayed.active, "frozen": replayed.frozen, "charts": replayed.charts,
        "widths": replayed.widths, "heights": replayed.heights,
        "colour_scales": replayed.colour_scales,
        **{kind: {sheet: {f"{r},{c}": v for (r, c), v in cells.items()}
                  for sheet, cells in getattr(replayed, kind).items()}
           for kind in ("wrapped", "indents", "alignments", "fonts")}}
    remote_blocks = {n: block(grids, ref) for n, ref in names.items()
                     if n.startswith("xv_out_") and isinstance(ref, str)}
    new = empty_book("Book1.xlsx", xw.__version__)
    fresh = xw.Book(json=new)
    asyncio.run(custom_scripts_call(lite, "xv_demo", typehint_to_value={xw.Book: fresh}))
    grids, names, demo_actions = apply_actions(new, fresh.json()["actions"])
    demo_blocks = {n: block(grids, ref) for n, ref in names.items()
                   if n.startswith("xv_out_") and isinstance(ref, str)}
    demo_inputs = {n: len(block(grids, ref)) for n, ref in names.items()
                   if n.startswith("xv_") and not n.startswith("xv_out_")}
    scripts = {}
    for meta in custom_scripts_meta(lite):
        if meta["function_name"] in ("xv_run_all", "xv_check_inputs"):
            result = asyncio.run(custom_scripts_call(lite, meta["function_name"],
                                                     typehint_to_value={xw.Book: book}))
            scripts[meta["function_name"]] = result is book
    checked = xw.Book(json=payload(ROOT / "templates" / "xlvalue_demo.xlsx", xw.__version__))
    fallback["check_ran"] = asyncio.run(custom_scripts_call(
        main_py, "xv_check_inputs", typehint_to_value={xw.Book: checked})) is checked
    return {
        "xlwings": xw.__version__, "xlwings_file": xw.__file__, "main_py": fallback,
        "func_type": f"{xw.func.__module__}.{xw.func.__name__}",
        "functions": custom_functions_meta(lite)["functions"],
        "scripts_meta": custom_scripts_meta(lite),
        "called": called,
        "scripts_ran": scripts,
        "blocks": sorted(n.name for n in book.names if n.name.startswith("xv_out_")),
        "remote_blocks": remote_blocks,
        "remote_actions": dict(actions),
        "remote_view": remote_view,
        "demo_blocks": demo_blocks,
        "demo_inputs": demo_inputs,
        "demo_actions": dict(demo_actions),
    }


def _module_from_string(text: str, name: str):
    """A module made from source text, as xlwings Server's Pyodide runtime makes main.py."""
    import importlib.util
    import sys

    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    exec(text, module.__dict__)
    sys.modules[name] = module
    return module


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(), default=str))
