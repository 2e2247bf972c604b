"""Tolerant skeleton precision / recall / F1: the figures crack and scratch inspectors read.

For a thin class, 0-px IoU punishes a prediction one pixel beside a 2-px crack as hard as
no prediction at all, and a line drawn 3 px wide by an annotator as much as one drawn 1 px
wide. Crack papers (CrackForest, DeepCrack, CrackTree) therefore thin both masks to 1-px
skeletons and count a skeleton pixel as correct when the other skeleton lies within a
tolerance: a **predicted** skeleton pixel is correct when a ground-truth skeleton pixel lies
within ``k`` px (Euclidean), a **ground-truth** skeleton pixel is found when a predicted one
does. Precision = correct / predicted, recall = found / ground truth, F1 their harmonic
mean, all from pixel counts summed over the split (one figure a class, the pooled "ODS"
form at the method's own threshold). Unlike BSDS's benchmark the match is by distance,
not one-to-one: two parallel predicted lines beside one crack both count as correct.

Two tolerances are reported: a fixed one in pixels (``k``, 2 px by default) and one
relative to the image, ``ratio`` x the image diagonal (0.0075 is the BSDS setting crack
papers quote; about 4 px on a 400 x 400 image). Ground-truth pixels marked ignored are
neither skeleton nor prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.morphology import skeletonize

from visionseg.metrics.ratios import ratio

#: Class names that are thin by default (``metrics.thin_classes: null``), matched as substrings.
THIN_WORDS = ("crack", "scratch")


def thin_class_ids(classes: Sequence[str], thin_classes: Sequence[str] | None) -> list[int]:
    """Indices of the thin classes: the named ones, or (None) the defect classes whose name
    contains one of :data:`THIN_WORDS`. A name that is no class is a ``ValueError``."""
    names = list(classes)
    if thin_classes is None:
        return [i for i, name in enumerate(names) if i > 0
                and any(word in name.lower() for word in THIN_WORDS)]
    unknown = [name for name in thin_classes if name not in names[1:]]
    if unknown:
        raise ValueError(f"{unknown} are not defect classes (classes: {names})")
    return sorted({names.index(name) for name in thin_classes})


def skeleton(binary: np.ndarray) -> np.ndarray:
    """1-px skeleton of a binary mask (scikit-image's Zhang-Suen thinning)."""
    binary = np.asarray(binary, dtype=bool)
    return skeletonize(binary) if binary.any() else binary.copy()


def distance_to(pixels: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest True pixel of ``pixels`` (inf if none)."""
    if not pixels.any():
        return np.full(pixels.shape, np.inf, np.float32)
    return cv2.distanceTransform((~pixels).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def diagonal_tolerance(shape: tuple[int, ...], ratio_of_diagonal: float) -> float:
    """``ratio_of_diagonal`` x the image diagonal, in pixels."""
    return float(ratio_of_diagonal * math.hypot(shape[0], shape[1]))


def skeleton_counts(
    pred_skeleton: np.ndarray, gt_skeleton: np.ndarray, tolerance: float,
    gt_distance: np.ndarray | None = None, pred_distance: np.ndarray | None = None,
) -> np.ndarray:
    """``[predicted, correct, true, found]`` skeleton pixel counts at ``tolerance`` px
    (the distance maps, when given, are those of the two skeletons, computed once)."""
    pred_total, gt_total = int(pred_skeleton.sum()), int(gt_skeleton.sum())
    correct = found = 0
    if pred_total and gt_total:
        gt_distance = distance_to(gt_skeleton) if gt_distance is None else gt_distance
        pred_distance = distance_to(pred_skeleton) if pred_distance is None else pred_distance
        correct = int((pred_skeleton & (gt_distance <= tolerance)).sum())
        found = int((gt_skeleton & (pred_distance <= tolerance)).sum())
    return np.array([pred_total, correct, gt_total, found], np.int64)


class SkeletonTarget:
    """One image's ground-truth skeletons of the thin classes and their distance maps,
    built once and shared by every method evaluated on it."""

    def __init__(self, mask: np.ndarray, class_ids: Sequence[int],
                 valid: np.ndarray | None) -> None:
        self.shape = mask.shape
        self.valid = valid
        self.skeletons: dict[int, np.ndarray] = {}
        self.distances: dict[int, np.ndarray] = {}
        for c in class_ids:
            self.skeletons[c] = skeleton(mask == c)
            self.distances[c] = distance_to(self.skeletons[c])


@dataclass
class TolerantFigures:
    """Skeleton precision, recall and F1 of one class at one tolerance (pooled counts)."""

    precision: float
    recall: float
    f1: float
    predicted_px: int  # predicted skeleton pixels over the split
    true_px: int  # ground-truth skeleton pixels over the split

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> TolerantFigures:
        pred_total, correct, gt_total, found = (int(v) for v in counts)
        p, r = ratio(correct, pred_total), ratio(found, gt_total)
        if pred_total == 0 and gt_total == 0:
            f1 = float("nan")
        elif pred_total == 0 or gt_total == 0:
            f1 = 0.0
        else:
            f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
        return cls(p, r, float(f1), pred_total, gt_total)


@dataclass
class ThinClassFigures:
    """One thin class: the fixed-pixel and the diagonal-relative tolerance."""

    fixed: TolerantFigures
    relative: TolerantFigures


@dataclass
class ThinFigures:
    """Tolerant skeleton figures of the thin classes over a split."""

    tolerance_px: float
    diagonal_ratio: float
    per_class: dict[str, ThinClassFigures]


class SkeletonPRF:
    """Accumulates skeleton pixel counts per thin class at both tolerances."""

    def __init__(self, class_ids: Sequence[int], tolerance_px: float = 2.0,
                 diagonal_ratio: float = 0.0075) -> None:
        self.class_ids = list(class_ids)
        self.tolerance_px = float(tolerance_px)
        self.diagonal_ratio = float(diagonal_ratio)
        self.counts = {c: np.zeros((2, 4), np.int64) for c in self.class_ids}

    def target(self, mask: np.ndarray, valid: np.ndarray | None = None) -> SkeletonTarget:
        return SkeletonTarget(mask, self.class_ids, valid)

    def update(self, target: SkeletonTarget, pred_mask: np.ndarray) -> None:
        """Add one image's prediction (ignored pixels already set to background)."""
        relative = diagonal_tolerance(target.shape, self.diagonal_ratio)
        for c in self.class_ids:
            pred = skeleton(pred_mask == c)
            if target.valid is not None:
                pred &= target.valid
            gt = target.skeletons[c]
            pred_distance = distance_to(pred) if pred.any() and gt.any() else None
            for row, tol in enumerate((self.tolerance_px, relative)):
                self.counts[c][row] += skeleton_counts(pred, gt, tol, target.distances[c],
                                                       pred_distance)

    def summary(self, class_names: Sequence[str]) -> ThinFigures:
        return ThinFigures(
            tolerance_px=self.tolerance_px,
            diagonal_ratio=self.diagonal_ratio,
            per_class={class_names[c]: ThinClassFigures(
                TolerantFigures.from_counts(self.counts[c][0]),
                TolerantFigures.from_counts(self.counts[c][1]))
                for c in self.class_ids},
        )
