"""Probabilistic purchase and spend models, one file each, sharing the MLE base."""

from xlvalue.analytics.models.bg_nbd import BetaGeoModel
from xlvalue.analytics.models.gamma_gamma import GammaGammaModel
from xlvalue.analytics.models.mbg_nbd import ModifiedBetaGeoModel
from xlvalue.analytics.models.nbd import NBDModel, nbd_pmf
from xlvalue.analytics.models.pareto_nbd import ParetoNBDModel

PURCHASE_MODELS = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel,
                   "paretonbd": ParetoNBDModel, "nbd": NBDModel}

__all__ = ["BetaGeoModel", "GammaGammaModel", "ModifiedBetaGeoModel", "NBDModel", "ParetoNBDModel",
           "PURCHASE_MODELS", "nbd_pmf"]
