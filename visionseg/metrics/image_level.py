"""Part-level OK/NG decision from a class mask, and its confusion matrix over a split.

A part is NG ("has a defect") when one connected region of one defect class covers at
least ``min_area`` pixels; smaller specks are what a line tolerates (and what noise makes).
NG is the positive class of precision, recall and F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visionseg.core.regions import label_components


def largest_defect_area(mask: np.ndarray, num_classes: int) -> int:
    """Pixel count of the largest 8-connected region of any defect class (ids 1..C-1)."""
    largest = 0
    for class_id in range(1, num_classes):
        binary = mask == class_id
        if not binary.any():
            continue
        _, areas = label_components(binary)
        largest = max(largest, int(areas.max()))
    return largest


def is_defective(mask: np.ndarray, num_classes: int, min_area: int = 1) -> bool:
    """True when ``mask`` holds a defect region of at least ``min_area`` pixels."""
    return largest_defect_area(mask, num_classes) >= max(int(min_area), 1)


class ImageLevelCounts:
    """``matrix[truth, decision]`` over images, index 0 = OK, 1 = NG."""

    def __init__(self) -> None:
        self.matrix = np.zeros((2, 2), dtype=np.int64)

    def update(self, truth_ng: bool, pred_ng: bool) -> None:
        self.matrix[int(bool(truth_ng)), int(bool(pred_ng))] += 1

    def summary(self) -> dict[str, Any]:
        return summarize_ok_ng(self.matrix)


def summarize_ok_ng(matrix: np.ndarray) -> dict[str, Any]:
    """Precision, recall, F1 of NG, accuracy and the false-alarm rate on good parts.

    An undefined ratio (zero denominator) is NaN.
    """
    (tn, fp), (fn, tp) = np.asarray(matrix, dtype=np.int64).tolist()
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
        "false_alarm_rate": _ratio(fp, fp + tn),
        "confusion": [[tn, fp], [fn, tp]],
    }


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")
