"""Per-image IoU and Dice, kept apart from the split-wide confusion-matrix figures.

Each image's confusion counts are reduced by :func:`visionseg.metrics.confusion.reduce_confusion`,
the same function as the split-wide counts. A class absent from both an image's ground
truth and its prediction has no IoU on that image and is left out of that image's mean; an
image where no defect class appears on either side has no per-image defect mIoU at all.
Averaging over images weighs every image equally, which the split-wide figures do not:
both are reported, separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from visionseg.metrics.confusion import PixelScores


@dataclass
class ClassPerImage:
    iou: float  # mean over the images where the class appears in truth or prediction
    dice: float
    images: int


@dataclass
class PerImageFigures:
    defect_miou: float  # mean over images with a defect class on either side
    defect_mdice: float
    images: int
    per_class: dict[str, ClassPerImage]

    def to_json(self) -> dict[str, Any]:
        return {
            "defect_mIoU": self.defect_miou,
            "defect_mDice": self.defect_mdice,
            "images": self.images,
            "per_class": {k: vars(v).copy() for k, v in self.per_class.items()},
        }


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

    def update(self, scores: PixelScores) -> None:
        defined = ~np.isnan(scores.iou)
        self.sum_iou[defined] += scores.iou[defined]
        self.sum_dice[defined] += scores.dice[defined]
        self.n_class += defined
        if not np.isnan(scores.defect_miou):
            self.sum_miou += scores.defect_miou
            self.sum_mdice += scores.defect_mdice
            self.n_images += 1

    def summary(self, class_names: Sequence[str]) -> PerImageFigures:
        n = np.maximum(self.n_class, 1)
        iou = np.where(self.n_class > 0, self.sum_iou / n, np.nan)
        dice = np.where(self.n_class > 0, self.sum_dice / n, np.nan)
        images = self.n_images
        return PerImageFigures(
            defect_miou=self.sum_miou / images if images else float("nan"),
            defect_mdice=self.sum_mdice / images if images else float("nan"),
            images=images,
            per_class={name: ClassPerImage(float(iou[c]), float(dice[c]), int(self.n_class[c]))
                       for c, name in enumerate(class_names)},
        )
