"""Probabilistic purchase and spend models, one file each, sharing the MLE base."""

from xlvalue.analytics.models.bg_bb import BetaGeoBetaBinomModel
from xlvalue.analytics.models.bg_nbd import BetaGeoModel
from xlvalue.analytics.models.gamma_gamma import GammaGammaModel
from xlvalue.analytics.models.mbg_nbd import ModifiedBetaGeoModel
from xlvalue.analytics.models.nbd import NBDModel, nbd_pmf
from xlvalue.analytics.models.pareto_nbd import ParetoNBDModel
from xlvalue.analytics.models.sbg import ShiftedBetaGeoModel

PURCHASE_MODELS = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel,
                   "paretonbd": ParetoNBDModel, "nbd": NBDModel}

__all__ = ["BetaGeoBetaBinomModel", "BetaGeoModel", "GammaGammaModel", "ModifiedBetaGeoModel",
           "NBDModel", "ParetoNBDModel", "PURCHASE_MODELS", "ShiftedBetaGeoModel", "nbd_pmf"]
