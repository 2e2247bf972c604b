"""Clusterers rebuilt from parameters fitted elsewhere (Spark MLlib), so that a model fitted
with ``engine=spark`` scores new customers without Spark.

- :class:`CentresClusterer`: nearest centre (K-Means; bisecting K-Means, whose own predict
  walks its tree: the nearest leaf centre agrees with it for all but boundary customers),
  membership the distance margin ``1 - d1/d2``.
- :class:`MixtureClusterer`: a scikit-learn ``GaussianMixture`` given the fitted weights,
  means and covariances; membership the top posterior.
"""

from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

from visionseg.tabular.algorithms.base import Clusterer, margin_confidence
from visionseg.tabular.errors import TabularInputError


class _Imported(Clusterer):
    """Base: fitted elsewhere; ``fit`` only labels the given rows with the imported rule."""

    def _fit(self, X):
        if not hasattr(self, "centres_") and not hasattr(self, "model_"):
            raise TabularInputError(f"{self.name} is fitted by Spark, not here")
        return self._predict(X)


class CentresClusterer(_Imported):
    """Nearest of fixed centres."""

    name = "spark_kmeans"

    def __init__(self, centres: np.ndarray, name: str = "spark_kmeans") -> None:
        centres = np.asarray(centres, dtype="float64")
        super().__init__(n_clusters=max(2, len(centres)))
        self.centres_ = centres
        self.name = name

    def _predict(self, X):
        X = np.asarray(X, dtype="float64")
        distances = np.sqrt(((X[:, None, :] - self.centres_[None]) ** 2).sum(axis=2))
        return distances.argmin(axis=1), margin_confidence(distances)


class MixtureClusterer(_Imported):
    """A Gaussian mixture with imported parameters."""

    name = "spark_gmm"

    def __init__(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> None:
        super().__init__(n_clusters=max(2, len(weights)))
        model = GaussianMixture(n_components=len(weights), covariance_type="full")
        model.weights_ = np.asarray(weights, dtype="float64")
        model.means_ = np.asarray(means, dtype="float64")
        model.covariances_ = np.asarray(covariances, dtype="float64")
        model.precisions_cholesky_ = _compute_precision_cholesky(model.covariances_, "full")
        model.converged_ = True
        model.n_features_in_ = model.means_.shape[1]
        self.model_ = model

    def _predict(self, X):
        proba = self.model_.predict_proba(np.asarray(X, dtype="float64"))
        return proba.argmax(axis=1), proba.max(axis=1)
