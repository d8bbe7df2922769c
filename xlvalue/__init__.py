"""xlvalue: customer-value analytics (RFM, CLV, scores, costing) on named ranges of workbooks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xlvalue")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
