"""Shape and colour features of detected regions, and the train label of each region.

These are what the region class rule (:mod:`visionseg.baselines.region_rule`) learns from:
a scratch is long and thin, a spot small, round and dark, a stain large and coloured.
All sums are taken with ``np.bincount`` over the region pixels only, so the cost grows
with the detected area, not with the number of regions.
"""

from __future__ import annotations

import cv2
import numpy as np

from visionseg.baselines.flatten import background_small

FEATURE_NAMES = (
    "log_rel_area",  # log of area / image area
    "log_elongation",  # log of major / minor axis (second moments)
    "fill",  # area / area of the moment ellipse: ~1 filled ellipse, lower for curved shapes
    "dL",  # mean L* minus background L* (CIELAB)
    "da",  # mean a* minus background a*
    "db",  # mean b* minus background b*
    "chroma",  # sqrt(da^2 + db^2)
)
PIXEL_VAR = 1.0 / 12.0  # second moment of one pixel: keeps 1 px lines finite


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def region_pixels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and region id of every labelled pixel (``cv2.findNonZero``: fast)."""
    points = cv2.findNonZero((labels > 0).view(np.uint8))
    if points is None:
        empty = np.zeros(0, np.intp)
        return empty, empty, np.zeros(0, labels.dtype)
    points = points.reshape(-1, 2)
    ys, xs = points[:, 1], points[:, 0]
    return ys, xs, labels[ys, xs]


def region_features(
    image: np.ndarray,
    labels: np.ndarray,
    count: int,
    sigma_frac: float = 0.1,
    pixels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``count x len(FEATURE_NAMES)`` features of regions ``1..count`` of a label image.

    Colour is compared with a smooth background colour at each region's centroid (blur
    sigma ``sigma_frac`` of the shorter side, on a downscaled copy), so uneven lighting
    does not shift it.
    """
    if count == 0:
        return np.zeros((0, len(FEATURE_NAMES)), np.float64)
    h, w = labels.shape[:2]
    rows, cols, ids = region_pixels(labels) if pixels is None else pixels
    xs, ys = cols.astype(np.float64), rows.astype(np.float64)
    size = count + 1
    n = np.bincount(ids, minlength=size)[1:].astype(np.float64)
    n_safe = np.maximum(n, 1.0)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(ids, weights=values, minlength=size)[1:] / n_safe

    mx, my = mean(xs), mean(ys)
    cxx = mean(xs * xs) - mx**2 + PIXEL_VAR
    cyy = mean(ys * ys) - my**2 + PIXEL_VAR
    cxy = mean(xs * ys) - mx * my
    half = (cxx + cyy) / 2.0
    root = np.sqrt(((cxx - cyy) / 2.0) ** 2 + cxy**2)
    major = np.maximum(half + root, PIXEL_VAR)
    minor = np.maximum(half - root, PIXEL_VAR)

    colours = _lab(image[rows, cols][None])[0].astype(np.float64)
    region_lab = np.stack([mean(colours[:, c]) for c in range(3)], axis=1)
    bg_rgb, factor = background_small(image, sigma_frac)
    bg_small = _lab(bg_rgb)
    sy = np.clip((my // factor).astype(int), 0, bg_small.shape[0] - 1)
    sx = np.clip((mx // factor).astype(int), 0, bg_small.shape[1] - 1)
    delta = region_lab - bg_small[sy, sx].astype(np.float64)

    return np.column_stack(
        [
            np.log(n_safe / (h * w)),
            0.5 * np.log(major / minor),
            n / (4.0 * np.pi * np.sqrt(major * minor)),
            delta,
            np.hypot(delta[:, 1], delta[:, 2]),
        ]
    )


def region_truth_counts(
    labels: np.ndarray, count: int, truth: np.ndarray, num_classes: int, ignore_index: int = 255
) -> np.ndarray:
    """``count x num_classes``: ground-truth pixels of each class inside each region.

    Ignored pixels (and any id of ``num_classes`` or more) are left out.
    """
    if ignore_index < num_classes:
        raise ValueError(f"ignore index {ignore_index} collides with a class id")
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    pairs = flat[idx].astype(np.int64) * 256 + truth.ravel()[idx]
    table = np.bincount(pairs, minlength=(count + 1) * 256).reshape(count + 1, 256)[1:]
    return table[:, :num_classes]


def region_majority(
    labels: np.ndarray, count: int, truth: np.ndarray, num_classes: int, ignore_index: int = 255
) -> np.ndarray:
    """Ground-truth class covering most of each region's pixels (``-1``: all ignored).

    Background counts as a class: a region lying mostly on background is labelled 0,
    which is how the rule learns to drop false detections.
    """
    return majority_of(region_truth_counts(labels, count, truth, num_classes, ignore_index))


def majority_of(votes: np.ndarray) -> np.ndarray:
    """Row-wise argmax of a region x class count table; ``-1`` for rows with no count."""
    majority = votes.argmax(axis=1)
    majority[votes.sum(axis=1) == 0] = -1
    return majority
