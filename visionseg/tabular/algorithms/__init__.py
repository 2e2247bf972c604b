"""Segmentation algorithms behind one interface (:class:`Clusterer`), chosen by config.

Each ``configs/tabular/algorithm/*.yaml`` names one of these classes in ``_target_``.
"""

from visionseg.tabular.algorithms.autoencoder import AutoencoderKMeansClusterer
from visionseg.tabular.algorithms.base import NOISE, Clusterer, apply_mapping, margin_confidence
from visionseg.tabular.algorithms.dbscan import DBSCANClusterer
from visionseg.tabular.algorithms.density import HDBSCANClusterer, SpectralClusterer
from visionseg.tabular.algorithms.hierarchical import GowerClusterer, WardClusterer
from visionseg.tabular.algorithms.mixed import KPrototypesClusterer
from visionseg.tabular.algorithms.partitional import (
    GaussianMixtureClusterer,
    KMeansClusterer,
    MiniBatchKMeansClusterer,
)

__all__ = [
    "NOISE",
    "AutoencoderKMeansClusterer",
    "DBSCANClusterer",
    "GaussianMixtureClusterer",
    "GowerClusterer",
    "HDBSCANClusterer",
    "KMeansClusterer",
    "KPrototypesClusterer",
    "MiniBatchKMeansClusterer",
    "Clusterer",
    "SpectralClusterer",
    "WardClusterer",
    "apply_mapping",
    "margin_confidence",
]
