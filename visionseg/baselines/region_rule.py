"""The rule that gives each detected region a class, and whether to use it at all.

Threshold, watershed, ridge and K-means baselines only tell defect from background. To
name the defect, each region the detector finds on a *train* image is described by
:data:`~visionseg.baselines.features.FEATURE_NAMES` and labelled with the ground-truth
class covering most of it (background included, so false detections learn to vanish);
a classifier (by default a depth-6 decision tree with balanced class weights) learns the
mapping.

The rule is an option, not a given: on data it does not suit (e.g. one kind of object,
as in the textbook Otsu case) it only drops true objects. :func:`rule_helps` decides on
the train split alone, by 3-fold cross-validation over train images: the rule is kept
when it raises the mean IoU of the defect classes over the plain naming (every region
gets the train split's most common defect class) by more than :data:`TIE`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.tree import DecisionTreeClassifier

FALLBACK_CLASS = 1
FOLDS = 3
TIE = 1e-3  # score differences up to this are ties; ties go to the plainer choice


def default_classifier() -> ClassifierMixin:
    """A small, readable tree: region counts per split are small and rules stay explainable."""
    return DecisionTreeClassifier(
        max_depth=6, min_samples_leaf=3, class_weight="balanced", random_state=0
    )


class RegionClassRule:
    """Region features -> class id (0 = drop the region), with the rule's probability."""

    def __init__(self, classifier: ClassifierMixin | None = None) -> None:
        self.template = classifier if classifier is not None else default_classifier()
        self.model: ClassifierMixin | None = None
        self.plain_class = FALLBACK_CLASS

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> RegionClassRule:
        """Learn from train regions; with none, keep the plain naming."""
        labels = np.asarray(labels, dtype=np.int64)
        self.model = None
        if len(labels):
            self.model = clone(self.template).fit(np.asarray(features, np.float64), labels)
        return self

    def clear(self, plain_class: int = FALLBACK_CLASS) -> RegionClassRule:
        """Use no classifier: every region gets ``plain_class``."""
        self.model = None
        self.plain_class = int(plain_class)
        return self

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class id of each region and the rule's probability for it (1.0 without a rule)."""
        if self.model is None:
            return np.full(len(features), self.plain_class, np.int64), np.ones(len(features))
        if len(features) == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        proba = self.model.predict_proba(np.asarray(features, np.float64))
        best = proba.argmax(axis=1)
        return self.model.classes_[best].astype(np.int64), proba[np.arange(len(best)), best]


@dataclass
class TrainRegions:
    """Regions a detector found on the train split, with what the ground truth says of them.

    ``counts[j, c]``: pixels of class ``c`` inside region ``j`` (ignored pixels left out);
    ``truth[c]``: pixels of class ``c`` in the whole split; ``image[j]``: index of the train
    image region ``j`` comes from.
    """

    features: np.ndarray
    labels: np.ndarray
    counts: np.ndarray
    image: np.ndarray
    truth: np.ndarray

    @property
    def plain_class(self) -> int:
        """The defect class with most train pixels (the class every region gets without a rule)."""
        defects = self.truth[1:]
        return int(defects.argmax()) + 1 if defects.any() else FALLBACK_CLASS


def split_iou(assigned: np.ndarray, counts: np.ndarray, truth: np.ndarray) -> float:
    """Mean IoU of the defect classes in ``truth`` when region ``j`` is named ``assigned[j]``.

    Pixels no region covers count as background: they add to the union of their class only.
    """
    classes = len(truth)
    inter, found = np.zeros(classes), np.zeros(classes)
    for c in range(1, classes):
        chosen = assigned == c
        inter[c] = counts[chosen, c].sum()
        found[c] = counts[chosen].sum()
    present = np.flatnonzero(truth[1:]) + 1
    if not len(present):
        return float("nan")
    union = truth[present] + found[present] - inter[present]
    return float(np.mean(inter[present] / np.maximum(union, 1)))


def rule_helps(regions: TrainRegions, template: ClassifierMixin) -> tuple[bool, float, float]:
    """Whether the learned rule beats the plain naming, by cross-validation over train images.

    Returns ``(use_rule, rule_iou, plain_iou)``. With fewer than two train images holding
    regions, or no defect pixel in the split, there is nothing to validate on: no rule.
    """
    plain = np.full(len(regions.labels), regions.plain_class, np.int64)
    plain_iou = split_iou(plain, regions.counts, regions.truth)
    images = np.unique(regions.image)
    if len(images) < 2 or np.isnan(plain_iou):
        return False, float("nan"), plain_iou
    fold_of_image = {int(index): i % FOLDS for i, index in enumerate(images)}
    fold = np.array([fold_of_image[int(i)] for i in regions.image])
    assigned = np.zeros(len(regions.labels), np.int64)
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        if len(np.unique(regions.labels[train])) < 2:
            assigned[test] = regions.labels[train][0] if train.any() else regions.plain_class
            continue
        model = clone(template).fit(regions.features[train], regions.labels[train])
        assigned[test] = model.predict(regions.features[test])
    rule_iou = split_iou(assigned, regions.counts, regions.truth)
    return bool(rule_iou > plain_iou + TIE), rule_iou, plain_iou
