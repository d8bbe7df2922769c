"""The one registry of purchase models: the workbook's `Model` setting name -> model class.

The CLV analysis, the XV_ functions and the contract's `Model` choices all read this mapping,
so a model is added in one place. Every class here takes the same arguments: fit(frequency,
recency, T, weights=None) and the predictions of `RecencyModel`.
"""

from __future__ import annotations

from xlvalue.analytics.models.base import RecencyModel
from xlvalue.analytics.models.bg_nbd import BetaGeoModel
from xlvalue.analytics.models.mbg_nbd import ModifiedBetaGeoModel
from xlvalue.analytics.models.nbd import NBDModel
from xlvalue.analytics.models.pareto_nbd import ParetoNBDModel
from xlvalue.errors import ModelError

__all__ = ["PURCHASE_MODELS", "purchase_model"]

PURCHASE_MODELS: dict[str, type[RecencyModel]] = {
    "bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel, "paretonbd": ParetoNBDModel,
    "nbd": NBDModel}


def purchase_model(name: str) -> type[RecencyModel]:
    """The purchase model class of a `Model` name, in any case and spelling of the paper
    ("BG/NBD", "pareto-nbd" and "bgnbd" alike).

    Parameters
    ----------
    name : str
        A key of `PURCHASE_MODELS`, possibly with capitals, "/", "-" or spaces.

    Returns
    -------
    type
        The model class (not fitted).

    Raises
    ------
    ModelError
        For a name that is no model, listing the choices.
    """
    key = str(name).strip().lower().replace("/", "").replace("-", "").replace(" ", "")
    try:
        return PURCHASE_MODELS[key]
    except KeyError:
        raise ModelError(f"model {name!r} is not one of {', '.join(PURCHASE_MODELS)}") from None
