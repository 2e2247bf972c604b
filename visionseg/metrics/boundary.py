"""Boundary F1 (the BF score of Csurka et al., 2013) with a pixel tolerance.

The boundary of a class is the set of its pixels with a 4-neighbour of another class
inside the image. Pixels the ground truth ignores (255) are neither the class nor another
class: they are never boundary pixels and create none next to them, in the ground truth
and the prediction alike, so an ignore region adds no edges that always match.

A predicted boundary pixel is correct when a ground-truth boundary pixel of the same class
lies within ``tolerance`` pixels (Euclidean), and a ground-truth boundary pixel is found
when a predicted one lies within the tolerance. Per image and class, F1 = 2PR / (P + R)
(0 when only one side has a boundary, none when neither has).

Two split figures: the **BF score** of Csurka et al. averages per-image scores (an image's
score is the mean over its classes with a boundary on either side); the **pooled** F1 sums
the pixel counts over the split per class first. Only the first carries the paper's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from visionseg.metrics.ratios import nanmean, ratio

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def boundary_map(binary: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Pixels of ``binary`` with a 4-neighbour of another class (inside the image).

    With ``valid``, pixels outside it (ignored) are neither in ``binary`` nor another
    class: they are no boundary pixels and make none of their neighbours one.
    """
    binary = np.asarray(binary, dtype=bool)
    other = ~binary if valid is None else (valid & ~binary)
    grown = cv2.dilate(other.astype(np.uint8), _CROSS, borderType=cv2.BORDER_CONSTANT,
                       borderValue=0)
    edge = binary & (grown > 0)
    return edge if valid is None else edge & valid


def tolerance_kernel(tolerance: float) -> np.ndarray:
    """Structuring element of all integer offsets within Euclidean distance ``tolerance``."""
    r = int(np.floor(tolerance))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return ((xx**2 + yy**2) <= tolerance**2 + 1e-9).astype(np.uint8)


class BoundaryTarget:
    """Ground-truth boundaries of one image per class, with their tolerance bands.

    Built once per image and shared by every method evaluated on it.
    """

    def __init__(
        self, mask: np.ndarray, num_classes: int, kernel: np.ndarray, valid: np.ndarray | None
    ) -> None:
        self.kernel = kernel
        self.valid = valid
        self.boundaries: list[np.ndarray | None] = [None]
        self.bands: list[np.ndarray | None] = [None]
        for class_id in range(1, num_classes):
            binary = mask == class_id
            edge = boundary_map(binary, valid) if binary.any() else None
            if edge is not None and not edge.any():
                edge = None
            self.boundaries.append(edge)
            self.bands.append(None if edge is None
                              else cv2.dilate(edge.astype(np.uint8), kernel) > 0)


@dataclass
class ClassBoundary:
    f1: float  # mean over the images where the class has a boundary on either side
    images: int
    pooled_precision: float
    pooled_recall: float
    pooled_f1: float


@dataclass
class BoundaryFigures:
    tolerance: float
    f1: float  # BF score (Csurka et al.): mean over images of each image's mean class F1
    images: int  # images with a defect boundary on either side
    pooled_f1: float  # mean over classes of the F1 of pixel counts summed over the split
    per_class: dict[str, ClassBoundary]


class BoundaryF1:
    """Boundary figures over a split: per-image scores and pooled counts, per class."""

    def __init__(self, num_classes: int, tolerance: float = 2.0) -> None:
        self.num_classes = num_classes
        self.tolerance = float(tolerance)
        self.kernel = tolerance_kernel(tolerance)
        # pooled pixel counts per class: predicted, predicted correct, true, true found
        self.counts = np.zeros((num_classes, 4), np.int64)
        self.f1_sum = np.zeros(num_classes)
        self.f1_images = np.zeros(num_classes, np.int64)
        self.image_sum = 0.0
        self.images = 0

    def target(self, gt_mask: np.ndarray, valid: np.ndarray | None = None) -> BoundaryTarget:
        return BoundaryTarget(gt_mask, self.num_classes, self.kernel, valid)

    def image_counts(self, target: BoundaryTarget, pred_mask: np.ndarray) -> np.ndarray:
        """``num_classes x 4`` counts of one image (predicted, correct, true, found)."""
        counts = np.zeros((self.num_classes, 4), np.int64)
        for c in range(1, self.num_classes):
            gt_edge = target.boundaries[c]
            binary = pred_mask == c
            if gt_edge is None and not binary.any():
                continue
            pred_edge = boundary_map(binary, target.valid)
            counts[c, 0] = pred_edge.sum()
            if gt_edge is not None:
                counts[c, 1] = (pred_edge & target.bands[c]).sum()
                counts[c, 2] = gt_edge.sum()
                if counts[c, 0]:
                    pred_band = cv2.dilate(pred_edge.astype(np.uint8), self.kernel) > 0
                    counts[c, 3] = (gt_edge & pred_band).sum()
        return counts

    def update(self, target: BoundaryTarget, pred_mask: np.ndarray) -> float:
        """Add one image; returns its BF score (mean F1 of its classes with a boundary)."""
        counts = self.image_counts(target, pred_mask)
        self.counts += counts
        f1 = np.array([boundary_f1_from_counts(*counts[c]) for c in range(self.num_classes)])
        f1[0] = np.nan
        defined = ~np.isnan(f1)
        self.f1_sum[defined] += f1[defined]
        self.f1_images += defined
        if not defined.any():
            return float("nan")
        score = float(f1[defined].mean())
        self.image_sum += score
        self.images += 1
        return score

    def summary(self, class_names: Sequence[str]) -> BoundaryFigures:
        per_class = {}
        pooled = []
        for c in range(1, self.num_classes):
            pred_total, pred_correct, gt_total, gt_found = self.counts[c]
            f1 = boundary_f1_from_counts(*self.counts[c])
            pooled.append(f1)
            n = int(self.f1_images[c])
            per_class[class_names[c]] = ClassBoundary(
                f1=float(self.f1_sum[c] / n) if n else float("nan"),
                images=n,
                pooled_precision=ratio(pred_correct, pred_total),
                pooled_recall=ratio(gt_found, gt_total),
                pooled_f1=f1,
            )
        return BoundaryFigures(
            tolerance=self.tolerance,
            f1=self.image_sum / self.images if self.images else float("nan"),
            images=self.images,
            pooled_f1=nanmean(pooled),
            per_class=per_class,
        )


def boundary_f1_from_counts(pred_total, pred_correct, gt_total, gt_found) -> float:
    """F1 of boundary precision and recall; 0 when only one side has a boundary, NaN if neither."""
    if pred_total == 0 and gt_total == 0:
        return float("nan")
    if pred_total == 0 or gt_total == 0:
        return 0.0
    p = pred_correct / pred_total
    r = gt_found / gt_total
    return float(2 * p * r / (p + r)) if p + r > 0 else 0.0
