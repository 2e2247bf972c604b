"""Graph and density based algorithms: HDBSCAN and spectral clustering (both size-guarded)."""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.cluster import HDBSCAN, SpectralClustering

from visionseg.tabular.algorithms.base import NOISE, Clusterer, positive, whole
from visionseg.tabular.algorithms.neighbours import NeighbourVote
from visionseg.tabular.errors import TabularInputError


class HDBSCANClusterer(Clusterer):
    """scikit-learn HDBSCAN: finds its own number of segments, noise is label -1.

    Membership is HDBSCAN's membership strength (``probabilities_``). New customers take the
    vote of their nearest fitted customers (noise included), an approximation: HDBSCAN itself
    has no predict. ``min_cluster_size`` defaults to ``min_cluster_share`` of the fitted rows.
    """

    name = "hdbscan"
    sets_k = False

    def __init__(self, n_clusters: int = 4, random_state: int = 0,
                 min_cluster_size: int | None = None, min_cluster_share: float = 0.03,
                 min_samples: int | None = None, cluster_selection_epsilon: float = 0.0,
                 max_rows: int | None = 20000, on_oversize: str = "refuse") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)
        self.min_cluster_size = min_cluster_size
        self.min_cluster_share = min_cluster_share
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon

    def _check_params(self, n: int) -> None:
        super()._check_params(n)
        positive("min_cluster_share", self.min_cluster_share)
        if self.min_cluster_size is not None:
            whole("min_cluster_size", self.min_cluster_size, low=2)

    def _fit(self, X):
        size = self.min_cluster_size or max(5, math.ceil(self.min_cluster_share * len(X)))
        model = HDBSCAN(min_cluster_size=int(size), min_samples=self.min_samples,
                        cluster_selection_epsilon=self.cluster_selection_epsilon, copy=True)
        labels = model.fit_predict(X)
        found = np.unique(labels[labels != NOISE])
        if len(found) == 0:
            raise TabularInputError(
                f"hdbscan found no segment (every customer is noise) with min_cluster_size="
                f"{size}; lower algorithm.min_cluster_size or use another algorithm")
        self.n_clusters_ = len(found)
        self.min_cluster_size_ = int(size)
        self.vote_ = NeighbourVote(X, labels, model.probabilities_, k=self.min_samples or 5)
        return labels, model.probabilities_

    def _predict(self, X):
        return self.vote_(np.asarray(X, dtype="float64"))


class SpectralClusterer(Clusterer):
    """scikit-learn spectral clustering on a k-nearest-neighbour graph.

    Its affinity matrix and eigen-decomposition grow quickly with n, hence the size guard. A
    graph that falls apart into components is fine here (well separated segments do that).
    New customers take the vote of their nearest fitted customers; membership is the vote share.
    """

    name = "spectral"
    quadratic = True

    def __init__(self, n_clusters: int = 4, random_state: int = 0, n_neighbors: int = 10,
                 max_rows: int | None = 5000, on_oversize: str = "refuse") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)
        self.n_neighbors = n_neighbors

    def _check_params(self, n: int) -> None:
        super()._check_params(n)
        whole("n_neighbors", self.n_neighbors, low=1)

    def _fit(self, X):
        model = SpectralClustering(
            n_clusters=self.n_clusters, affinity="nearest_neighbors",
            n_neighbors=min(self.n_neighbors, len(X) - 1), assign_labels="cluster_qr",
            random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Graph is not fully connected")
            labels = model.fit_predict(X)
        self.vote_ = NeighbourVote(X, labels, k=self.n_neighbors)
        return labels, self.vote_(X)[1]

    def _predict(self, X):
        return self.vote_(np.asarray(X, dtype="float64"))
