"""The XV_ worksheet functions as xlwings Lite custom functions, made from the classic catalogue.

Nothing is defined twice: every function here is generated from `REGISTRY`
(xlvalue.excel.convert), which the classic door's decorators fill when xlvalue.excel.udfs is
imported. A generated function has the classic function's name, parameters and help (the
REGISTRY texts) and calls the classic function itself, so the results are the same, cell for
cell, errors included ('#XV! ...' text in the cell, never a traceback).

Argument passing. The classic door asks xlwings for ranges as 2-D lists (`ndim=2`) and for
options (as_of, unit, model, ...) as single values. Lite is told `ndim=2` for every argument
and a 1x1 range is handed on as its single value: a scalar argument then arrives exactly as in
the classic door, and a range argument is unchanged (the converters read a lone value as a 1x1
range). The arguments carry no type hints on purpose: in Lite a type hint selects a converter,
and these functions take raw cells (dates arrive as Excel serial numbers, which the contract's
date conversion accepts). Results are lists of rows, which Lite spills as dynamic arrays.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from xlwings import arg, func

import xlvalue.excel.udfs  # noqa: F401  (its decorators fill REGISTRY)
from xlvalue.excel.convert import REGISTRY, UDFSpec

__all__ = ["lite_function", "lite_functions", "single_cell_as_value"]


def single_cell_as_value(value: Any) -> Any:
    """A 1x1 2-D list as its value (what the classic door receives for a one-cell argument)."""
    if (isinstance(value, list) and len(value) == 1 and isinstance(value[0], list)
            and len(value[0]) == 1):
        return value[0][0]
    return value


def lite_function(spec: UDFSpec, module: str = __name__) -> Callable:
    """A Lite custom function that forwards to the classic function of the catalogue."""
    classic = spec.func
    signature = inspect.signature(classic)  # the classic parameters (followed through wraps)

    def call(*args: Any, **kwargs: Any) -> Any:
        return classic(*map(single_cell_as_value, args),
                       **{k: single_cell_as_value(v) for k, v in kwargs.items()})

    call.__name__ = call.__qualname__ = spec.name
    call.__module__ = module  # Lite names a function after the module it is registered from
    call.__doc__ = spec.doc
    call.__signature__ = signature  # type: ignore[attr-defined]
    docs = dict(spec.args)
    registered = func(call)
    for name in signature.parameters:
        registered = arg(name, ndim=2, doc=docs.get(name, name))(registered)
    return registered


def lite_functions(module: str = __name__) -> dict[str, Callable]:
    """Every XV_ function of the catalogue, by name, in catalogue order."""
    return {name: lite_function(spec, module) for name, spec in REGISTRY.items()}
