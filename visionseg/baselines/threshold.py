"""Threshold baselines: Otsu, multi-Otsu and adaptive (local) thresholding.

Without a train split each is the textbook method on the grey image:

- ``otsu``: one global Otsu threshold (``skimage.filters.threshold_otsu``); the objects
  are the side of it holding fewer pixels (``polarity: auto``), or the side given.
- ``multi_otsu``: ``threshold_multiotsu`` into ``levels`` classes; the class holding most
  pixels is the background, every other class (on the ``polarity`` side) is foreground:
  for bright nuclei on a dark background that is ``image > thresholds[0]``, as in the
  scikit-image gallery.
- ``adaptive``: a pixel is foreground where it differs from the mean of its
  neighbourhood (``cv2.adaptiveThreshold``) by more than an offset.

``fit`` may switch on what helps on factory images, only when it scores better on the
train split (:class:`~visionseg.baselines.base.RegionBaseline`): background flattening
(``flatten_sigma``: the grey image minus a wide Gaussian blur, so a lit-from-one-side part
does not read as a defect), a contrast floor (``min_contrast``: the threshold is at least
that many pixel-noise sigmas from the background) and the polarity. An image with a
single grey level raises :class:`~visionseg.baselines.base.BaselineError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import cv2
import numpy as np
from skimage.filters import threshold_multiotsu, threshold_otsu
from sklearn.base import ClassifierMixin

from visionseg.baselines.base import (
    BaselineError,
    RegionBaseline,
    State,
    check_choice,
)
from visionseg.baselines.flatten import background, noise_sigma
from visionseg.core.checks import check_int, check_number

POLARITIES = ("auto", "dark", "bright", "both")
CONTRAST_FLOORS = (0.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
FLATTEN_SIGMAS = (0.0, 0.1)
MIN_OFFSET = 1.0  # grey levels: the smallest adaptive offset


def histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """256-bin histogram ``(counts, bin_centres)`` of float data, for skimage's ``hist=``.

    Same bins as skimage's own (256 over the data range), but quantised with OpenCV in
    one pass: several times faster than ``np.histogram`` on large float images.
    """
    low, high, _, _ = cv2.minMaxLoc(values)
    if high <= low:
        raise BaselineError("the deviation map is flat: nothing to threshold")
    scale = 255.0 / (high - low)
    codes = cv2.convertScaleAbs(values, alpha=scale, beta=-low * scale)
    counts = cv2.calcHist([codes], [0], None, [256], [0, 256]).ravel()
    return counts, low + np.arange(256) / scale


def grey(image: np.ndarray) -> np.ndarray:
    """Grey image (ITU-R 601 luma, as ``skimage.color.rgb2gray`` up to rounding) or an error."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    low, high, _, _ = cv2.minMaxLoc(gray)
    if low == high:
        raise BaselineError(f"the image has a single grey level ({int(low)}): nothing to threshold")
    return gray


def minority_side(above: int, total: int) -> str:
    """``bright`` when at most half the pixels lie above the threshold, else ``dark``."""
    return "bright" if 2 * above <= total else "dark"


class ThresholdBaseline(RegionBaseline):
    """Shared settings of the threshold baselines: polarity, contrast floor, flattening."""

    tunable: ClassVar[dict[str, tuple[Any, tuple]]] = {
        "polarity": ("auto", POLARITIES),
        "min_contrast": (0.0, CONTRAST_FLOORS),
        "flatten_sigma": (0.0, FLATTEN_SIGMAS),
    }

    def __init__(
        self,
        classes: Sequence[str],
        name: str,
        polarity: str | None = None,
        min_contrast: float | None = None,
        flatten_sigma: float | None = None,
        min_area: int = 4,
        classify: bool | None = None,
        classifier: ClassifierMixin | None = None,
        max_fit_images: int | None = 500,
        extra_settings: dict[str, Any] | None = None,
    ) -> None:
        check_choice("polarity", polarity, POLARITIES)
        check_number("min_contrast", min_contrast, 0.0, optional=True, maximum=100.0)
        check_number("flatten_sigma", flatten_sigma, 0.0, optional=True, maximum=1.0)
        super().__init__(
            classes,
            name,
            {
                "polarity": polarity,
                "min_contrast": min_contrast,
                "flatten_sigma": flatten_sigma,
                **(extra_settings or {}),
            },
            min_area=min_area,
            classify=classify,
            classifier=classifier,
            max_fit_images=max_fit_images,
        )

    def _prepare(self, image: np.ndarray) -> State:
        gray = grey(image)
        return {"gray": gray, "noise": noise_sigma(gray), "cache": {}, "meta": {}}

    @staticmethod
    def deviation(state: State, sigma: float) -> np.ndarray:
        """Grey image minus its flattened background (``sigma > 0``) or its median (``0``)."""
        cache = state["cache"]
        if ("deviation", sigma) not in cache:
            values = state["gray"].astype(np.float32)
            base = background(values, sigma) if sigma > 0 else np.float32(np.median(values))
            cache[("deviation", sigma)] = values - base
        return cache[("deviation", sigma)]


class OtsuBaseline(ThresholdBaseline):
    """Otsu's global threshold; polarity, flattening and a contrast floor as fitted."""

    def __init__(self, classes: Sequence[str], name: str = "otsu", **kwargs: Any) -> None:
        super().__init__(classes, name, **kwargs)

    @staticmethod
    def _otsu(state: State, sigma: float, absolute: bool) -> float:
        """Otsu threshold of the deviation (or its magnitude), cached per image."""
        key = ("otsu", sigma, absolute)
        cache = state["cache"]
        if key not in cache:
            dev = ThresholdBaseline.deviation(state, sigma)
            if absolute:
                cache[key] = float(threshold_otsu(hist=histogram(np.abs(dev))))
            elif sigma > 0:
                cache[key] = float(threshold_otsu(hist=histogram(dev)))
            else:  # exactly scikit-image's threshold on the integer grey image
                cache[key] = float(threshold_otsu(state["gray"])) - float(np.median(state["gray"]))
        return cache[key]

    def _foreground(self, state: State, settings: dict[str, Any]) -> np.ndarray:
        sigma, polarity = settings["flatten_sigma"], settings["polarity"]
        dev = self.deviation(state, sigma)
        floor = settings["min_contrast"] * state["noise"]
        if polarity == "both":
            otsu = self._otsu(state, sigma, absolute=True)
            state["meta"] = {"threshold": max(otsu, floor), "polarity": polarity}
            return np.abs(dev) > max(otsu, floor)
        otsu = self._otsu(state, sigma, absolute=False)
        if polarity == "auto":
            polarity = minority_side(int(np.count_nonzero(dev > otsu)), dev.size)
        state["meta"] = {"otsu": otsu, "polarity": polarity, "noise_sigma": state["noise"]}
        if polarity == "bright":
            return dev > max(otsu, floor)
        return dev <= min(otsu, -floor)


class MultiOtsuBaseline(ThresholdBaseline):
    """Multi-Otsu classes; the most populous is background, the others on ``polarity``'s side
    are foreground (``auto`` and ``both``: every other class)."""

    def __init__(
        self, classes: Sequence[str], name: str = "multi_otsu", levels: int = 3, **kwargs: Any
    ) -> None:
        check_int("levels", levels, 2, optional=True, maximum=8)
        super().__init__(classes, name, **kwargs)
        self.levels = int(levels)

    def _classes(self, state: State, sigma: float) -> tuple[np.ndarray, int]:
        """Class index of every pixel and the background class, cached per image."""
        key = ("multiotsu", sigma)
        cache = state["cache"]
        if key not in cache:
            dev = self.deviation(state, sigma)
            try:
                if sigma > 0:
                    thresholds = threshold_multiotsu(hist=histogram(dev), classes=self.levels)
                else:
                    median = float(np.median(state["gray"]))
                    thresholds = threshold_multiotsu(state["gray"], classes=self.levels) - median
            except ValueError as err:
                raise BaselineError(f"multi-Otsu with {self.levels} levels: {err}") from err
            index = np.digitize(dev, thresholds, right=True).astype(np.uint8)
            counts = np.bincount(index.ravel(), minlength=self.levels)
            cache[key] = (index, int(counts.argmax()), [float(t) for t in thresholds])
        return cache[key]

    def _foreground(self, state: State, settings: dict[str, Any]) -> np.ndarray:
        sigma, polarity = settings["flatten_sigma"], settings["polarity"]
        index, base, thresholds = self._classes(state, sigma)
        dev = self.deviation(state, sigma)
        floor = settings["min_contrast"] * state["noise"]
        state["meta"] = {"thresholds": thresholds, "background_class": base}
        dark = index < base
        bright = index > base
        if floor > 0:
            dark &= dev <= -floor
            bright &= dev > floor
        if polarity == "dark":
            return dark
        if polarity == "bright":
            return bright
        return dark | bright


class AdaptiveBaseline(ThresholdBaseline):
    """Local thresholding (``cv2.adaptiveThreshold``): foreground where a pixel differs from
    its neighbourhood mean by more than an offset.

    ``block`` is the neighbourhood side as a fraction of the shorter image side (made odd);
    ``method`` is ``mean`` (box window) or ``gaussian``. The offset scales with the image's
    own contrast: ``offset`` times the gap between the two class means of the global Otsu
    split, at least ``min_contrast`` noise sigmas and one grey level. ``polarity: auto``
    takes the side of the global Otsu threshold holding fewer pixels. No flattening: the
    local mean follows the lighting.
    """

    METHODS: ClassVar[dict[str, int]] = {
        "mean": cv2.ADAPTIVE_THRESH_MEAN_C,
        "gaussian": cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
    }
    tunable: ClassVar[dict[str, tuple[Any, tuple]]] = {
        "polarity": ("auto", POLARITIES),
        "min_contrast": (0.0, CONTRAST_FLOORS),
        "flatten_sigma": (0.0, (0.0,)),
        "block": (0.25, (0.25, 0.5, 0.1, 0.05)),
        "offset": (0.25, (0.25, 0.1, 0.5)),
    }

    def __init__(
        self,
        classes: Sequence[str],
        name: str = "adaptive",
        block: float | None = None,
        offset: float | None = None,
        method: str = "mean",
        **kwargs: Any,
    ) -> None:
        check_choice("method", method, tuple(self.METHODS))
        check_number("block", block, 0.0, optional=True, maximum=1.0)
        check_number("offset", offset, 0.0, optional=True, maximum=1.0)
        extra = {"block": block, "offset": offset}
        super().__init__(classes, name, flatten_sigma=0.0, extra_settings=extra, **kwargs)
        self.method = method

    def _prepare(self, image: np.ndarray) -> State:
        state = super()._prepare(image)
        counts = cv2.calcHist([state["gray"]], [0], None, [256], [0, 256]).ravel()
        levels = np.arange(256, dtype=np.float64)
        used = np.flatnonzero(counts)
        span = slice(used[0], used[-1] + 1)  # skimage's bins for uint8: the used range
        otsu = int(threshold_otsu(hist=(counts[span], levels[span])))
        low, high = counts[: otsu + 1], counts[otsu + 1 :]
        mean_low = float(low @ levels[: otsu + 1] / max(low.sum(), 1))
        mean_high = float(high @ levels[otsu + 1 :] / max(high.sum(), 1))
        state["gap"] = mean_high - mean_low
        state["side"] = minority_side(int(high.sum()), state["gray"].size)
        return state

    def _side(self, gray: np.ndarray, block: int, offset: float) -> np.ndarray:
        return cv2.adaptiveThreshold(
            gray, 1, self.METHODS[self.method], cv2.THRESH_BINARY_INV, block, offset
        ).view(bool)

    def _foreground(self, state: State, settings: dict[str, Any]) -> np.ndarray:
        gray = state["gray"]
        block = max(3, int(settings["block"] * min(gray.shape)) | 1)
        offset = max(
            settings["offset"] * state["gap"],
            settings["min_contrast"] * state["noise"],
            MIN_OFFSET,
        )
        polarity = state["side"] if settings["polarity"] == "auto" else settings["polarity"]
        state["meta"] = {"offset": offset, "block": block, "polarity": polarity}
        if polarity == "dark":
            return self._side(gray, block, offset)
        inverted = cv2.bitwise_not(gray)
        if polarity == "bright":
            return self._side(inverted, block, offset)
        return self._side(gray, block, offset) | self._side(inverted, block, offset)
