"""Instance scores of the classical baselines: how clearly each region stands out.

Mask AP ranks instances by score, so a score must order them; a class probability from a
small tree takes a handful of values and leaves the order to file order. Each region's
score here is continuous:

    score = 0.5 + 0.5 * p * z / (z + 3),   z = |mean grey inside - mean grey of its ring| / sigma

where the ring is the background within :data:`RING` px around the region (other regions
left out), ``sigma`` is the image's pixel noise (at least one grey level) and ``p`` is the
region class rule's probability for the region's class (1 without a rule). A region at
3 noise sigmas of contrast with a sure class scores 0.75. Every reported region scores
above 0.5, so an evaluator's usual 0.5 score threshold keeps all of them, as it would
keep regions without scores.
"""

from __future__ import annotations

import cv2
import numpy as np

from visionseg.baselines.flatten import noise_sigma

RING = 3  # px of background around a region compared with its inside
HALF_SCORE_CONTRAST = 3.0  # contrast (noise sigmas) at which z / (z + 3) is 0.5


def region_contrast(gray: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """``|mean inside - mean of the surrounding ring|`` of regions ``1..count``, grey levels.

    A region whose ring is empty (it fills its surroundings) is compared with all
    unlabelled pixels; with none left its contrast is 0. Sums run over region and ring
    pixels only (``cv2.findNonZero``), not the whole image.
    """
    if count == 0:
        return np.zeros(0)
    size = count + 1
    inside_n, inside_sum = _sums(gray, labels, labels > 0, size)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1, 2 * RING + 1))
    grown = cv2.dilate(labels.astype(np.float32), kernel)
    ring_n, ring_sum = _sums(gray, grown, (grown > 0) & (labels == 0), size)
    around = ring_sum / np.maximum(ring_n, 1)
    if not ring_n.all():
        outside = labels == 0
        fallback = float(gray[outside].mean()) if outside.any() else np.nan
        around = np.where(ring_n > 0, around, fallback)
    contrast = np.abs(inside_sum / np.maximum(inside_n, 1) - around)
    return np.nan_to_num(contrast, nan=0.0)


def _sums(
    gray: np.ndarray, ids: np.ndarray, where: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel count and grey sum of each id ``1..size-1`` over the pixels in ``where``."""
    points = cv2.findNonZero(where.view(np.uint8))
    if points is None:
        return np.zeros(size - 1), np.zeros(size - 1)
    points = points.reshape(-1, 2)
    xs, ys = points[:, 0], points[:, 1]
    index = ids[ys, xs].astype(np.int64)
    values = gray[ys, xs].astype(np.float64)
    n = np.bincount(index, minlength=size)[1:]
    return n, np.bincount(index, weights=values, minlength=size)[1:]


def instance_scores(
    gray: np.ndarray, labels: np.ndarray, count: int, probability: np.ndarray
) -> np.ndarray:
    """Scores in [0.5, 1] of regions ``1..count`` (see the module docstring)."""
    sigma = max(noise_sigma(gray), 1.0)
    z = region_contrast(gray, labels, count) / sigma
    strength = z / (z + HALF_SCORE_CONTRAST)
    return 0.5 + 0.5 * np.asarray(probability, np.float64) * strength
