"""Watershed baseline: Otsu foreground split into touching objects, one instance each.

The foreground is the :class:`~visionseg.baselines.threshold.OtsuBaseline` one (same
learned polarity and contrast floor). Markers come either from peaks of the distance
transform (``markers: distance``: a peak at least ``min_radius`` px deep, peaks at least
``min_distance`` px apart; separates round objects that touch) or from minima of the
intensity gradient (``markers: gradient``: flat areas whose gradient is below
``gradient_level`` times the strongest gradient in the foreground). A foreground component
that gets no marker (e.g. a thin scratch has no deep distance peak) stays one instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import sobel
from skimage.segmentation import watershed

from visionseg.baselines.base import State
from visionseg.baselines.threshold import OtsuBaseline
from visionseg.core.regions import connected_regions


def _distance_markers(
    foreground: np.ndarray, components: np.ndarray, min_distance: int, min_radius: float
) -> tuple[np.ndarray, np.ndarray]:
    distance = cv2.distanceTransform(foreground.astype(np.uint8), cv2.DIST_L2, 5)
    peaks = peak_local_max(
        distance,
        min_distance=min_distance,
        threshold_abs=min_radius,
        labels=components,
        exclude_border=False,
    )
    markers = np.zeros(foreground.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    return markers, -distance


def _gradient_markers(
    foreground: np.ndarray, deviation: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    gradient = sobel(cv2.GaussianBlur(deviation, (0, 0), 1.0))
    inside = gradient[foreground]
    limit = level * float(inside.max()) if inside.size else 0.0
    markers, _ = ndi.label(foreground & (gradient <= limit))
    return markers.astype(np.int32), gradient


class WatershedBaseline(OtsuBaseline):
    """Otsu foreground, then marker-based watershed; every object is an instance."""

    MARKERS: ClassVar[tuple[str, ...]] = ("distance", "gradient")

    def __init__(
        self,
        classes: Sequence[str],
        name: str = "watershed",
        markers: str = "distance",
        min_distance: int = 3,
        min_radius: float = 2.0,
        gradient_level: float = 0.1,
        compactness: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if markers not in self.MARKERS:
            raise ValueError(f"markers must be one of {self.MARKERS}, got {markers!r}")
        super().__init__(classes, name, **kwargs)
        self.markers = markers
        self.min_distance = int(min_distance)
        self.min_radius = float(min_radius)
        self.gradient_level = float(gradient_level)
        self.compactness = float(compactness)

    def _segment(self, state: State) -> tuple[np.ndarray, int]:
        foreground = self._foreground(state, self.settings)
        components, count = connected_regions(foreground, self.min_area)
        if count == 0:
            return components, 0
        foreground = components > 0
        if self.markers == "distance":
            markers, relief = _distance_markers(
                foreground, components, self.min_distance, self.min_radius
            )
        else:
            markers, relief = _gradient_markers(foreground, state["deviation"], self.gradient_level)
        labels = watershed(relief, markers, mask=foreground, compactness=self.compactness)
        unmarked = foreground & (labels == 0)
        if unmarked.any():
            labels[unmarked] = components[unmarked] + labels.max()
        return _renumber(labels)


def _renumber(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Label ids made consecutive 1..n (0 stays background)."""
    counts = np.bincount(labels.ravel())
    present = np.flatnonzero(counts[1:]) + 1
    lut = np.zeros(len(counts), np.int32)
    lut[present] = np.arange(1, len(present) + 1, dtype=np.int32)
    return lut[labels], len(present)
