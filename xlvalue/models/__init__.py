"""Probabilistic purchase and spend models, one file each, sharing the MLE base."""

from .bg_nbd import BetaGeoModel
from .gamma_gamma import GammaGammaModel
from .mbg_nbd import ModifiedBetaGeoModel
from .nbd import NBDModel, nbd_pmf
from .pareto_nbd import ParetoNBDModel

PURCHASE_MODELS = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel,
                   "paretonbd": ParetoNBDModel, "nbd": NBDModel}

__all__ = ["BetaGeoModel", "GammaGammaModel", "ModifiedBetaGeoModel", "NBDModel", "ParetoNBDModel",
           "PURCHASE_MODELS", "nbd_pmf"]
