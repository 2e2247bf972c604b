"""The rule that gives each detected region a class, learned from the train split.

Threshold, watershed and K-means baselines only tell defect from background. To name the
defect, each region the detector finds on a *train* image is described by
:data:`~visionseg.baselines.features.FEATURE_NAMES` and labelled with the ground-truth
class covering most of it (background included, so false detections learn to vanish);
a classifier (by default a depth-6 decision tree with balanced class weights) learns the
mapping. Without training regions the documented fallback names every region with the
first defect class (id 1).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.tree import DecisionTreeClassifier

FALLBACK_CLASS = 1


def default_classifier() -> ClassifierMixin:
    """A small, readable tree: region counts per split are small and rules stay explainable."""
    return DecisionTreeClassifier(
        max_depth=6, min_samples_leaf=3, class_weight="balanced", random_state=0
    )


class RegionClassRule:
    """Region features -> class id (0 = drop the region), with a per-region score."""

    def __init__(self, classifier: ClassifierMixin | None = None) -> None:
        self.template = classifier if classifier is not None else default_classifier()
        self.model: ClassifierMixin | None = None

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> RegionClassRule:
        """Learn from train regions; with none, keep the fallback rule."""
        labels = np.asarray(labels, dtype=np.int64)
        self.model = None
        if len(labels):
            self.model = clone(self.template).fit(np.asarray(features, np.float64), labels)
        return self

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Class id of each region and the classifier's probability for it (None: fallback)."""
        if len(features) == 0:
            return np.zeros(0, np.int64), None if self.model is None else np.zeros(0)
        if self.model is None:
            return np.full(len(features), FALLBACK_CLASS, np.int64), None
        proba = self.model.predict_proba(np.asarray(features, np.float64))
        best = proba.argmax(axis=1)
        return self.model.classes_[best].astype(np.int64), proba[np.arange(len(best)), best]
