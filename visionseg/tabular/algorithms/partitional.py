"""Centroid and mixture models: K-Means, MiniBatchKMeans and the Gaussian mixture."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture

from visionseg.tabular.algorithms.base import Clusterer, margin_confidence


class KMeansClusterer(Clusterer):
    """scikit-learn K-Means; membership is the distance margin ``1 - d1/d2``."""

    name = "kmeans"

    def __init__(self, n_clusters: int = 4, random_state: int = 0, n_init: int = 10,
                 max_iter: int = 300, max_rows: int | None = None,
                 on_oversize: str = "sample") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)
        self.n_init = n_init
        self.max_iter = max_iter

    def _make(self):
        return KMeans(n_clusters=self.n_clusters, n_init=self.n_init, max_iter=self.max_iter,
                      random_state=self.random_state)

    def _fit(self, X):
        self.model_ = self._make().fit(X)
        self.inertia_ = float(self.model_.inertia_)
        return self.model_.labels_, margin_confidence(self.model_.transform(X))

    def _predict(self, X):
        distances = self.model_.transform(X)
        return distances.argmin(axis=1), margin_confidence(distances)

    @property
    def centers_(self) -> np.ndarray:
        return self.model_.cluster_centers_


class MiniBatchKMeansClusterer(KMeansClusterer):
    """scikit-learn MiniBatchKMeans, for a million customers and more."""

    name = "minibatch_kmeans"

    def __init__(self, n_clusters: int = 4, random_state: int = 0, n_init: int = 3,
                 max_iter: int = 100, batch_size: int = 4096, max_rows: int | None = None,
                 on_oversize: str = "sample") -> None:
        super().__init__(n_clusters, random_state, n_init, max_iter, max_rows, on_oversize)
        self.batch_size = batch_size

    def _make(self):
        return MiniBatchKMeans(n_clusters=self.n_clusters, n_init=self.n_init,
                               max_iter=self.max_iter, batch_size=self.batch_size,
                               random_state=self.random_state)


class GaussianMixtureClusterer(Clusterer):
    """scikit-learn Gaussian mixture: soft membership (the top posterior), BIC and AIC."""

    name = "gmm"

    def __init__(self, n_clusters: int = 4, random_state: int = 0,
                 covariance_type: str = "full", n_init: int = 3, max_iter: int = 200,
                 reg_covar: float = 1e-4, max_rows: int | None = None,
                 on_oversize: str = "sample") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.reg_covar = reg_covar

    def _fit(self, X):
        self.model_ = GaussianMixture(
            n_components=self.n_clusters, covariance_type=self.covariance_type,
            n_init=self.n_init, max_iter=self.max_iter, reg_covar=self.reg_covar,
            random_state=self.random_state).fit(X)
        self.bic_ = float(self.model_.bic(X))
        self.aic_ = float(self.model_.aic(X))
        return self._predict(X)

    def _predict(self, X):
        proba = self.model_.predict_proba(X)
        return proba.argmax(axis=1), proba.max(axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Posterior probability of every segment (columns in the model's raw id order)."""
        return self.model_.predict_proba(X)

    def scores(self) -> dict[str, float]:
        return {"bic": self.bic_, "aic": self.aic_}
