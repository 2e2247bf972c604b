"""One-to-one matching of labelled objects (regions or instances) by mask IoU.

Defect-level and instance-level figures both reduce to: label the ground-truth objects,
label the predicted ones, compute the IoU of every overlapping pair, and match pairs at
IoU >= a threshold. Objects in a label image never overlap, so at a threshold of 0.5 or
more every object has at most one partner above it and the greedy matching is exact.
"""

from __future__ import annotations

import numpy as np


def pair_iou(
    gt_labels: np.ndarray, n_gt: int, pred_labels: np.ndarray, n_pred: int
) -> np.ndarray:
    """``n_gt x n_pred`` IoU of every ground-truth object with every predicted one.

    Both label images use 0 for "no object" and ids 1..n; areas are counted from the
    label images themselves, so pixels to be ignored must be 0 in both beforehand.
    """
    if n_gt == 0 or n_pred == 0:
        return np.zeros((n_gt, n_pred), np.float64)
    joint = gt_labels.astype(np.int64).ravel() * (n_pred + 1) + pred_labels.astype(np.int64).ravel()
    counts = np.bincount(joint, minlength=(n_gt + 1) * (n_pred + 1)).reshape(n_gt + 1, n_pred + 1)
    inter = counts[1:, 1:].astype(np.float64)
    gt_area = counts[1:, :].sum(axis=1, keepdims=True)
    pred_area = counts[:, 1:].sum(axis=0, keepdims=True)
    union = gt_area + pred_area - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def greedy_match(iou: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int]]:
    """Pairs ``(gt_index, pred_index)`` matched one-to-one, highest IoU first, IoU >= threshold."""
    gt_idx, pred_idx = np.nonzero(iou >= threshold)
    if not len(gt_idx):
        return []
    order = np.argsort(-iou[gt_idx, pred_idx], kind="stable")
    used_gt: set[int] = set()
    used_pred: set[int] = set()
    pairs = []
    for k in order:
        g, p = int(gt_idx[k]), int(pred_idx[k])
        if g in used_gt or p in used_pred:
            continue
        used_gt.add(g)
        used_pred.add(p)
        pairs.append((g, p))
    return pairs
