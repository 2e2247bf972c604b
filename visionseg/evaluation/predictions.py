"""Checks and copies of predictions handed between methods, chains and metrics."""

from __future__ import annotations

from typing import Any

from visionseg.core.prediction import Instances, Prediction


def check_prediction(pred: Any, shape: tuple[int, int], num_classes: int) -> Prediction:
    """Raise (TypeError/ValueError) unless ``pred`` is a Prediction of ``shape`` with valid ids."""
    if not isinstance(pred, Prediction):
        raise TypeError(f"returned {type(pred).__name__}, not a Prediction")
    if pred.mask.shape != shape:
        raise ValueError(
            f"prediction is {pred.mask.shape[1]}x{pred.mask.shape[0]}, image {shape[1]}x{shape[0]}"
        )
    top = int(pred.mask.max()) if pred.mask.size else 0
    if top >= num_classes:
        raise ValueError(f"class id {top} outside 0..{num_classes - 1}")
    return pred


def copy_prediction(pred: Prediction) -> Prediction:
    """A deep copy: a chain may change its input's arrays in place without touching others'."""
    inst = pred.instances
    if inst is not None:
        scores = None if inst.scores is None else inst.scores.copy()
        inst = Instances(inst.labels.copy(), inst.classes.copy(), scores)
    return pred.with_(
        mask=pred.mask.copy(),
        probs=None if pred.probs is None else pred.probs.copy(),
        confidence=None if pred.confidence is None else pred.confidence.copy(),
        instances=inst,
        meta=dict(pred.meta),
    )
