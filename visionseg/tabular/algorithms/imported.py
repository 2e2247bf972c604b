"""Clusterers rebuilt from parameters fitted elsewhere (Spark MLlib), so that a model fitted
with ``engine=spark`` scores new customers without Spark.

- :class:`CentresClusterer`: nearest centre (K-Means; bisecting K-Means, whose own predict
  walks its tree: the nearest leaf centre agrees with it for all but boundary customers),
  membership the distance margin ``1 - d1/d2``.
- :class:`MixtureClusterer`: a scikit-learn ``GaussianMixture`` given the fitted weights,
  means and covariances; membership the top posterior.

The fitted parameters are their constructor's parameters, stored unchanged; ``fit(X, y)``
checks them, builds the scoring rule (``centres_`` or ``model_``) and labels ``X`` with ``y``,
the labels the outside fit gave (the imported rule's own when ``y`` is None).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

from visionseg.tabular.algorithms.base import Clusterer, margin_confidence
from visionseg.tabular.errors import TabularInputError


class _Imported(Clusterer):
    """Base: fitted elsewhere; ``fit`` builds the rule and labels the given rows."""

    sets_k = False

    def fit(self, X: np.ndarray | pd.DataFrame, y: Any = None) -> _Imported:
        """Build the scoring rule from the imported parameters; label ``X`` with ``y`` (the
        outside fit's labels) or, when ``y`` is None, with the rule."""
        self._build()
        self.fit_rows_ = None
        labels, membership = self._predict(X)
        if y is not None:
            if len(y) != len(X):
                raise TabularInputError(f"{self.name}: {len(y)} labels for {len(X)} rows")
            labels = y
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.membership_ = np.clip(np.asarray(membership, dtype="float64"), 0.0, 1.0)
        return self

    def _build(self) -> None:
        """Check the imported parameters and set the learned scoring rule."""
        raise NotImplementedError

    def _fit(self, X):
        """Never called: the parameters were fitted elsewhere (``fit`` is overridden)."""
        raise NotImplementedError


def _matrix(value: Any, ndim: int, what: str) -> np.ndarray:
    array = np.asarray(value, dtype="float64")
    if array.ndim != ndim or len(array) < 2 or not np.isfinite(array).all():
        raise TabularInputError(f"imported {what} must be a finite {ndim}-d array with at "
                                f"least 2 entries, got shape {array.shape}")
    return array


class CentresClusterer(_Imported):
    """Nearest of fixed centres (one row each)."""

    name = "spark_kmeans"

    def __init__(self, centres: np.ndarray, name: str = "spark_kmeans") -> None:
        self.centres = centres
        self.name = name

    def _build(self) -> None:
        self.centres_ = _matrix(self.centres, 2, "centres")

    def _predict(self, X):
        X = np.asarray(X, dtype="float64")
        distances = np.sqrt(((X[:, None, :] - self.centres_[None]) ** 2).sum(axis=2))
        return distances.argmin(axis=1), margin_confidence(distances)


class MixtureClusterer(_Imported):
    """A Gaussian mixture with imported weights, means and full covariances."""

    name = "spark_gmm"

    def __init__(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> None:
        self.weights = weights
        self.means = means
        self.covariances = covariances

    def _build(self) -> None:
        model = GaussianMixture(n_components=len(self.weights), covariance_type="full")
        model.weights_ = _matrix(self.weights, 1, "weights")
        model.means_ = _matrix(self.means, 2, "means")
        model.covariances_ = _matrix(self.covariances, 3, "covariances")
        model.precisions_cholesky_ = _compute_precision_cholesky(model.covariances_, "full")
        model.converged_ = True
        model.n_features_in_ = model.means_.shape[1]
        self.model_ = model

    def _predict(self, X):
        proba = self.model_.predict_proba(np.asarray(X, dtype="float64"))
        return proba.argmax(axis=1), proba.max(axis=1)
