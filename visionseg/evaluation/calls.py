"""Guarded calls of methods and chains: a method's own failure is recorded, never fatal."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from visionseg.core.method import Method
from visionseg.core.prediction import Prediction
from visionseg.data.folder import Sample
from visionseg.data.pairs import TrainPairs
from visionseg.evaluation.errors import EvaluationError
from visionseg.evaluation.predictions import check_prediction, copy_prediction
from visionseg.evaluation.results import Failure
from visionseg.postprocess.base import PostProcess

log = logging.getLogger(__name__)


def fit_all(
    methods: list[tuple[str, Method]],
    train_samples: Sequence[Sample] | None,
    samples: Sequence[Sample],
    failures: list[Failure],
) -> list[tuple[str, Method]]:
    """Fit each method on ``train_samples`` (never on the evaluated ``samples``); a method
    whose fit raises is left out and recorded. Returns the methods still in."""
    if train_samples is None:
        return methods
    evaluated = {Path(s.image).resolve() for s in samples}
    overlap = [s.name for s in train_samples if Path(s.image).resolve() in evaluated]
    if overlap:
        raise EvaluationError(
            f"{len(overlap)} training image(s) are also evaluated (e.g. {overlap[:5]}): "
            "methods must never be fitted on the split they are scored on"
        )
    pairs = TrainPairs(train_samples)
    active = []
    for name, method in methods:
        started = time.perf_counter()
        try:
            method.fit(pairs)
        except Exception as err:  # noqa: BLE001 - a method's own failure, recorded
            failures.append(Failure(name, "", "", "fit", describe(err)))
            log.warning("%s: fit failed, left out of the evaluation: %s", name, describe(err))
            continue
        log.info("%s: fitted on %d training images in %.1f s", name, len(pairs),
                 time.perf_counter() - started)
        active.append((name, method))
    return active


def run_method(
    method: Method, name: str, image: np.ndarray, num_classes: int, image_name: str,
    failures: list[Failure],
) -> tuple[Prediction | None, float]:
    """``(prediction, ms)``, or ``(None, nan)`` with a ``predict`` failure recorded."""
    started = time.perf_counter()
    try:
        pred = method.predict(image)
        elapsed = (time.perf_counter() - started) * 1000.0
        check_prediction(pred, image.shape[:2], num_classes)
    except Exception as err:  # noqa: BLE001 - a method's own failure, recorded
        failures.append(Failure(name, "", image_name, "predict", describe(err)))
        return None, float("nan")
    return pred, elapsed


def run_chain(
    chain: PostProcess, chain_name: str, method_name: str, image: np.ndarray, raw: Prediction,
    copy: bool, num_classes: int, image_name: str, failures: list[Failure],
) -> tuple[Prediction | None, float]:
    """``(prediction, ms)`` of a chain on (a copy of, when ``copy``) a method's prediction,
    or ``(None, nan)`` with a ``postprocess`` failure recorded."""
    given = copy_prediction(raw) if copy else raw
    started = time.perf_counter()
    try:
        pred = chain(image, given)
        elapsed = (time.perf_counter() - started) * 1000.0
        check_prediction(pred, image.shape[:2], num_classes)
    except Exception as err:  # noqa: BLE001 - a chain's own failure, recorded
        failures.append(Failure(method_name, chain_name, image_name, "postprocess",
                                describe(err)))
        return None, float("nan")
    return pred, elapsed


def describe(err: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")
