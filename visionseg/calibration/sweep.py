"""Part decisions of every swept rule, image by image, from one prediction per image.

Each image is predicted once; for each pixel threshold of the grid its regions are
extracted once, and one comparison of their areas and mean confidences against the grid's
minimums gives the OK/NG decision of every (area, confidence) pair at that threshold. The
decisions equal ``rule.apply`` then ``rule.judge`` of each rule (tests check it against a
brute-force count); truth comes from the ground-truth mask judged by the configured rule.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from visionseg.core.method import Method
from visionseg.core.prediction import Prediction
from visionseg.core.regions import extract_regions
from visionseg.core.verdict import PartRule
from visionseg.data.folder import Sample
from visionseg.io.images import ImageReadError, read_image, read_mask
from visionseg.postprocess.base import PostProcess

log = logging.getLogger(__name__)


@dataclass
class SplitSweep:
    """Truth and the decision of every grid rule for each image of one split.

    ``ng[i, t, a, c]``: image ``i`` is NG under the rule at grid index ``(t, a, c)``.
    ``has_probs`` / ``has_confidence``: every prediction carried them (pixel thresholds
    and minimum confidences only mean something then).
    """

    method: str
    split: str
    truth: np.ndarray  # bool (N,)
    ng: np.ndarray  # bool (N, T, A, C)
    has_probs: bool
    has_confidence: bool
    failures: list[str] = field(default_factory=list)
    extra: list[np.ndarray] = field(default_factory=list)  # 2x2 of each extra rule

    @property
    def good(self) -> int:
        return int((~self.truth).sum())

    @property
    def defective(self) -> int:
        return int(self.truth.sum())

    def false_rejects(self) -> np.ndarray:
        """Good parts judged NG, per rule: int ``(T, A, C)``."""
        return (self.ng & ~self.truth[:, None, None, None]).sum(axis=0)

    def escapes(self) -> np.ndarray:
        """Defective parts judged OK, per rule: int ``(T, A, C)``."""
        return (~self.ng & self.truth[:, None, None, None]).sum(axis=0)


def decisions(pred: Prediction, classes: Sequence[str], min_areas: Sequence[int],
              min_confidences: Sequence[float], valid: np.ndarray | None = None) -> np.ndarray:
    """NG of every ``(min_area, min_confidence)`` pair for a prediction whose pixel
    thresholds were applied: bool ``(A, C)``. ``valid`` pixels only (ignored ones are
    background, as in the evaluation)."""
    mask = pred.mask if valid is None else np.where(valid, pred.mask, 0).astype(np.uint8)
    regions = extract_regions(mask, len(classes), pred.confidence, min_area=min(min_areas))
    if not regions:
        return np.zeros((len(min_areas), len(min_confidences)), bool)
    areas = np.array([r.area for r in regions])
    conf = np.array([r.mean_confidence for r in regions])
    big = areas[:, None] >= np.asarray(min_areas)[None]
    sure = np.isnan(conf)[:, None] | (conf[:, None] >= np.asarray(min_confidences)[None])
    return (big[:, :, None] & sure[:, None, :]).any(axis=0)


def grid_decisions(pred: Prediction, classes: Sequence[str], grid, valid=None) -> np.ndarray:
    """NG of every rule of ``grid`` (a :class:`SweepGrid`): bool ``(T, A, C)``. Without
    probabilities, every threshold layer is the argmax layer (what ``rule.apply`` does)."""
    out = np.zeros(grid.shape, bool)
    base = None
    for t, threshold in enumerate(grid.pixel_thresholds):
        if threshold is None or pred.probs is None:
            if base is None:
                base = decisions(pred, classes, grid.min_areas, grid.min_confidences, valid)
            out[t] = base
            continue
        thresholds = {c: float(threshold) for c in range(1, len(classes))}
        thresholded = Prediction.from_probs_thresholded(pred.probs, thresholds, pred)
        out[t] = decisions(thresholded, classes, grid.min_areas, grid.min_confidences, valid)
    return out


@dataclass
class Judged:
    """One image's ground truth (judged by the truth rule) and prediction (None = failed)."""

    name: str
    truth_ng: bool
    pred: Prediction
    valid: np.ndarray | None


def predictions(method: Method, samples: Sequence[Sample], classes: Sequence[str],
                truth_rule: PartRule, chain: PostProcess | None = None,
                ignore_index: int = 255, failures: list[str] | None = None) -> Iterator[Judged]:
    """Predict each readable sample once (then ``chain``); a failed prediction counts as an
    all-background one, as in the evaluation, and is listed in ``failures``."""
    failures = failures if failures is not None else []
    for sample in samples:
        try:
            image, gt = read_image(sample.image), read_mask(sample.mask)
        except ImageReadError as err:
            failures.append(f"{sample.name}: {err}")
            continue
        if gt.shape != image.shape[:2]:
            failures.append(f"{sample.name}: mask and image sizes differ")
            continue
        try:
            pred = method.predict(image)
            if chain is not None:
                pred = chain(image, pred)
        except Exception as err:  # noqa: BLE001 - counted as a miss, as evaluation does
            failures.append(f"{sample.name}: {type(err).__name__}: {err}")
            pred = Prediction(np.zeros(gt.shape, np.uint8))
        ignore = gt == ignore_index
        yield Judged(sample.name, truth_rule.judge_mask(gt, classes).ng, pred,
                     ~ignore if ignore.any() else None)


def judge(rule: PartRule, item: Judged, classes: Sequence[str]) -> bool:
    """NG under ``rule`` as infer.py decides it (``rule.apply`` then ``rule.judge``), on the
    valid pixels."""
    pred = rule.apply(item.pred, classes)
    if item.valid is not None:
        pred = pred.with_(mask=np.where(item.valid, pred.mask, 0).astype(np.uint8))
    return rule.judge(pred, classes).ng


def sweep_split(method: Method, samples: Sequence[Sample], classes: Sequence[str], grid,
                truth_rule: PartRule, split: str, chain: PostProcess | None = None,
                ignore_index: int = 255, extra_rules: Sequence[PartRule] = ()) -> SplitSweep:
    """Decisions of every grid rule on every image of a split, plus the part confusion
    matrix of each of ``extra_rules`` (e.g. the configured rule, to mark it on the curve)."""
    truth, ng, failures = [], [], []
    extra = [np.zeros((2, 2), np.int64) for _ in extra_rules]
    has_probs = has_conf = True
    for item in predictions(method, samples, classes, truth_rule, chain, ignore_index,
                            failures):
        truth.append(item.truth_ng)
        ng.append(grid_decisions(item.pred, classes, grid, item.valid))
        for matrix, rule in zip(extra, extra_rules, strict=True):
            matrix[int(item.truth_ng), int(judge(rule, item, classes))] += 1
        has_probs &= item.pred.probs is not None
        has_conf &= item.pred.confidence is not None
    if failures:
        log.warning("%s on %s: %d image(s) failed or unreadable, e.g. %s", method.name, split,
                    len(failures), failures[0])
    return SplitSweep(method.name, split, np.asarray(truth, bool),
                      np.asarray(ng, bool).reshape(len(ng), *grid.shape),
                      has_probs and bool(truth), has_conf and bool(truth), failures, extra)


def part_confusion(method: Method, samples: Sequence[Sample], classes: Sequence[str],
                   rules: Sequence[PartRule], truth_rule: PartRule,
                   chain: PostProcess | None = None, ignore_index: int = 255) -> list[np.ndarray]:
    """``matrix[truth, decision]`` (0 = OK, 1 = NG) of each rule on a split, each image
    predicted once and judged as infer.py judges it (``rule.apply`` then ``rule.judge``)."""
    matrices = [np.zeros((2, 2), np.int64) for _ in rules]
    for item in predictions(method, samples, classes, truth_rule, chain, ignore_index):
        for matrix, rule in zip(matrices, rules, strict=True):
            matrix[int(item.truth_ng), int(judge(rule, item, classes))] += 1
    return matrices
