"""Probabilistic purchase and spend models, one file each, sharing the MLE base."""

from xlvalue.analytics.models.bg_bb import BetaGeoBetaBinomModel
from xlvalue.analytics.models.bg_nbd import BetaGeoModel
from xlvalue.analytics.models.gamma_gamma import GammaGammaModel
from xlvalue.analytics.models.mbg_nbd import ModifiedBetaGeoModel
from xlvalue.analytics.models.nbd import NBDModel, nbd_pmf
from xlvalue.analytics.models.pareto_nbd import ParetoNBDModel
from xlvalue.analytics.models.registry import PURCHASE_MODELS, purchase_model
from xlvalue.analytics.models.sbg import ShiftedBetaGeoModel

__all__ = ["BetaGeoBetaBinomModel", "BetaGeoModel", "GammaGammaModel", "ModifiedBetaGeoModel",
           "NBDModel", "ParetoNBDModel", "PURCHASE_MODELS", "ShiftedBetaGeoModel", "nbd_pmf",
           "purchase_model"]
