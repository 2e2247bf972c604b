"""Real images shipped with scikit-image, ground truths that do not come from the methods
compared, and the plain scikit-image recipes ("textbook references") each baseline must match.

Every image here loads without a download (``skimage.data.coins`` and the texture images
are in the wheel; ``human_mitosis`` and ``cells3d`` need pooch and a network, so the
nuclei case is generated). Ground truths:

- ``coins``: the scikit-image gallery's region-based recipe ("Comparing edge-based and
  region-based segmentation"): Sobel elevation map, markers below 30 (background) and
  above 150 (coins) set by hand, watershed, holes filled; components under 64 px dropped.
  It is a different method from every baseline (hand-set markers on the gradient), and its
  24 coins match the image by eye.
- ``nuclei``: generated fluorescence-like image: bright ellipses of random brightness on a
  dark, unevenly lit background, several touching, blurred, with Poisson and read noise;
  the truth is the drawn ellipses (one instance each).
- ``blobs``: ``skimage.data.binary_blobs`` as grey levels, blurred, with noise.
- ``page``: dark text (``cv2.putText``) on a page lit unevenly, with noise.
- ``scratches_*``: thin lines (1-2 px, 25-40 grey levels) drawn on real textures
  (``brick``, ``gravel``, ``grass``); the truth is the drawn lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage import data
from skimage.feature import peak_local_max
from skimage.filters import (
    apply_hysteresis_threshold,
    gaussian,
    sato,
    sobel,
    threshold_local,
    threshold_multiotsu,
    threshold_otsu,
)
from skimage.morphology import remove_small_objects
from skimage.segmentation import watershed


@dataclass
class Case:
    """One grey image, its truth (instance labels, 0 = background) and object polarity."""

    name: str
    gray: np.ndarray
    truth: np.ndarray
    polarity: str  # "bright" or "dark": what a user following the gallery would know

    @property
    def rgb(self) -> np.ndarray:
        return np.repeat(self.gray[..., None], 3, axis=2)

    @property
    def foreground(self) -> np.ndarray:
        return self.truth > 0


def coins() -> Case:
    image = data.coins()
    markers = np.zeros_like(image)
    markers[image < 30] = 1
    markers[image > 150] = 2
    filled = ndi.binary_fill_holes(watershed(sobel(image), markers) == 2)
    labels, _ = ndi.label(remove_small_objects(filled, max_size=63))
    return Case("coins", image, labels.astype(np.int32), "bright")


def nuclei(seed: int = 0, size: int = 256, count: int = 45) -> Case:
    rng = np.random.default_rng(seed)
    truth = np.zeros((size, size), np.int32)
    signal = np.zeros((size, size), np.float32)
    for index in range(1, count + 1):
        layer = np.zeros((size, size), np.uint8)
        centre = tuple(int(v) for v in rng.uniform(12, size - 12, 2))
        axes = tuple(int(v) for v in rng.uniform(6, 11, 2))
        cv2.ellipse(layer, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        free = (layer > 0) & (truth == 0)
        if free.sum() < 0.6 * (layer > 0).sum():
            continue  # mostly hidden behind earlier nuclei: leave it out
        truth[free] = index
        signal[free] = rng.uniform(70, 170)
    yy, xx = np.mgrid[0:size, 0:size] / size
    lit = 0.75 + 0.25 * np.cos(2.0 * xx + 1.0 * yy)
    image = gaussian(signal, 1.2, preserve_range=True) * lit + 12.0
    image = rng.poisson(image).astype(np.float64) + rng.normal(0, 3, image.shape)
    _, ids = np.unique(truth, return_inverse=True)
    return Case(
        "nuclei", np.clip(image, 0, 255).astype(np.uint8), ids.reshape(truth.shape), "bright"
    )


def blobs(seed: int = 1) -> Case:
    mask = data.binary_blobs(256, blob_size_fraction=0.08, volume_fraction=0.3, rng=seed)
    rng = np.random.default_rng(seed)
    image = gaussian(np.where(mask, 150.0, 90.0), 1.0, preserve_range=True)
    image += rng.normal(0, 14, image.shape)
    labels, _ = ndi.label(mask)
    return Case("blobs", np.clip(image, 0, 255).astype(np.uint8), labels.astype(np.int32), "bright")


def page(seed: int = 2) -> Case:
    rng = np.random.default_rng(seed)
    h, w = 192, 384
    ink = np.zeros((h, w), np.uint8)
    words = ["Otsu 1979", "threshold", "local mean", "scikit-image", "adaptive 35"]
    for row, text in enumerate(words):
        cv2.putText(ink, text, (8, 30 + 36 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 1, 2)
    yy, xx = np.mgrid[0:h, 0:w]
    paper = 215.0 - 110.0 * (xx / w) ** 1.5 - 30.0 * (yy / h)
    image = np.where(ink > 0, 0.45 * paper, paper) + rng.normal(0, 5, (h, w))
    labels, _ = ndi.label(ink > 0)
    return Case("page", np.clip(image, 0, 255).astype(np.uint8), labels.astype(np.int32), "dark")


def scratches(
    texture: str, seed: int = 3, sign: float = -1.0, contrast: tuple[float, float] = (25, 40)
) -> Case:
    """Lines of 1-2 px drawn on a real texture; ``sign`` -1 dark, +1 bright."""
    rng = np.random.default_rng(seed)
    image = getattr(data, texture)().astype(np.float64)
    h, w = image.shape
    truth = np.zeros((h, w), np.int32)
    for index in range(1, 6):
        layer = np.zeros((h, w), np.uint8)
        x0, y0, x1, y1 = (int(v) for v in rng.uniform(0.1, 0.9, 4) * (w, h, w, h))
        cv2.line(layer, (x0, y0), (x1, y1), 1, thickness=int(rng.integers(1, 3)))
        image[layer > 0] += sign * rng.uniform(*contrast)
        truth[layer > 0] = index
    polarity = "dark" if sign < 0 else "bright"
    return Case(f"scratches_{texture}", np.clip(image, 0, 255).astype(np.uint8), truth, polarity)


# -- textbook references: plain scikit-image, parameters as in the gallery ---------------


def side(gray: np.ndarray, threshold: np.ndarray | float, polarity: str) -> np.ndarray:
    return gray > threshold if polarity == "bright" else gray <= threshold


def ref_otsu(case: Case) -> np.ndarray:
    return side(case.gray, threshold_otsu(case.gray), case.polarity)


def ref_multi_otsu(case: Case) -> np.ndarray:
    """Gallery (``human_mitosis``): 3 classes, objects = everything beyond the first threshold
    on the object side."""
    thresholds = threshold_multiotsu(case.gray, classes=3)
    t = thresholds[0] if case.polarity == "bright" else thresholds[-1]
    return side(case.gray, t, case.polarity)


def ref_adaptive(case: Case) -> np.ndarray:
    """Gallery ("Thresholding", ``page``): ``threshold_local(block_size=35, offset=10)``."""
    offset = -10 if case.polarity == "bright" else 10
    return side(case.gray, threshold_local(case.gray, 35, offset=offset), case.polarity)


def ref_watershed(case: Case, sigma: float = 2.0) -> np.ndarray:
    """Gallery watershed recipe: smooth, Otsu, distance-transform peaks, watershed.

    ``min_distance`` is half the median radius of the true objects: a user who looked at
    the image and tuned it, so the bar is set high.
    """
    smooth = gaussian(case.gray.astype(np.float64), sigma, preserve_range=True)
    foreground = side(smooth, threshold_otsu(smooth), case.polarity)
    areas = np.bincount(case.truth.ravel())[1:]
    radius = np.sqrt(np.median(areas[areas > 0]) / np.pi)
    distance = ndi.distance_transform_edt(foreground)
    components, _ = ndi.label(foreground)
    peaks = peak_local_max(
        distance, min_distance=max(1, int(radius / 2)), labels=components, exclude_border=False
    )
    markers = np.zeros(case.gray.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-distance, markers, mask=foreground)


def ref_ridge(case: Case) -> np.ndarray:
    """Sato ridge filter at 1-3 px, hysteresis between half and all of the response's Otsu
    threshold, regions under 10 px dropped."""
    response = sato(
        case.gray.astype(np.float64), sigmas=(1, 2, 3), black_ridges=case.polarity == "dark"
    )
    high = threshold_otsu(response)
    found = apply_hysteresis_threshold(response, 0.5 * high, high)
    return remove_small_objects(found, max_size=9)


# -- scores ---------------------------------------------------------------------------


def iou(found: np.ndarray, truth: np.ndarray) -> float:
    union = np.count_nonzero(found | truth)
    return np.count_nonzero(found & truth) / union if union else 1.0


def instance_f1(labels: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> float:
    """F1 of predicted instances matched one-to-one to true ones at IoU > ``threshold``."""
    pairs = labels.astype(np.int64).ravel() * (int(truth.max()) + 1) + truth.ravel()
    joint = np.bincount(pairs, minlength=(int(labels.max()) + 1) * (int(truth.max()) + 1))
    joint = joint.reshape(int(labels.max()) + 1, int(truth.max()) + 1)[1:, 1:]
    pred_area = np.bincount(labels.ravel())[1:]
    true_area = np.bincount(truth.ravel())[1:]
    pred_n, true_n = int(np.count_nonzero(pred_area)), int(np.count_nonzero(true_area))
    union = pred_area[:, None] + true_area[None, :] - joint
    matches = int(np.count_nonzero(joint > threshold * np.maximum(union, 1)))
    return 2 * matches / (pred_n + true_n) if pred_n + true_n else 1.0


def label_components_count(mask: np.ndarray) -> int:
    """Number of 8-connected regions of a boolean mask."""
    return int(ndi.label(mask, structure=np.ones((3, 3)))[1])
