"""xlvalue: customer-value analytics (RFM, CLV, scores, costing) on named ranges of workbooks.

The lifetimes-style summary functions are importable from here (loaded on first use, so
``import xlvalue`` stays light for the command line and the add-in):
``xlvalue.summary_data_from_transaction_data`` and ``xlvalue.calibration_and_holdout_data``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xlvalue")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

_SUMMARY_FUNCTIONS = ("calibration_and_holdout_data", "summary_data_from_transaction_data")

__all__ = ["__version__", *_SUMMARY_FUNCTIONS]


def __getattr__(name: str):
    if name in _SUMMARY_FUNCTIONS:
        from xlvalue.analytics import summary_data

        return getattr(summary_data, name)
    raise AttributeError(f"module 'xlvalue' has no attribute {name!r}")
