"""Probabilistic purchase and spend models, one file each, sharing the MLE base."""

from .bg_nbd import BetaGeoModel
from .gamma_gamma import GammaGammaModel
from .nbd import NBDModel, nbd_pmf
from .pareto_nbd import ParetoNBDModel

PURCHASE_MODELS = {"bgnbd": BetaGeoModel, "paretonbd": ParetoNBDModel, "nbd": NBDModel}

__all__ = ["BetaGeoModel", "GammaGammaModel", "NBDModel", "ParetoNBDModel", "PURCHASE_MODELS",
           "nbd_pmf"]
