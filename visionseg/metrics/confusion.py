"""Pixel figures: confusion counts, reduced to per-class figures by one function.

The same two steps serve the split-wide figures (counts summed over the split, then
reduced once, as mmsegmentation and smp recommend) and the per-image ones (each image's
counts reduced on their own): :func:`confusion_counts` then :func:`reduce_confusion`.

Naming: "defect mIoU" averages the defect classes (ids >= 1) only; "mIoU (all classes)"
includes background, as mmsegmentation and most papers do. The two are not comparable.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from visionseg.metrics.ratios import nanmean

if TYPE_CHECKING:
    import torch


def confusion_counts(
    pred: np.ndarray | torch.Tensor,
    target: np.ndarray | torch.Tensor,
    num_classes: int,
    ignore_index: int = 255,
) -> np.ndarray:
    """``counts[t, p]``: pixels of true class ``t`` predicted as ``p`` (int64, C x C).

    Pixels whose target equals ``ignore_index`` are skipped. Accepts numpy arrays or torch
    tensors (on any device) of class ids.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target {tuple(target.shape)}")
    if _is_tensor(pred):
        import torch

        target = torch.as_tensor(target, device=pred.device)
        valid = target != ignore_index
        t = target[valid].long()
        p = pred[valid].long()
        if t.numel() and (int(t.max()) >= num_classes or int(p.max()) >= num_classes):
            raise ValueError("class id outside 0..num_classes-1")
        counts = torch.bincount(t * num_classes + p, minlength=num_classes**2)
        return counts.reshape(num_classes, num_classes).cpu().numpy().astype(np.int64)
    pred = np.asarray(pred)
    target = np.asarray(target)
    valid = target != ignore_index
    t = target[valid].astype(np.int64)
    p = pred[valid].astype(np.int64)
    if t.size and (t.max() >= num_classes or p.max() >= num_classes):
        raise ValueError("class id outside 0..num_classes-1")
    counts = np.bincount(t * num_classes + p, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def _is_tensor(value: Any) -> bool:
    """True for a torch tensor, without importing torch for numpy-only callers."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


@dataclass
class PixelScores:
    """Per-class arrays and their means, from one set of confusion counts.

    A class absent from both target and prediction has no IoU, Dice or ratio (NaN) and is
    left out of the means.
    """

    iou: np.ndarray
    dice: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    support: np.ndarray
    defect_miou: float
    defect_mdice: float
    miou_all: float
    mdice_all: float
    pixel_accuracy: float


def reduce_confusion(counts: np.ndarray) -> PixelScores:
    """IoU, Dice, precision, recall per class, defect and all-class means, pixel accuracy."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.shape[0]
    tp = np.diag(counts)
    fp = counts.sum(axis=0) - tp
    fn = counts.sum(axis=1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / (tp + fp + fn)
        dice = 2 * tp / (2 * tp + fp + fn)
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
    defect = slice(1, n) if n > 1 else slice(0, n)
    total = counts.sum()
    return PixelScores(
        iou=iou,
        dice=dice,
        precision=precision,
        recall=recall,
        support=counts.sum(axis=1).astype(np.int64),
        defect_miou=nanmean(iou[defect]),
        defect_mdice=nanmean(dice[defect]),
        miou_all=nanmean(iou),
        mdice_all=nanmean(dice),
        pixel_accuracy=float(tp.sum() / total) if total else float("nan"),
    )


@dataclass
class ClassPixelFigures:
    iou: float
    dice: float
    precision: float
    recall: float
    support: int  # ground-truth pixels of the class (ignored pixels excluded)


@dataclass
class PixelFigures:
    """Split-wide pixel figures of one (method, chain) pair."""

    per_class: dict[str, ClassPixelFigures]
    defect_miou: float
    defect_mdice: float
    miou_all: float
    mdice_all: float
    pixel_accuracy: float
    confusion_matrix: list[list[int]]

    @classmethod
    def from_counts(cls, counts: np.ndarray, class_names: Sequence[str]) -> PixelFigures:
        s = reduce_confusion(counts)
        per_class = {
            name: ClassPixelFigures(float(s.iou[c]), float(s.dice[c]), float(s.precision[c]),
                                    float(s.recall[c]), int(s.support[c]))
            for c, name in enumerate(class_names)
        }
        return cls(per_class, s.defect_miou, s.defect_mdice, s.miou_all, s.mdice_all,
                   s.pixel_accuracy, np.asarray(counts, np.int64).tolist())

    def to_json(self) -> dict[str, Any]:
        return {
            "per_class": {k: vars(v).copy() for k, v in self.per_class.items()},
            "defect_mIoU": self.defect_miou,
            "defect_mDice": self.defect_mdice,
            "mIoU_all": self.miou_all,
            "mDice_all": self.mdice_all,
            "pixel_accuracy": self.pixel_accuracy,
            "confusion_matrix": self.confusion_matrix,
        }


def summarize_confusion(matrix: np.ndarray, class_names: list[str] | None = None) -> dict[str, Any]:
    """The training loggers' view (``val/mIoU`` is the defect mIoU): plain dict of figures."""
    names = class_names or [str(i) for i in range(np.asarray(matrix).shape[0])]
    out = PixelFigures.from_counts(matrix, names).to_json()
    del out["confusion_matrix"]
    out["mIoU"], out["mDice"] = out.pop("defect_mIoU"), out.pop("defect_mDice")
    return out
