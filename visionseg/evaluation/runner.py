"""Run every method x post-processing chain over a split and collect the figures.

Each image is read once at its original resolution with the project's reader; each method
predicts it once and every chain post-processes that same prediction. Nothing but the
accumulators and a per-image row per pair stays in memory; the few gallery images are
predicted again at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visionseg.core.method import Method
from visionseg.core.prediction import Instances, Prediction
from visionseg.core.verdict import PartRule
from visionseg.data.folder import Sample
from visionseg.data.instances import InstanceTargets
from visionseg.data.pairs import TrainPairs
from visionseg.evaluation.accumulator import EntryAccumulator, ImageTarget
from visionseg.evaluation.errors import EvaluationError
from visionseg.evaluation.gallery import build_gallery
from visionseg.evaluation.predictions import check_prediction, copy_prediction
from visionseg.evaluation.results import EvalResults, Failure
from visionseg.evaluation.settings import EvalSettings
from visionseg.io.images import ImageReadError, read_image, read_mask
from visionseg.metrics.instances import CocoSet, mask_out, semantic_instances

log = logging.getLogger(__name__)

PostProcess = Callable[[np.ndarray, Prediction], Prediction]
Chains = Mapping[str, PostProcess] | Sequence[PostProcess] | None


class Identity:
    """The empty chain: the method's own output."""

    name = "none"

    def __call__(self, image: np.ndarray, pred: Prediction) -> Prediction:
        return pred


def normalize_chains(chains: Chains) -> dict[str, PostProcess]:
    """``{name: chain}`` from a mapping, a sequence of objects with ``.name``, or None."""
    if chains is None:
        return {"none": Identity()}
    if isinstance(chains, Mapping):
        out = dict(chains)
    else:
        out = {}
        for i, chain in enumerate(chains):
            name = str(getattr(chain, "name", f"chain{i}"))
            if name in out:
                raise EvaluationError(f"two post-processing chains are named {name!r}")
            out[name] = chain
    if not out:
        raise EvaluationError("no post-processing chain given (use 'none' for the raw output)")
    return out


def evaluate(
    methods: Sequence[Method],
    samples: Sequence[Sample],
    classes: Sequence[str],
    chains: Chains = None,
    settings: EvalSettings | Mapping[str, Any] | None = None,
    train_samples: Sequence[Sample] | None = None,
    rule: PartRule | None = None,
) -> EvalResults:
    """Score every method x chain on ``samples`` (which must have masks).

    ``chains``: ``{name: callable(image, prediction) -> prediction}``, or objects with
    ``.name``; None means the raw output only (chain ``"none"``). When ``train_samples``
    is given, each method is first ``fit`` on them (never on ``samples``); a method whose
    fit raises is left out and recorded as a failure. A method or chain raising on one
    image is recorded as a failure on that image and counts as an empty prediction there.
    """
    settings = EvalSettings.from_any(settings)
    rule = rule or PartRule()
    classes = list(classes)
    rule.check_classes(classes)
    chain_map = normalize_chains(chains)
    samples = list(samples)
    missing = [s.name for s in samples if s.mask is None]
    if missing:
        raise EvaluationError(f"evaluation needs ground-truth masks; missing for {missing[:10]}")
    names = _unique_names(methods)
    for name, method in zip(names, methods, strict=True):
        method_classes = list(getattr(method, "classes", classes) or classes)
        if method_classes != classes:
            raise EvaluationError(
                f"method {name!r} predicts classes {method_classes}, the data has {classes}"
            )
    failures: list[Failure] = []
    active = _fit_all(list(zip(names, methods, strict=True)), train_samples, samples, failures)

    accumulators = {
        (name, chain): EntryAccumulator(name, chain, classes, settings, rule)
        for name, _ in active
        for chain in chain_map
    }
    gt_instances = CocoSet()
    targets = InstanceTargets(classes, settings.gt_instance_min_area)
    rows: list[dict[str, Any]] = []
    support = np.zeros(len(classes), np.int64)
    sizes: set[tuple[int, int]] = set()
    evaluated = gt_defects = ng_images = 0
    started = time.perf_counter()
    for index, sample in enumerate(samples, start=1):
        loaded = _load(sample, len(classes), settings, failures)
        if loaded is None:
            continue
        image, gt = loaded
        evaluated += 1
        sizes.add(gt.shape)
        support += np.bincount(gt.ravel(), minlength=256)[: len(classes)]
        target = ImageTarget(
            sample.name, gt, len(classes), settings, _gt_instances(sample, gt, targets, settings),
            rule, classes,
        )
        gt_instances.add(index, gt.shape, target.instances)
        gt_defects += target.regions.count()
        ng_images += int(target.ng)
        for name, method in active:
            raw, predict_ms = _run_method(method, name, image, gt.shape, len(classes),
                                          sample.name, failures)
            for chain_name, chain in chain_map.items():
                pred, timing = None, None
                if raw is not None:
                    pred, chain_ms = _run_chain(chain, chain_name, name, image, raw,
                                                len(chain_map) > 1, gt.shape, len(classes),
                                                sample.name, failures)
                    timing = (predict_ms, chain_ms) if pred is not None else None
                acc = accumulators[(name, chain_name)]
                rows.append(acc.update(target, pred, index, timing))
        if index % max(10, len(samples) // 10) == 0 or index == len(samples):
            log.info("evaluated %d/%d images (%.1f s)", index, len(samples),
                     time.perf_counter() - started)

    entries = [acc.summary(gt_instances) for acc in accumulators.values()]
    results = EvalResults(
        classes=classes,
        settings=settings,
        entries=entries,
        per_image=rows,
        failures=failures,
        gallery=[],
        dataset={
            "images": len(samples),
            "evaluated": evaluated,
            "image_sizes": sorted(f"{w}x{h}" for h, w in sizes),
            "pixel_support": dict(zip(classes, support.tolist(), strict=True)),
            "gt_defects": gt_defects,
            "ng_images": ng_images,
        },
        methods=[name for name, _ in active],
        chains=list(chain_map),
    )
    results.gallery = build_gallery(results, active, chain_map, samples)
    return results


def _unique_names(methods: Sequence[Method]) -> list[str]:
    names: list[str] = []
    for method in methods:
        base = str(getattr(method, "name", type(method).__name__))
        name, k = base, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.append(name)
    return names


def _fit_all(
    methods: list[tuple[str, Method]],
    train_samples: Sequence[Sample] | None,
    samples: Sequence[Sample],
    failures: list[Failure],
) -> list[tuple[str, Method]]:
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
            failures.append(Failure(name, "", "", "fit", _describe(err)))
            log.warning("%s: fit failed, left out of the evaluation: %s", name, _describe(err))
            continue
        log.info("%s: fitted on %d training images in %.1f s", name, len(pairs),
                 time.perf_counter() - started)
        active.append((name, method))
    return active


def _load(
    sample: Sample, num_classes: int, settings: EvalSettings, failures: list[Failure]
) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        image = read_image(sample.image)
        gt = read_mask(sample.mask)
    except ImageReadError as err:
        failures.append(Failure("*", "*", sample.name, "read", str(err)))
        return None
    problem = None
    if gt.shape != image.shape[:2]:
        problem = f"mask is {gt.shape[1]}x{gt.shape[0]}, image {image.shape[1]}x{image.shape[0]}"
    else:
        bad = np.setdiff1d(np.unique(gt), [*range(num_classes), settings.ignore_index])
        if bad.size:
            problem = f"mask values {bad[:10].tolist()} are outside the class map"
    if problem:
        failures.append(Failure("*", "*", sample.name, "read", f"{sample.mask}: {problem}"))
        return None
    return image, gt


def _gt_instances(
    sample: Sample, gt: np.ndarray, targets: InstanceTargets, settings: EvalSettings
) -> Instances:
    """Ground-truth instances from the sample's annotation (instance PNG, COCO, LabelMe),
    else the connected regions of each class; ignored pixels belong to no instance."""
    try:
        found = targets.read(sample, gt)
    except (ValueError, ImageReadError) as err:
        log.warning("%s; its instances are taken from the class mask", err)
        found = semantic_instances(gt, len(targets.classes), targets.min_area)
    return mask_out(found, gt != settings.ignore_index)


def _run_method(method, name, image, shape, num_classes, image_name, failures):
    started = time.perf_counter()
    try:
        pred = method.predict(image)
        elapsed = (time.perf_counter() - started) * 1000.0
        check_prediction(pred, shape, num_classes)
    except Exception as err:  # noqa: BLE001 - a method's own failure, recorded
        failures.append(Failure(name, "", image_name, "predict", _describe(err)))
        return None, float("nan")
    return pred, elapsed


def _run_chain(chain, chain_name, name, image, raw, copy, shape, num_classes, image_name,
               failures):
    given = copy_prediction(raw) if copy else raw
    started = time.perf_counter()
    try:
        pred = chain(image, given)
        elapsed = (time.perf_counter() - started) * 1000.0
        check_prediction(pred, shape, num_classes)
    except Exception as err:  # noqa: BLE001 - a chain's own failure, recorded
        failures.append(Failure(name, chain_name, image_name, "postprocess", _describe(err)))
        return None, float("nan")
    return pred, elapsed


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")
