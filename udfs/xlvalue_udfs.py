"""The module xlwings imports for the XV_* worksheet functions (UDF_MODULES = xlvalue_udfs).

It only re-exports xlvalue.excel.udfs, so that the add-in needs no path into the package.
"""

from xlvalue.excel.udfs import *  # noqa: F403
from xlvalue.excel.udfs import __all__  # noqa: F401
