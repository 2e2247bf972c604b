"""Part-level OK/NG figures over a split: the confusion matrix of the part rule's verdicts.

The verdict itself is :class:`visionseg.core.verdict.PartRule` (one rule for evaluation,
inference and the service); NG is the positive class of precision, recall and F1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visionseg.metrics.ratios import ratio


@dataclass
class ImageLevelFigures:
    """NG detection over parts; an undefined ratio (zero denominator) is NaN."""

    tp: int  # NG parts called NG
    fp: int  # OK parts called NG (false alarms)
    fn: int  # NG parts called OK (escapes)
    tn: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    false_alarm_rate: float  # share of good parts rejected
    confusion: list[list[int]]  # [[tn, fp], [fn, tp]], rows truth OK/NG


class ImageLevelCounts:
    """``matrix[truth, decision]`` over images, index 0 = OK, 1 = NG."""

    def __init__(self) -> None:
        self.matrix = np.zeros((2, 2), dtype=np.int64)

    def update(self, truth_ng: bool, pred_ng: bool) -> None:
        self.matrix[int(bool(truth_ng)), int(bool(pred_ng))] += 1

    def summary(self) -> ImageLevelFigures:
        return summarize_ok_ng(self.matrix)


def summarize_ok_ng(matrix: np.ndarray) -> ImageLevelFigures:
    """Precision, recall, F1 of NG, accuracy and the false-alarm rate on good parts."""
    (tn, fp), (fn, tp) = np.asarray(matrix, dtype=np.int64).tolist()
    return ImageLevelFigures(
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        precision=ratio(tp, tp + fp),
        recall=ratio(tp, tp + fn),
        f1=ratio(2 * tp, 2 * tp + fp + fn),
        accuracy=ratio(tp + tn, tp + tn + fp + fn),
        false_alarm_rate=ratio(fp, fp + tn),
        confusion=[[tn, fp], [fn, tp]],
    )
