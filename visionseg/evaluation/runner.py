"""Run every method x post-processing chain over a split and collect the figures.

Each image is read once at its original resolution with the project's reader; each method
predicts it once and every chain post-processes that same prediction. Nothing but the
accumulators and one row per image and pair stays in memory; the few gallery images are
predicted again at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from visionseg.core.method import Method
from visionseg.core.prediction import Prediction
from visionseg.core.verdict import PartRule
from visionseg.data.folder import Sample
from visionseg.data.instances import InstanceTargets
from visionseg.evaluation.accumulator import EntryAccumulator
from visionseg.evaluation.calls import fit_all, run_chain, run_method
from visionseg.evaluation.entry import ImageRow
from visionseg.evaluation.errors import EvaluationError
from visionseg.evaluation.gallery import build_gallery
from visionseg.evaluation.results import DatasetSummary, EvalResults, Failure
from visionseg.evaluation.settings import EvalSettings, thin_classes_of
from visionseg.evaluation.targets import ImageTarget, gt_instances, load_pair
from visionseg.io.scale16 import reading_policy
from visionseg.metrics.instances import CocoSet
from visionseg.postprocess.base import PostProcess

__all__ = ["Chains", "Identity", "evaluate", "normalize_chains"]

log = logging.getLogger(__name__)

Chains = Mapping[str, PostProcess] | Sequence[PostProcess] | None


class Identity(PostProcess):
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
    names = _check_inputs(methods, samples, classes)
    failures: list[Failure] = []
    active = fit_all(list(zip(names, methods, strict=True)), train_samples, samples, failures)
    split = SplitPass(active, chain_map, classes, settings, rule, failures)
    started = time.perf_counter()
    for index, sample in enumerate(samples, start=1):
        split.add(index, sample)
        if index % max(10, len(samples) // 10) == 0 or index == len(samples):
            log.info("evaluated %d/%d images (%.1f s)", index, len(samples),
                     time.perf_counter() - started)
    results = split.results(len(samples))
    results.gallery = build_gallery(results, active, chain_map, samples)
    return results


def _check_inputs(
    methods: Sequence[Method], samples: list[Sample], classes: list[str]
) -> list[str]:
    """Unique method names; raises unless every sample has a mask and every method
    predicts ``classes``."""
    missing = [s.name for s in samples if s.mask is None]
    if missing:
        raise EvaluationError(f"evaluation needs ground-truth masks; missing for {missing[:10]}")
    names: list[str] = []
    for method in methods:
        base = str(getattr(method, "name", type(method).__name__))
        name, k = base, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.append(name)
        method_classes = list(getattr(method, "classes", classes) or classes)
        if method_classes != classes:
            raise EvaluationError(
                f"method {name!r} predicts classes {method_classes}, the data has {classes}"
            )
    return names


class SplitPass:
    """One pass over the split: per image, each method predicts once and each chain
    post-processes a copy; every (method, chain) accumulator gets the result."""

    def __init__(
        self,
        methods: list[tuple[str, Method]],
        chains: dict[str, PostProcess],
        classes: list[str],
        settings: EvalSettings,
        rule: PartRule,
        failures: list[Failure],
    ) -> None:
        self.methods = methods
        self.chains = chains
        self.classes = classes
        self.settings = settings
        self.rule = rule
        self.failures = failures
        self.scale16 = reading_policy([method for _, method in methods])
        self.thin_ids = thin_classes_of(classes, settings)
        self.accumulators = {(name, chain): EntryAccumulator(name, chain, classes, settings, rule,
                                                             self.thin_ids)
                             for name, _ in methods for chain in chains}
        self.gt_instances = CocoSet()
        self.instance_targets = InstanceTargets(classes, settings.gt_instance_min_area)
        self.rows: list[ImageRow] = []
        self.support = np.zeros(len(classes), np.int64)
        self.sizes: set[tuple[int, int]] = set()
        self.evaluated = self.gt_defects = self.ng_images = 0

    def add(self, index: int, sample: Sample) -> None:
        """Score one image (skipped, with a ``read`` failure, when it cannot be used)."""
        n = len(self.classes)
        loaded = load_pair(sample, n, self.settings, self.failures, self.scale16)
        if loaded is None:
            return
        image, gt = loaded
        instances = gt_instances(sample, gt, self.instance_targets, self.settings)
        target = ImageTarget(index, sample.name, gt, self.settings, instances, self.rule,
                             self.classes, self.thin_ids)
        self._count(target)
        for name, method in self.methods:
            raw, predict_ms = run_method(method, name, image, n, sample.name, self.failures)
            for chain_name, chain in self.chains.items():
                pred, timing = None, None
                if raw is not None:
                    pred, chain_ms = run_chain(chain, chain_name, name, image, raw,
                                               len(self.chains) > 1, n, sample.name,
                                               self.failures)
                    timing = (predict_ms, chain_ms) if pred is not None else None
                accumulator = self.accumulators[(name, chain_name)]
                self.rows.append(accumulator.update(target, pred, timing))

    def _count(self, target: ImageTarget) -> None:
        self.evaluated += 1
        self.sizes.add(target.shape)
        self.support += np.bincount(target.mask.ravel(), minlength=256)[: len(self.classes)]
        self.gt_instances.add(target.image_id, target.shape, target.instances)
        self.gt_defects += target.regions.count()
        self.ng_images += int(target.ng)

    def results(self, images: int) -> EvalResults:
        """Every pair's figures (the gallery is added by the caller)."""
        return EvalResults(
            classes=self.classes,
            settings=self.settings,
            entries=[acc.summary(self.gt_instances) for acc in self.accumulators.values()],
            per_image=self.rows,
            failures=self.failures,
            gallery=[],
            dataset=DatasetSummary(
                images=images,
                evaluated=self.evaluated,
                image_sizes=sorted(f"{w}x{h}" for h, w in self.sizes),
                pixel_support=dict(zip(self.classes, self.support.tolist(), strict=True)),
                gt_defects=self.gt_defects,
                ng_images=self.ng_images,
            ),
            methods=[name for name, _ in self.methods],
            chains=list(self.chains),
            rule=self.rule,
        )
