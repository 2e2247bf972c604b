"""Per-image IoU and Dice, kept apart from the split-wide confusion-matrix figures.

A class absent from both an image's ground truth and its prediction has no IoU on that
image (NaN) and is left out of that image's mean; an image where no defect class appears
on either side has no per-image mIoU at all. Averaging such values over images weighs
every image equally, which the split-wide figures do not: both are reported, separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def image_scores(counts: np.ndarray) -> dict[str, np.ndarray | float]:
    """Per-class ``iou``/``dice`` arrays of one image's confusion counts, and defect means."""
    counts = np.asarray(counts, dtype=np.float64)
    tp = np.diag(counts)
    fp = counts.sum(axis=0) - tp
    fn = counts.sum(axis=1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / (tp + fp + fn)
        dice = 2 * tp / (2 * tp + fp + fn)
    return {"iou": iou, "dice": dice, "mIoU": _nanmean(iou[1:]), "mDice": _nanmean(dice[1:])}


class PerImageMeans:
    """Running means over images of per-image IoU, Dice (per class and defect means)."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.sum_iou = np.zeros(num_classes)
        self.sum_dice = np.zeros(num_classes)
        self.n_class = np.zeros(num_classes, np.int64)
        self.sum_miou = 0.0
        self.sum_mdice = 0.0
        self.n_images = 0

    def update(self, scores: dict[str, Any]) -> None:
        defined = ~np.isnan(scores["iou"])
        self.sum_iou[defined] += scores["iou"][defined]
        self.sum_dice[defined] += scores["dice"][defined]
        self.n_class += defined
        if not np.isnan(scores["mIoU"]):
            self.sum_miou += scores["mIoU"]
            self.sum_mdice += scores["mDice"]
            self.n_images += 1

    def summary(self, class_names: Sequence[str]) -> dict[str, Any]:
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(self.n_class > 0, self.sum_iou / np.maximum(self.n_class, 1), np.nan)
            dice = np.where(self.n_class > 0, self.sum_dice / np.maximum(self.n_class, 1), np.nan)
        return {
            "mIoU": self.sum_miou / self.n_images if self.n_images else float("nan"),
            "mDice": self.sum_mdice / self.n_images if self.n_images else float("nan"),
            "images": self.n_images,
            "per_class": {
                name: {"iou": float(iou[c]), "dice": float(dice[c]), "images": int(self.n_class[c])}
                for c, name in enumerate(class_names)
            },
        }


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")
