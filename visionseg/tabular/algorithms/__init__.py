"""Segmentation algorithms behind one interface (:class:`Segmenter`), chosen by config.

Each ``configs/tabular/algorithm/*.yaml`` names one of these classes in ``_target_``.
"""

from visionseg.tabular.algorithms.autoencoder import AutoencoderKMeansSegmenter
from visionseg.tabular.algorithms.base import NOISE, Segmenter, apply_mapping, margin_confidence
from visionseg.tabular.algorithms.density import HDBSCANSegmenter, SpectralSegmenter
from visionseg.tabular.algorithms.hierarchical import GowerSegmenter, WardSegmenter
from visionseg.tabular.algorithms.mixed import KPrototypesSegmenter
from visionseg.tabular.algorithms.partitional import (
    GaussianMixtureSegmenter,
    KMeansSegmenter,
    MiniBatchKMeansSegmenter,
)

__all__ = [
    "NOISE",
    "AutoencoderKMeansSegmenter",
    "GaussianMixtureSegmenter",
    "GowerSegmenter",
    "HDBSCANSegmenter",
    "KMeansSegmenter",
    "KPrototypesSegmenter",
    "MiniBatchKMeansSegmenter",
    "Segmenter",
    "SpectralSegmenter",
    "WardSegmenter",
    "apply_mapping",
    "margin_confidence",
]
