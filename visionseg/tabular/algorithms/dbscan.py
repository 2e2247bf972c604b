"""DBSCAN with documented defaults for its two settings.

- **MinPts** (``min_samples``): twice the number of features, at least 4 (Ester et al. 1996
  use 4 for 2-D data; Sander et al. 1998 recommend 2 x dimensions).
- **eps**: the elbow of the sorted k-distance curve, k = MinPts - 1 (each customer's
  distance to its k-th nearest other customer): the point of the sorted curve farthest from
  the straight line joining its first and last points. Below it customers sit in dense
  regions; above it distances shoot up (noise).

Noise customers keep label -1 and form their own group in the report. New customers join
the segment of their nearest core customer when it is within eps, else noise. Membership:
1 for core customers, 0.5 for border customers, 0 for noise.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors

from visionseg.tabular.algorithms.base import NOISE, Clusterer, positive, whole
from visionseg.tabular.errors import TabularInputError


def min_samples_rule(n_features: int) -> int:
    """MinPts = 2 x features, at least 4."""
    return max(4, 2 * int(n_features))


def k_distances(X: np.ndarray, k: int) -> np.ndarray:
    """Each row's distance to its k-th nearest other row, sorted ascending."""
    k = max(1, min(k, len(X) - 1))
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return np.sort(distances[:, k])


def elbow_index(curve: np.ndarray) -> int:
    """Index of the point farthest from the chord joining the curve's ends (0 if flat)."""
    n = len(curve)
    if n < 3 or curve[-1] == curve[0]:
        return 0
    x = np.linspace(0.0, 1.0, n)
    y = (curve - curve[0]) / (curve[-1] - curve[0])
    return int(np.argmax(np.abs(x - y)))


class DBSCANClusterer(Clusterer):
    """scikit-learn DBSCAN; ``eps`` and ``min_samples`` default to the documented rules."""

    name = "dbscan"
    sets_k = False

    def __init__(self, n_clusters: int = 4, random_state: int = 0, eps: float | None = None,
                 min_samples: int | None = None, max_rows: int | None = 20000,
                 on_oversize: str = "refuse") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)
        self.eps = eps
        self.min_samples = min_samples

    def _check_params(self, n: int) -> None:
        super()._check_params(n)
        if self.eps is not None:
            positive("eps", self.eps)
        if self.min_samples is not None:
            whole("min_samples", self.min_samples, low=2)

    def _fit(self, X):
        X = np.asarray(X, dtype="float64")
        self.min_samples_ = int(self.min_samples or min_samples_rule(X.shape[1]))
        self.k_distances_ = k_distances(X, self.min_samples_ - 1)
        self.eps_ = float(self.eps or self.k_distances_[elbow_index(self.k_distances_)])
        if self.eps_ <= 0:
            raise TabularInputError("dbscan: the k-distance elbow is 0 (many identical "
                                    "customers); set algorithm.eps")
        model = DBSCAN(eps=self.eps_, min_samples=self.min_samples_).fit(X)
        labels = model.labels_
        if not np.any(labels != NOISE):
            raise TabularInputError(
                f"dbscan found no segment (every customer is noise) with eps={self.eps_:.3g}, "
                f"min_samples={self.min_samples_}; raise algorithm.eps")
        core = np.zeros(len(X), dtype=bool)
        core[model.core_sample_indices_] = True
        self.n_clusters_ = int(len(np.unique(labels[labels != NOISE])))
        self.core_ = X[core]
        self.core_labels_ = labels[core]
        self.index_ = NearestNeighbors(n_neighbors=1).fit(self.core_)
        return labels, np.where(core, 1.0, np.where(labels == NOISE, 0.0, 0.5))

    def _predict(self, X):
        distance, idx = self.index_.kneighbors(np.asarray(X, dtype="float64"))
        near = distance[:, 0] <= self.eps_
        labels = np.where(near, self.core_labels_[idx[:, 0]], NOISE)
        return labels, np.where(near, 0.5 + 0.5 * (distance[:, 0] == 0), 0.0)
