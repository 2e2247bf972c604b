"""Hierarchical clustering: Ward on the scaled matrix, average linkage on Gower distances.

Both build a full pairwise distance matrix (memory grows as n^2), so both carry a size guard.
The linkage is kept for the report's dendrogram.
"""

from __future__ import annotations

import gower
import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from visionseg.tabular.algorithms.base import Clusterer, margin_confidence


def _cut(tree: np.ndarray, k: int) -> np.ndarray:
    """Cut a linkage into at most ``k`` clusters, numbered 0..k'-1."""
    raw = fcluster(tree, t=k, criterion="maxclust")
    return np.unique(raw, return_inverse=True)[1].astype(np.int64)


class WardClusterer(Clusterer):
    """Agglomerative clustering with Ward linkage (scipy); new customers go to the nearest
    segment mean, membership is the distance margin ``1 - d1/d2`` to the segment means."""

    name = "ward"
    quadratic = True

    def __init__(self, n_clusters: int = 4, random_state: int = 0, max_rows: int | None = 10000,
                 on_oversize: str = "refuse") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)

    def _fit(self, X):
        X = np.asarray(X, dtype="float64")
        self.linkage_ = linkage(X, method="ward")
        labels = _cut(self.linkage_, self.n_clusters)
        self.centers_ = np.stack([X[labels == c].mean(axis=0) for c in np.unique(labels)])
        return labels, self._predict(X)[1]

    def _predict(self, X):
        X = np.asarray(X, dtype="float64")
        distances = np.sqrt(((X[:, None, :] - self.centers_[None]) ** 2).sum(axis=2))
        return distances.argmin(axis=1), margin_confidence(distances)


class GowerClusterer(Clusterer):
    """Gower distance (package ``gower``) + average linkage, for mixed numeric/categorical data.

    Gower averages per-feature dissimilarities: |difference| / range for numbers, mismatch for
    categories. New customers go to the segment whose medoid is nearest in Gower distance,
    with the numeric ranges of the fitted data; membership is the margin ``1 - d1/d2``.
    """

    name = "gower"
    mixed_input = True
    quadratic = True

    def __init__(self, n_clusters: int = 4, random_state: int = 0, max_rows: int | None = 5000,
                 on_oversize: str = "refuse") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)

    def _fit(self, X: pd.DataFrame):
        self.categorical_ = np.array([not pd.api.types.is_numeric_dtype(X[c]) for c in X.columns])
        values = X.to_numpy(dtype=object)
        distances = gower.gower_matrix(values, cat_features=self.categorical_)
        np.fill_diagonal(distances, 0.0)
        distances = np.maximum(distances, distances.T)
        self.linkage_ = linkage(squareform(distances, checks=False), method="average")
        labels = _cut(self.linkage_, self.n_clusters)
        numeric = values[:, ~self.categorical_].astype("float64")
        self.ranges_ = np.nanmax(numeric, axis=0) - np.nanmin(numeric, axis=0) if len(
            numeric.T) else np.zeros(0)
        medoids = []
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            within = distances[np.ix_(members, members)].sum(axis=1)
            medoids.append(members[within.argmin()])
        self.medoids_ = values[np.array(medoids)]
        return labels, self._predict(X)[1]

    def _medoid_distances(self, X: pd.DataFrame) -> np.ndarray:
        values = X.to_numpy(dtype=object)
        cat = self.categorical_
        total = np.zeros((len(values), len(self.medoids_)))
        if (~cat).any():
            num = values[:, ~cat].astype("float64")
            med = self.medoids_[:, ~cat].astype("float64")
            ranges = np.where(self.ranges_ > 0, self.ranges_, 1.0)
            diff = np.abs(num[:, None, :] - med[None]) / ranges
            total += np.where(self.ranges_ > 0, diff, 0.0).sum(axis=2)
        if cat.any():
            total += (values[:, None, cat] != self.medoids_[None, :, cat]).sum(axis=2)
        return total / len(cat)

    def _predict(self, X):
        distances = self._medoid_distances(X)
        return distances.argmin(axis=1), margin_confidence(distances)
