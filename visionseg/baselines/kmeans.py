"""Colour K-means baseline: cluster each image's pixels in CIELAB, keep the defect clusters.

Pixels are clustered per image with ``cv2.kmeans`` (seeded with ``cv2.setRNGSeed``, as it
is not repeatable otherwise) on CIELAB colour, flattened by subtracting a smooth background
(``flatten_sigma``; ``null`` keeps raw colour), optionally with pixel position scaled by
``position_weight`` (1.0: the image width spans as much as the full L* range). Centres are
found on a regular grid of at most ``max_pixels`` pixels and every pixel then joins its
nearest centre (``scipy.cluster.vq.vq``).

Which clusters are defects is learned from the train split: every cluster of every train
image is described by its size share and its colour offset from the largest cluster
(dL*, da*, db*, and their length dE), labelled defect when most of its pixels are defect
pixels in the ground truth, and a small decision tree learns that mapping. Without train
data the unsupervised rule applies: the smallest non-empty cluster is the defect. The
defect pixels then form regions, named by the shared region class rule. An image with a
single colour raises :class:`~visionseg.baselines.base.BaselineError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from scipy.cluster.vq import vq
from sklearn.base import ClassifierMixin, clone
from sklearn.tree import DecisionTreeClassifier

from visionseg.baselines.base import (
    IGNORE_INDEX,
    BaselineError,
    FitPairs,
    RegionBaseline,
    State,
)
from visionseg.baselines.flatten import background
from visionseg.core.checks import check_int, check_number

CLUSTER_FEATURES = ("log_share", "dL", "da", "db", "dE")


def default_cluster_classifier() -> ClassifierMixin:
    return DecisionTreeClassifier(
        max_depth=4, min_samples_leaf=3, class_weight="balanced", random_state=0
    )


class KMeansBaseline(RegionBaseline):
    """Per-image colour clustering; defect clusters chosen by a rule learned from train."""

    def __init__(
        self,
        classes: Sequence[str],
        name: str = "kmeans",
        k: int = 4,
        position_weight: float = 0.0,
        flatten_sigma: float | None = 0.1,
        max_pixels: int = 20000,
        attempts: int = 3,
        iterations: int = 20,
        seed: int = 0,
        min_area: int = 4,
        classify: bool | None = None,
        classifier: ClassifierMixin | None = None,
        cluster_classifier: ClassifierMixin | None = None,
        max_fit_images: int | None = 500,
    ) -> None:
        check_int("k", k, 2, optional=True, maximum=64)
        check_number("position_weight", position_weight, 0.0, optional=True, maximum=100.0)
        check_number("flatten_sigma", flatten_sigma, 0.0, optional=True, maximum=1.0)
        check_int("max_pixels", max_pixels, 100, optional=True)
        check_int("attempts", attempts, 1, optional=True, maximum=100)
        check_int("iterations", iterations, 1, optional=True, maximum=10000)
        super().__init__(
            classes,
            name,
            {},
            min_area=min_area,
            classify=classify,
            classifier=classifier,
            max_fit_images=max_fit_images,
        )
        self.k = int(k)
        self.position_weight = float(position_weight)
        self.flatten_sigma = flatten_sigma
        self.max_pixels = int(max_pixels)
        self.attempts = int(attempts)
        self.iterations = int(iterations)
        self.seed = int(seed)
        self.cluster_template = (
            cluster_classifier if cluster_classifier is not None else default_cluster_classifier()
        )
        self.cluster_rule: ClassifierMixin | None = None

    def _features(self, image: np.ndarray) -> np.ndarray:
        """``H x W x F`` float32 clustering features: (flattened) Lab, then position."""
        lab = cv2.cvtColor(image.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)
        if self.flatten_sigma:
            lab -= background(lab, self.flatten_sigma)
        if not self.position_weight:
            return lab
        h, w = lab.shape[:2]
        scale = np.float32(100.0 * self.position_weight / max(h, w))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) * scale
        return np.dstack([lab, xx, yy])

    def _prepare(self, image: np.ndarray) -> State:
        if not (image != image[0, 0]).any():
            colour = tuple(int(v) for v in image[0, 0])
            raise BaselineError(f"the image has a single colour {colour}: nothing to cluster")
        features = self._features(image)
        h, w, f = features.shape
        step = max(1, int(np.ceil(np.sqrt(h * w / self.max_pixels))))
        sample = np.ascontiguousarray(features[::step, ::step].reshape(-1, f))
        cv2.setRNGSeed(self.seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, self.iterations, 0.1)
        k = min(self.k, len(sample))
        _, _, centers = cv2.kmeans(sample, k, None, criteria, self.attempts, cv2.KMEANS_PP_CENTERS)
        nearest, _ = vq(features.reshape(-1, f), centers, check_finite=False)
        clusters = nearest.reshape(h, w).astype(np.int32)
        sizes = np.bincount(clusters.ravel(), minlength=k)
        return {"clusters": clusters, "centers": centers[:, :3], "sizes": sizes, "meta": {}}

    @staticmethod
    def cluster_features(state: State) -> np.ndarray:
        """``k x len(CLUSTER_FEATURES)``: size share and colour offset from the largest cluster."""
        sizes, centers = state["sizes"], state["centers"].astype(np.float64)
        share = sizes / max(int(sizes.sum()), 1)
        delta = centers - centers[int(sizes.argmax())]
        return np.column_stack([np.log(share + 1e-6), delta, np.sqrt((delta**2).sum(axis=1))])

    def _defect_clusters(self, state: State) -> np.ndarray:
        sizes = state["sizes"]
        if self.cluster_rule is not None:
            return (self.cluster_rule.predict(self.cluster_features(state)) == 1) & (sizes > 0)
        chosen = np.zeros(len(sizes), bool)
        candidates = np.flatnonzero(sizes > 0)
        if len(candidates) >= 2:
            chosen[candidates[sizes[candidates].argmin()]] = True
        return chosen

    def _foreground(self, state: State, settings: dict[str, Any]) -> np.ndarray:
        defect = self._defect_clusters(state)
        state["meta"] = {"defect_clusters": np.flatnonzero(defect).tolist()}
        return defect[state["clusters"]]

    def _fit_detector(self, pairs: FitPairs) -> None:
        """Learn which clusters are defects from train clusters labelled by majority."""
        features, labels = [], []
        for _, mask, state in self._prepared(pairs):
            valid = (mask != IGNORE_INDEX).ravel()
            clusters = state["clusters"].ravel()[valid]
            defect = (mask.ravel()[valid] > 0).astype(np.float64)
            total = np.bincount(clusters, minlength=len(state["sizes"]))
            hits = np.bincount(clusters, weights=defect, minlength=len(state["sizes"]))
            present = total > 0
            features.append(self.cluster_features(state)[present])
            labels.append((hits[present] > 0.5 * total[present]).astype(np.int64))
        self.cluster_rule = None
        if features and sum(len(x) for x in labels):
            x, y = np.concatenate(features), np.concatenate(labels)
            self.cluster_rule = clone(self.cluster_template).fit(x, y)
            self.fit_report["train_defect_clusters"] = int(y.sum())
