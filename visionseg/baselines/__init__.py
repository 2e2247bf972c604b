"""Classical baselines (threshold, watershed, ridge, colour K-means), each a :class:`Method`."""

from visionseg.baselines.base import BaselineError, RegionBaseline
from visionseg.baselines.kmeans import KMeansBaseline
from visionseg.baselines.ridge import RidgeBaseline
from visionseg.baselines.threshold import AdaptiveBaseline, MultiOtsuBaseline, OtsuBaseline
from visionseg.baselines.watershed import WatershedBaseline

__all__ = [
    "AdaptiveBaseline",
    "BaselineError",
    "KMeansBaseline",
    "MultiOtsuBaseline",
    "OtsuBaseline",
    "RegionBaseline",
    "RidgeBaseline",
    "WatershedBaseline",
]
