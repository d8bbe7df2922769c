"""xlvalue in xlwings Lite: the plugin that registers the XV_ functions and the ribbon scripts.

The workbook's requirements.txt names xlvalue's wheel and `xlwings==0.37.8` (README, "Using
xlvalue in xlwings Lite"; docs/lite.md). Lite registers the custom functions (objects carrying
xlwings' `__xlfunc__`) and scripts (`__xlscript__`) that are members of this module;
`from xlvalue.lite import *` in a workbook's main.py registers the same set. Importing this
package loads neither python-calamine, openpyxl, defusedxml, tqdm, Dask nor formulas, and starts
no thread or process (tests/test_lite_imports.py).

An older xlwings (new Lite workbooks default to 0.33.20) stops the import with the line to put
in requirements.txt: its Office.js engine has no charts or formats, and its script runner does
not resolve postponed annotations such as the scripts' `book: xw.Book`
(tests/test_lite_xlwings.py runs both versions).
"""

from __future__ import annotations

import re

import xlwings

LITE_XLWINGS = "0.37.8"  # the version the Lite steps name (requirements.txt: xlwings==0.37.8)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


if _version(xlwings.__version__) < _version(LITE_XLWINGS):
    raise ImportError(
        f"xlvalue needs xlwings {LITE_XLWINGS} or later, this workbook has xlwings "
        f"{xlwings.__version__}: in xlwings Lite's requirements.txt tab change the xlwings line "
        f"to xlwings=={LITE_XLWINGS}, then restart xlwings Lite")

from xlvalue.lite.functions import lite_functions  # noqa: E402
from xlvalue.lite.scripts import (  # noqa: E402
    analysis_scripts,
    xv_check_inputs,
    xv_clear_outputs,
    xv_demo,
    xv_run_all,
)

FUNCTIONS = lite_functions(__name__)
globals().update(FUNCTIONS)
ANALYSIS_SCRIPTS = analysis_scripts(__name__)  # one per analysis button (the registry's)
globals().update(ANALYSIS_SCRIPTS)
SCRIPTS = (xv_run_all, xv_check_inputs, *ANALYSIS_SCRIPTS.values(), xv_clear_outputs, xv_demo)

__all__ = [*FUNCTIONS, *(s.__name__ for s in SCRIPTS)]
