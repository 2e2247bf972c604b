"""Boundary F1 (the BF score of Csurka et al., 2013) with a pixel tolerance.

The boundary of a class is the set of its pixels with a 4-neighbour of another class
(the image edge is not a boundary). A predicted boundary pixel is correct when a
ground-truth boundary pixel of the same class lies within ``tolerance`` pixels (Euclidean),
and a ground-truth boundary pixel is found when a predicted one lies within the tolerance.
Counts are summed over the split per class; F1 = 2PR / (P + R).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def boundary_map(binary: np.ndarray) -> np.ndarray:
    """Boolean map of the pixels of ``binary`` that touch a pixel outside it (4-neighbours)."""
    binary = np.ascontiguousarray(binary, dtype=np.uint8)
    eroded = cv2.erode(binary, _CROSS, borderType=cv2.BORDER_REPLICATE)
    return (binary > 0) & (eroded == 0)


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
            if not binary.any():
                self.boundaries.append(None)
                self.bands.append(None)
                continue
            edge = boundary_map(binary)
            if valid is not None:
                edge &= valid
            self.boundaries.append(edge)
            self.bands.append(cv2.dilate(edge.astype(np.uint8), kernel) > 0)


class BoundaryF1:
    """Boundary pixel counts over a split, per class (index 0 unused)."""

    def __init__(self, num_classes: int, tolerance: float = 2.0) -> None:
        self.num_classes = num_classes
        self.tolerance = float(tolerance)
        self.kernel = tolerance_kernel(tolerance)
        self.pred_total = np.zeros(num_classes, np.int64)
        self.pred_correct = np.zeros(num_classes, np.int64)
        self.gt_total = np.zeros(num_classes, np.int64)
        self.gt_found = np.zeros(num_classes, np.int64)

    def target(self, gt_mask: np.ndarray, valid: np.ndarray | None = None) -> BoundaryTarget:
        return BoundaryTarget(gt_mask, self.num_classes, self.kernel, valid)

    def update(self, target: BoundaryTarget, pred_mask: np.ndarray) -> float:
        """Add one image; returns its own boundary F1 averaged over the classes present."""
        scores = []
        for c in range(1, self.num_classes):
            gt_edge = target.boundaries[c]
            binary = pred_mask == c
            if gt_edge is None and not binary.any():
                continue
            pred_edge = boundary_map(binary)
            if target.valid is not None:
                pred_edge &= target.valid
            counts = np.zeros(4, np.int64)
            counts[0] = pred_edge.sum()
            if gt_edge is not None:
                counts[1] = (pred_edge & target.bands[c]).sum()
                counts[2] = gt_edge.sum()
                if counts[0]:
                    pred_band = cv2.dilate(pred_edge.astype(np.uint8), self.kernel) > 0
                    counts[3] = (gt_edge & pred_band).sum()
            self.pred_total[c] += counts[0]
            self.pred_correct[c] += counts[1]
            self.gt_total[c] += counts[2]
            self.gt_found[c] += counts[3]
            f1 = boundary_f1_from_counts(*counts)
            if not np.isnan(f1):
                scores.append(f1)
        return float(np.mean(scores)) if scores else float("nan")

    def summary(self, class_names: Sequence[str]) -> dict[str, Any]:
        per_class = {}
        f1s = []
        for c in range(1, self.num_classes):
            counts = (self.pred_total[c], self.pred_correct[c], self.gt_total[c], self.gt_found[c])
            f1 = boundary_f1_from_counts(*counts)
            per_class[class_names[c]] = {
                "precision": _ratio(counts[1], counts[0]),
                "recall": _ratio(counts[3], counts[2]),
                "f1": f1,
            }
            f1s.append(f1)
        valid = [f for f in f1s if not np.isnan(f)]
        return {
            "tolerance": self.tolerance,
            "mean_f1": float(np.mean(valid)) if valid else float("nan"),
            "per_class": per_class,
        }


def boundary_f1_from_counts(pred_total, pred_correct, gt_total, gt_found) -> float:
    """F1 of boundary precision and recall; 0 when only one side has a boundary, NaN if neither."""
    if pred_total == 0 and gt_total == 0:
        return float("nan")
    if pred_total == 0 or gt_total == 0:
        return 0.0
    p = pred_correct / pred_total
    r = gt_found / gt_total
    return float(2 * p * r / (p + r)) if p + r > 0 else 0.0


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else float("nan")
