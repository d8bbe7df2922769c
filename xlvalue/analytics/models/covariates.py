"""Static covariates of the purchase models, in CLVTools' convention.

A customer's purchase-rate scale and dropout scale depend on time-invariant covariates z:
alpha_i = alpha0 exp(-g_p . z_i) (Pareto/NBD, BG/NBD, MBG/NBD) and beta_i = beta0 exp(-g_d . z_i)
(Pareto/NBD), b_i = b0 exp(-g_d . z_i) (BG/NBD, MBG/NBD). A positive purchase coefficient
therefore means more purchases (a smaller Gamma rate alpha, a larger mean rate r / alpha) and
a positive dropout coefficient an earlier end (a larger mean dropout rate s / beta, or a
larger mean dropout probability a / (a + b)). The likelihood stays the models' closed form
with each customer's own alpha_i, beta_i or b_i, so the fit is exact.

References
----------
.. [1] Bachmann, P., Meierer, M. and Naef, J. (2021). "The role of time-varying contextual
   factors in latent attrition models for customer base analysis". Marketing Science 40(4),
   783-809 (CLVTools' covariate convention).
.. [2] Fader, P. S. and Hardie, B. G. S. (2007). "Incorporating time-invariant covariates into
   the Pareto/NBD and BG/NBD models". http://brucehardie.com/notes/019/
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlvalue.errors import ModelError

__all__ = ["ROLES", "Covariates", "both_processes", "covariate_columns", "covariate_matrix", "design_frame",
           "prediction_rows"]

ROLES = ("purchase", "dropout")  # the prefixes of the coefficients' names in params_


@dataclass(frozen=True)
class Covariates:
    """The covariate columns a model was fitted with, by role.

    Attributes
    ----------
    purchase : tuple of str
        Columns of the purchase covariates (coefficients ``purchase:<column>``).
    dropout : tuple of str
        Columns of the dropout covariates (coefficients ``dropout:<column>``).
    """

    purchase: tuple[str, ...] = ()
    dropout: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The coefficients' names: ``purchase:<column>`` then ``dropout:<column>``."""
        return (tuple(f"purchase:{c}" for c in self.purchase)
                + tuple(f"dropout:{c}" for c in self.dropout))

    def __bool__(self) -> bool:
        return bool(self.purchase or self.dropout)

    def matrices(self, n: int, purchase_covariates, dropout_covariates
                 ) -> tuple[np.ndarray, np.ndarray]:
        """The prediction frames as matrices, checked against the fitted columns.

        Parameters
        ----------
        n : int
            Customers (rows) predicted.
        purchase_covariates, dropout_covariates : pandas.DataFrame or None
            Frames holding (at least) the fitted columns, one row per customer.

        Returns
        -------
        tuple of 2 numpy.ndarray
            n x k_p and n x k_d matrices (k = 0: an empty matrix).

        Raises
        ------
        ModelError
            A frame missing while the model has coefficients for it, given while it has
            none, without one of the fitted columns, or with a bad value.
        """
        out = []
        for role, columns, frame in (("purchase", self.purchase, purchase_covariates),
                                     ("dropout", self.dropout, dropout_covariates)):
            if not columns:
                if frame is not None and len(getattr(frame, "columns", ())):
                    raise ModelError(f"the model was fitted without {role} covariates; do not "
                                     f"pass {role}_covariates")
                out.append(np.zeros((n, 0)))
                continue
            if frame is None:
                raise ModelError(f"the model was fitted with {role} covariates "
                                 f"({', '.join(columns)}); pass {role}_covariates, one row per "
                                 "customer")
            missing = [c for c in columns if c not in getattr(frame, "columns", ())]
            if missing:
                raise ModelError(f"{role}_covariates has no column {', '.join(map(repr, missing))}"
                                 f"; the model was fitted with {', '.join(map(repr, columns))}")
            _, matrix = covariate_matrix(frame[list(columns)], n, role)
            out.append(matrix)
        return out[0], out[1]


def covariate_matrix(frame, n: int, role: str) -> tuple[tuple[str, ...], np.ndarray]:
    """A covariate frame as (column names, n x k float matrix), refusing what cannot be used.

    Parameters
    ----------
    frame : pandas.DataFrame or None
        One row per customer, one numeric column per covariate (booleans count as 0/1; text
        must be turned into dummy columns first, e.g. with ``pandas.get_dummies(...,
        drop_first=True, dtype=float)``).
    n : int
        Customers expected (rows).
    role : {"purchase", "dropout"}
        For the messages.

    Returns
    -------
    tuple
        Column names (text) and the matrix (k = 0 for None or an empty frame).

    Raises
    ------
    ModelError
        Not a DataFrame, another number of rows, a text column, a value that is not a finite
        number (naming the rows), duplicate column names.
    """
    if frame is None:
        return (), np.zeros((n, 0))
    if not isinstance(frame, pd.DataFrame):
        raise ModelError(f"{role}_covariates must be a pandas DataFrame (one column per "
                         f"covariate), not {type(frame).__name__}")
    if len(frame) != n:
        raise ModelError(f"{role}_covariates has {len(frame)} row(s); expected {n}, one per "
                         "customer in the order of frequency, recency and T")
    names = tuple(str(c) for c in frame.columns)
    if len(set(names)) != len(names):
        raise ModelError(f"{role}_covariates has duplicate column names")
    columns = []
    for name, column in zip(names, frame.columns, strict=True):
        values = frame[column]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise ModelError(f"{role}_covariates column {name!r} is not numeric; turn text "
                             "into dummy columns (e.g. pandas.get_dummies(frame, "
                             "drop_first=True, dtype=float))")
        x = values.to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size:
            shown = ", ".join(str(i + 1) for i in bad[:5])
            raise ModelError(f"{role}_covariates column {name!r} is not a finite number in "
                             f"row(s) {shown}{' and more' if bad.size > 5 else ''}")
        columns.append(x)
    matrix = np.column_stack(columns) if columns else np.zeros((n, 0))
    return names, matrix


def prediction_rows(default: int, *frames) -> int:
    """Customers a prediction is for: the rows of the first covariate frame given, else
    `default` (e.g. the size of t)."""
    for frame in frames:
        if frame is not None:
            return len(frame)
    return int(default)


def covariate_columns(setting: str | None) -> list[str]:
    """The column names of a `Covariates` setting: comma- or semicolon-separated, trimmed,
    blanks dropped ("Region, Age" -> ["Region", "Age"]).

    Parameters
    ----------
    setting : str or None
        The setting's text.

    Returns
    -------
    list of str
    """
    if setting is None:
        return []
    names = [part.strip() for part in str(setting).replace(";", ",").split(",")]
    return [name for name in names if name]


def design_frame(table: pd.DataFrame | None, columns: list[str], ids, id_column: str,
                 table_name: str) -> pd.DataFrame:
    """Covariates of the listed customers from a customer table, as numbers.

    A column whose every value reads as a number is used as it is; any other column is
    text, turned into one 0/1 column per value (named ``<column>=<value>``) except the most
    frequent value, the reference every other value is compared with (ties: the first in
    sorted order). A coefficient of ``Region=north`` is then the effect of north against the
    most common region.

    Parameters
    ----------
    table : pandas.DataFrame or None
        One row per customer, with `id_column` and the covariate columns.
    columns : list of str
        The covariate columns (e.g. from the `Covariates` setting).
    ids : array_like
        The customers (in order) the covariates are wanted for.
    id_column : str
        The table's customer-id column.
    table_name : str
        For the messages (e.g. "xv_Customers").

    Returns
    -------
    pandas.DataFrame
        One row per id, one numeric column per covariate or dummy.

    Raises
    ------
    ModelError
        No table, a column it lacks, customers it has no row for, a blank value (naming the
        customers), a text column with a single value (nothing to compare).
    """
    if table is None or table.empty:
        raise ModelError(f"Covariates names {', '.join(columns)}, but there is no {table_name} "
                         f"table; add {table_name} with one row per customer and these columns")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ModelError(f"Covariates names {', '.join(map(repr, missing))}, which {table_name} "
                         f"does not have; its columns are {', '.join(map(repr, table.columns))}")
    rows = table.drop_duplicates(id_column).set_index(id_column).reindex(pd.Index(ids))
    absent = rows.index[rows[columns].isna().all(axis=1).to_numpy()]
    if len(absent):
        raise ModelError(f"{table_name} has no row (or only blanks) for {len(absent)} customer(s) "
                         f"of the model, e.g. {', '.join(map(str, absent[:5]))}; Covariates needs "
                         "every customer")
    out = {}
    for column in columns:
        values = rows[column]
        blank = values.isna() | (values.astype(str).str.strip() == "")
        if blank.any():
            who = ", ".join(map(str, rows.index[blank.to_numpy()][:5]))
            raise ModelError(f"{table_name} column {column!r} (a covariate) is blank for "
                             f"{int(blank.sum())} customer(s), e.g. {who}")
        number = pd.to_numeric(values, errors="coerce")
        if number.notna().all():
            out[column] = number.to_numpy(dtype=float)
            continue
        text = values.astype(str).str.strip()
        counts = text.value_counts()
        if len(counts) < 2:
            raise ModelError(f"{table_name} column {column!r} (a covariate) has one value for "
                             "every customer: nothing to compare; drop it from Covariates")
        top = counts.max()
        reference = sorted(counts.index[counts == top])[0]
        for value in sorted(counts.index):
            if value != reference:
                out[f"{column}={value}"] = (text == value).to_numpy(dtype=float)
    return pd.DataFrame(out, index=pd.RangeIndex(len(rows)))


def both_processes(covariates: pd.DataFrame | None) -> dict:
    """Keyword arguments giving one covariate frame to both the purchase and the dropout
    process (the workbook's `Covariates` setting); none for None."""
    if covariates is None:
        return {}
    return {"purchase_covariates": covariates, "dropout_covariates": covariates}
