"""Pixel confusion matrix accumulated over a whole split, and the figures derived from it.

Accumulating counts over the split (not averaging per image) is what mmsegmentation and
smp recommend: images without defects would otherwise swing per-image IoU wildly.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


class ConfusionMatrix:
    """``matrix[t, p]`` counts pixels of true class ``t`` predicted as ``p``.

    Pixels whose target equals ``ignore_index`` are skipped. Accepts numpy arrays or torch
    tensors (on any device) of class ids.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def reset(self) -> None:
        self.matrix[:] = 0

    def update(self, pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> None:
        self.matrix += confusion_counts(pred, target, self.num_classes, self.ignore_index)

    def merge(self, other: ConfusionMatrix) -> None:
        self.matrix += other.matrix

    def summary(self, class_names: list[str] | None = None) -> dict[str, Any]:
        return summarize_confusion(self.matrix, class_names)


def confusion_counts(
    pred: np.ndarray | torch.Tensor,
    target: np.ndarray | torch.Tensor,
    num_classes: int,
    ignore_index: int = 255,
) -> np.ndarray:
    """Confusion counts of one batch as an ``num_classes x num_classes`` int64 array."""
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


def summarize_confusion(matrix: np.ndarray, class_names: list[str] | None = None) -> dict[str, Any]:
    """Per-class IoU, Dice, precision, recall, support and their means.

    A class absent from both target and prediction has undefined IoU (NaN) and is left out
    of the means. ``mIoU``/``mDice`` average the defect classes (ids >= 1), the figures
    users care about; ``mIoU_all``/``mDice_all`` include background.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    n = matrix.shape[0]
    names = class_names or [str(i) for i in range(n)]
    tp = np.diag(matrix)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / (tp + fp + fn)
        dice = 2 * tp / (2 * tp + fp + fn)
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
    per_class = {
        names[i]: {
            "iou": _f(iou[i]),
            "dice": _f(dice[i]),
            "precision": _f(precision[i]),
            "recall": _f(recall[i]),
            "support": int(matrix[i].sum()),
        }
        for i in range(n)
    }
    defect = slice(1, n) if n > 1 else slice(0, n)
    total = matrix.sum()
    return {
        "per_class": per_class,
        "mIoU": _nanmean(iou[defect]),
        "mDice": _nanmean(dice[defect]),
        "mIoU_all": _nanmean(iou),
        "mDice_all": _nanmean(dice),
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
    }


def _f(x: float) -> float:
    return float(x)


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")
