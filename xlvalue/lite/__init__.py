"""xlvalue in xlwings Lite: the plugin that registers the XV_ functions and the ribbon scripts.

Put `xlvalue` in the workbook's requirements.txt (docs/lite.md). Lite registers the custom
functions (objects carrying xlwings' `__xlfunc__`) and scripts (`__xlscript__`) that are
members of this module; `from xlvalue.lite import *` in a workbook's main.py registers the same
set. Importing this package loads neither python-calamine, openpyxl, Dask nor formulas, and
starts no thread or process (tests/test_lite_imports.py).
"""

from __future__ import annotations

from xlvalue.lite.functions import lite_functions
from xlvalue.lite.scripts import (
    xv_check_inputs,
    xv_clear_outputs,
    xv_clv,
    xv_costing,
    xv_demo,
    xv_rfm,
    xv_run_all,
    xv_scores,
)

FUNCTIONS = lite_functions(__name__)
globals().update(FUNCTIONS)
SCRIPTS = (xv_run_all, xv_check_inputs, xv_rfm, xv_clv, xv_scores, xv_costing,
           xv_clear_outputs, xv_demo)

__all__ = [*FUNCTIONS, *(s.__name__ for s in SCRIPTS)]
