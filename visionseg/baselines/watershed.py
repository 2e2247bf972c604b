"""Watershed baseline: the textbook recipe, with its parameters read off the image.

Smooth, threshold with Otsu, find peaks of the distance transform, flood with watershed:
one instance per object, touching objects separated. The sizes come from the image:
the typical object radius ``r`` is the area-weighted median, over the connected regions
of the (unsmoothed) Otsu foreground, of each region's deepest distance-transform value
(its inscribed radius: a clump of touching round objects has about the radius of one
of them). Then the Gaussian smoothing sigma is ``smooth x r`` (at most ``MAX_SMOOTH``) and
distance peaks must be ``min_distance x r`` px apart (``smooth``, ``min_distance`` given as
fractions; pixels can be forced with ``smooth_px`` / ``min_distance_px``), at least
``min_radius`` px deep (objects under about 4 px wide are not split) and on an h-maximum of
the distance, ``dynamic x r`` above its saddles: each such h-maximum holding a peak is one
marker, so a long ridge of equal depth (a scratch) seeds one object, not a chain.

The foreground uses the :class:`~visionseg.baselines.threshold.OtsuBaseline` settings
(textbook without train data; polarity, flattening and contrast floor fitted on train).
``markers: gradient`` seeds from flat areas of the intensity gradient instead (below
``gradient_level`` times the strongest gradient in the foreground). A region that gets no
marker (e.g. a 1 px scratch has no distance peak) stays one instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import sobel
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from visionseg.baselines.base import State, check_choice
from visionseg.baselines.flatten import noise_sigma
from visionseg.baselines.threshold import OtsuBaseline
from visionseg.core.checks import check_int, check_number
from visionseg.core.regions import connected_regions, label_components

MAX_SMOOTH = 4.0  # px: derived smoothing never blurs more (it removes noise, not detail)


def _distance(foreground: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance to the background (an approximate mask makes false peaks)."""
    return cv2.distanceTransform(foreground.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def typical_radius(foreground: np.ndarray, min_area: int) -> float:
    """Area-weighted median inscribed radius (px) of the foreground's regions (0 if none)."""
    labels, areas = label_components(foreground)
    if not len(areas):
        return 0.0
    distance = _distance(foreground)
    depth = ndi.maximum(distance, labels, np.arange(1, len(areas) + 1))
    keep = areas >= min_area
    if not keep.any():
        return 0.0
    order = np.argsort(depth[keep])
    weights = np.cumsum(areas[keep][order])
    return float(depth[keep][order][np.searchsorted(weights, weights[-1] / 2.0)])


def _distance_markers(
    foreground: np.ndarray,
    components: np.ndarray,
    min_distance: int,
    min_radius: float,
    dynamic: float,
) -> tuple[np.ndarray, np.ndarray]:
    distance = _distance(foreground)
    peaks = peak_local_max(
        distance,
        min_distance=min_distance,
        threshold_abs=min_radius,
        labels=components,
        exclude_border=False,
    )
    markers = np.zeros(foreground.shape, np.int32)
    if dynamic <= 0:
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
        return markers, -distance
    # One marker per h-maximum (a plateau or hill standing ``dynamic`` px above its
    # saddles) holding a peak: a long ridge of equal depth is one object, not a chain.
    plateaus, count = label_components(h_maxima(distance, dynamic) > 0)
    held = np.zeros(len(count) + 1, bool)
    held[plateaus[tuple(peaks.T)]] = True
    held[0] = False
    lut = np.zeros(len(held), np.int32)
    lut[held] = np.arange(1, int(held.sum()) + 1, dtype=np.int32)
    return lut[plateaus], -distance


def _gradient_markers(
    foreground: np.ndarray, gray: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    gradient = sobel(cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0))
    inside = gradient[foreground]
    limit = level * float(inside.max()) if inside.size else 0.0
    markers, _ = ndi.label(foreground & (gradient <= limit))
    return markers.astype(np.int32), gradient


class WatershedBaseline(OtsuBaseline):
    """Smoothed Otsu foreground split by marker-based watershed; every object an instance."""

    MARKERS: ClassVar[tuple[str, ...]] = ("distance", "gradient")

    def __init__(
        self,
        classes: Sequence[str],
        name: str = "watershed",
        markers: str = "distance",
        smooth: float = 0.125,
        min_distance: float = 0.5,
        smooth_px: float | None = None,
        min_distance_px: int | None = None,
        min_radius: float = 2.0,
        dynamic: float = 0.05,
        gradient_level: float = 0.1,
        compactness: float = 0.0,
        **kwargs: Any,
    ) -> None:
        check_choice("markers", markers, self.MARKERS)
        check_number("smooth", smooth, 0.0, optional=True, maximum=2.0)
        check_number("min_distance", min_distance, 0.0, optional=True, maximum=4.0)
        check_number("smooth_px", smooth_px, 0.0, optional=True, maximum=100.0)
        check_int("min_distance_px", min_distance_px, 1, optional=True, maximum=1000)
        check_number("min_radius", min_radius, 0.0, optional=True, maximum=1000.0)
        check_number("dynamic", dynamic, 0.0, optional=True, maximum=4.0)
        check_number("gradient_level", gradient_level, 0.0, optional=True, maximum=1.0)
        check_number("compactness", compactness, 0.0, optional=True)
        super().__init__(classes, name, **kwargs)
        self.markers = markers
        self.smooth = float(smooth)
        self.min_distance = float(min_distance)
        self.smooth_px = smooth_px
        self.min_distance_px = min_distance_px
        self.min_radius = float(min_radius)
        self.dynamic = float(dynamic)
        self.gradient_level = float(gradient_level)
        self.compactness = float(compactness)

    def _radius(self, state: State, settings: dict[str, Any]) -> float:
        """Typical object radius under these settings, on the unsmoothed image (cached)."""
        key = ("radius", *sorted(settings.items()))
        cache = state["cache"]
        if key not in cache:
            raw = super()._foreground(state, settings)
            cache[key] = typical_radius(raw, self.min_area)
        return cache[key]

    def _smoothed(self, state: State, sigma: float) -> State:
        """The prepared state of the image smoothed with a Gaussian of ``sigma`` px (cached)."""
        key = ("smoothed", round(sigma, 1))
        cache = state["cache"]
        if key not in cache:
            gray = cv2.GaussianBlur(state["gray"].astype(np.float32), (0, 0), key[1])
            cache[key] = {"gray": gray, "noise": noise_sigma(gray), "cache": {}, "meta": {}}
        return cache[key]

    def _foreground(self, state: State, settings: dict[str, Any]) -> np.ndarray:
        radius = self._radius(state, settings)
        sigma = min(self.smooth * radius, MAX_SMOOTH) if self.smooth_px is None else self.smooth_px
        found = state if sigma < 0.5 else self._smoothed(state, sigma)
        foreground = super()._foreground(found, settings)
        state["meta"] = {**found["meta"], "radius": radius, "smooth": sigma}
        return foreground

    def _segment(self, state: State) -> tuple[np.ndarray, int]:
        foreground = self._foreground(state, self.settings)
        components, count = connected_regions(foreground, self.min_area)
        if count == 0:
            return components, 0
        foreground = components > 0
        if self.markers == "distance":
            radius = state["meta"]["radius"]
            spacing = self.min_distance_px or max(1, round(self.min_distance * radius))
            state["meta"]["min_distance"] = spacing
            dynamic = self.dynamic * radius
            markers, relief = _distance_markers(
                foreground, components, spacing, self.min_radius, dynamic
            )
        else:
            markers, relief = _gradient_markers(foreground, state["gray"], self.gradient_level)
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
