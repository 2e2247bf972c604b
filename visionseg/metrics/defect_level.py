"""Defect-level recall and precision: connected regions matched to ground-truth regions.

Each defect class is handled on its own: the 8-connected regions of class ``c`` in the
ground truth are matched one-to-one to the regions of class ``c`` in the prediction at
IoU >= 0.5. A ground-truth region is found (recall) when matched; a predicted region is
right (precision) when matched. Size buckets follow COCO: a matched pair counts in the
bucket of its ground-truth region's area (for recall and precision alike), a ground-truth
region or prediction without a match in the bucket of its own area:
``small < thresholds[0] <= medium < thresholds[1] <= large``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from visionseg.core.regions import drop_small, label_components
from visionseg.metrics.matching import greedy_match, pair_iou
from visionseg.metrics.ratios import ratio

SIZE_NAMES = ("small", "medium", "large")


@dataclass
class ClassRegions:
    """Per defect class id: its label image (or None when absent) and region areas."""

    labels: list[np.ndarray | None]
    areas: list[np.ndarray]

    def largest(self) -> int:
        return max((int(a.max()) for a in self.areas if len(a)), default=0)

    def count(self) -> int:
        return sum(len(a) for a in self.areas)


def class_regions(mask: np.ndarray, num_classes: int, min_area: int = 0) -> ClassRegions:
    """8-connected regions of every defect class of ``mask`` (index 0 is unused)."""
    labels: list[np.ndarray | None] = [None]
    areas: list[np.ndarray] = [np.zeros(0, np.int64)]
    for class_id in range(1, num_classes):
        binary = mask == class_id
        if not binary.any():
            labels.append(None)
            areas.append(np.zeros(0, np.int64))
            continue
        lab, area = drop_small(*label_components(binary), min_area)
        labels.append(lab if len(area) else None)
        areas.append(area)
    return ClassRegions(labels, areas)


def size_buckets(areas: np.ndarray, thresholds: Sequence[int]) -> np.ndarray:
    """Bucket index of each area: 0 small, 1 medium, 2 large."""
    return np.searchsorted(np.asarray(thresholds), np.asarray(areas), side="right")


class DefectCounts:
    """Region counts over a split, by class and size bucket.

    ``gt_total``/``gt_found`` count ground-truth regions and the matched ones;
    ``pred_total``/``pred_correct`` the same for predicted regions. Arrays are
    ``num_classes x 3`` (row 0, background, stays zero).
    """

    def __init__(
        self,
        num_classes: int,
        size_thresholds: Sequence[int] = (50, 500),
        iou_threshold: float = 0.5,
    ) -> None:
        if len(size_thresholds) != 2 or size_thresholds[0] > size_thresholds[1]:
            raise ValueError(f"size_thresholds must be two increasing areas, got {size_thresholds}")
        self.num_classes = num_classes
        self.size_thresholds = tuple(int(t) for t in size_thresholds)
        self.iou_threshold = iou_threshold
        shape = (num_classes, len(SIZE_NAMES))
        self.gt_total = np.zeros(shape, np.int64)
        self.gt_found = np.zeros(shape, np.int64)
        self.pred_total = np.zeros(shape, np.int64)
        self.pred_correct = np.zeros(shape, np.int64)

    def update(self, gt: ClassRegions, pred: ClassRegions) -> dict[str, int]:
        """Match one image's regions; returns its counts ``{"gt", "pred", "matched"}``."""
        matched_total = 0
        for c in range(1, self.num_classes):
            g_area, p_area = gt.areas[c], pred.areas[c]
            g_bucket = size_buckets(g_area, self.size_thresholds)
            p_bucket = size_buckets(p_area, self.size_thresholds)
            pairs = []
            if len(g_area) and len(p_area):
                iou = pair_iou(gt.labels[c], len(g_area), pred.labels[c], len(p_area))
                pairs = greedy_match(iou, self.iou_threshold)
            if pairs:
                g_idx, p_idx = np.array(pairs).T
                p_bucket[p_idx] = g_bucket[g_idx]  # a match counts where its truth is
                np.add.at(self.gt_found[c], g_bucket[g_idx], 1)
                np.add.at(self.pred_correct[c], p_bucket[p_idx], 1)
                matched_total += len(pairs)
            np.add.at(self.gt_total[c], g_bucket, 1)
            np.add.at(self.pred_total[c], p_bucket, 1)
        return {"gt": gt.count(), "pred": pred.count(), "matched": matched_total}

    def summary(self, class_names: Sequence[str]) -> DefectLevelFigures:
        """Recall/precision overall, per class, by size, and per class and size (NaN if none)."""
        defect = slice(1, self.num_classes)
        gt_t, gt_f = self.gt_total[defect], self.gt_found[defect]
        pr_t, pr_c = self.pred_total[defect], self.pred_correct[defect]
        per_class = {}
        for k, name in enumerate(class_names[1:]):
            per_class[name] = ClassDefectFigures(
                **vars(RegionFigures.of(gt_t[k].sum(), gt_f[k].sum(), pr_t[k].sum(),
                                        pr_c[k].sum())),
                by_size={size: RegionFigures.of(gt_t[k, s], gt_f[k, s], pr_t[k, s], pr_c[k, s])
                         for s, size in enumerate(SIZE_NAMES)},
            )
        by_size = {
            size: RegionFigures.of(gt_t[:, s].sum(), gt_f[:, s].sum(), pr_t[:, s].sum(),
                                   pr_c[:, s].sum())
            for s, size in enumerate(SIZE_NAMES)
        }
        return DefectLevelFigures(
            **vars(RegionFigures.of(gt_t.sum(), gt_f.sum(), pr_t.sum(), pr_c.sum())),
            per_class=per_class,
            by_size=by_size,
            size_thresholds=list(self.size_thresholds),
            iou_threshold=self.iou_threshold,
        )


@dataclass
class RegionFigures:
    """Region counts and the recall/precision they give (NaN without regions)."""

    recall: float
    precision: float
    gt_regions: int
    found: int
    pred_regions: int
    correct: int

    @classmethod
    def of(cls, gt_total, gt_found, pred_total, pred_correct) -> RegionFigures:
        gt_total, gt_found = int(gt_total), int(gt_found)
        pred_total, pred_correct = int(pred_total), int(pred_correct)
        return cls(
            recall=ratio(gt_found, gt_total),
            precision=ratio(pred_correct, pred_total),
            gt_regions=gt_total,
            found=gt_found,
            pred_regions=pred_total,
            correct=pred_correct,
        )


@dataclass
class ClassDefectFigures(RegionFigures):
    by_size: dict[str, RegionFigures]


@dataclass
class DefectLevelFigures(RegionFigures):
    per_class: dict[str, ClassDefectFigures]
    by_size: dict[str, RegionFigures]
    size_thresholds: list[int]
    iou_threshold: float
