"""The one small interface every segmentation algorithm follows, in scikit-learn's style.

Each algorithm is a scikit-learn estimator: ``__init__`` stores its parameters unchanged
(so ``get_params``, ``set_params`` and ``clone`` work), ``fit`` checks them (one
:class:`TabularInputError` line for a bad value), and everything learned ends in ``_``.
``fit(X)`` sets ``labels_`` (segment id per row, -1 = noise where the algorithm has noise),
``membership_`` (confidence or membership strength in [0, 1]) and ``fit_rows_``;
``predict(X)`` and ``predict_with_membership(X)`` serve new customers (``NotFittedError``
before ``fit``); ``scores()`` gives extra fit criteria (BIC and AIC for mixtures).
Algorithms whose memory grows as n^2 carry a size guard: above ``max_rows`` they refuse with
a message, or, with ``on_oversize="sample"``, fit on a random ``max_rows`` customers and
assign the others with their own predict rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from visionseg.tabular.errors import TabularInputError

NOISE = -1
OVERSIZE_POLICIES = ("refuse", "sample")


class Clusterer(ClusterMixin, BaseEstimator, ABC):
    """Base class: subclasses implement ``_fit`` and ``_predict`` (and extend
    ``_check_params`` for their own parameters).

    ``mixed_input`` algorithms receive a DataFrame of scaled numerics plus raw categorical
    strings; the others a float matrix. ``sets_k`` is False for algorithms that find the number
    of segments themselves (``n_clusters`` is then ignored).
    """

    name: ClassVar[str] = "clusterer"
    mixed_input: ClassVar[bool] = False
    sets_k: ClassVar[bool] = True
    quadratic: ClassVar[bool] = False

    def __init__(
        self,
        n_clusters: int = 4,
        random_state: int = 0,
        max_rows: int | None = None,
        on_oversize: str = "refuse",
    ) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.max_rows = max_rows
        self.on_oversize = on_oversize

    def fit(self, X: np.ndarray | pd.DataFrame, y: Any = None) -> Clusterer:
        """Fit on ``X`` (all rows, or a guarded sample) and label every row; ``y`` is
        ignored (scikit-learn's signature)."""
        n = len(X)
        self._check_params(n)
        sample = self._guard(n)
        self.fit_rows_ = sample
        if sample is None:
            labels, membership = self._fit(X)
        else:
            self._fit(take(X, sample))
            labels, membership = self._predict(X)
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.membership_ = np.clip(np.asarray(membership, dtype="float64"), 0.0, 1.0)
        return self

    def predict(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Segment id (raw id space) of each row of ``X``."""
        return self.predict_with_membership(X)[0]

    def predict_with_membership(self, X: np.ndarray | pd.DataFrame) -> tuple[np.ndarray,
                                                                             np.ndarray]:
        """Segment ids and the confidence of each assignment in [0, 1] (its meaning: see
        the algorithm's class)."""
        check_is_fitted(self)
        labels, membership = self._predict(X)
        return (np.asarray(labels, dtype=np.int64),
                np.clip(np.asarray(membership, dtype="float64"), 0.0, 1.0))

    def compact(self) -> None:
        """Drop the per-customer results of the fit (not needed to score) before saving."""
        self.labels_ = self.membership_ = self.fit_rows_ = None
        model = getattr(self, "model_", None)
        if model is not None and hasattr(model, "labels_"):
            del model.labels_

    def scores(self) -> dict[str, float]:
        """Extra fit criteria of the last fit (none by default)."""
        return {}

    def _check_params(self, n: int) -> None:
        """Refuse a bad parameter with one line, before any work (``n``: rows to fit)."""
        whole("random_state", self.random_state, low=0)
        if self.on_oversize not in OVERSIZE_POLICIES:
            raise TabularInputError(f"algorithm.on_oversize must be one of {OVERSIZE_POLICIES}, "
                                    f"not {self.on_oversize!r}")
        if self.max_rows is not None:
            whole("max_rows", self.max_rows, low=2)
        if not self.sets_k:
            return  # n_clusters is ignored
        whole("n_clusters", self.n_clusters, low=2)
        if not 2 <= self.n_clusters < n:
            raise TabularInputError(
                f"k={self.n_clusters} segments asked for {n} customers; k must be at least 2 "
                f"and below the number of customers")

    @abstractmethod
    def _fit(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Fit; return labels and membership of the fitted rows (in the raw id space)."""

    @abstractmethod
    def _predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Labels and membership for new rows."""

    def _guard(self, n: int) -> np.ndarray | None:
        if self.max_rows is None or n <= self.max_rows:
            return None
        if self.on_oversize == "refuse":
            cost = (
                f"; its distance matrix needs about {n * n * 8 / 2**30:.1f} GiB"
                if self.quadratic else ""
            )
            raise TabularInputError(
                f"algorithm {self.name}: {n} customers exceed algorithm.max_rows="
                f"{self.max_rows}{cost}. Set algorithm.on_oversize=sample to fit on a random "
                f"{self.max_rows} and assign the rest, raise algorithm.max_rows, or use "
                "algorithm=minibatch_kmeans for large tables")
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(n, size=self.max_rows, replace=False))


def whole(key: str, value: Any, low: int) -> None:
    """``algorithm.<key>`` must be a whole number of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise TabularInputError(f"algorithm.{key}={value!r} must be a whole number >= {low}")


def positive(key: str, value: Any) -> None:
    """``algorithm.<key>`` must be a number above 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise TabularInputError(f"algorithm.{key}={value!r} must be a number above 0")


def take(X: np.ndarray | pd.DataFrame, rows: np.ndarray) -> np.ndarray | pd.DataFrame:
    """Rows of an array or a DataFrame by position."""
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def apply_mapping(labels: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """Map ids through ``mapping``; ids it does not name (noise) are kept."""
    labels = np.asarray(labels, dtype=np.int64)
    out = labels.copy()
    for old, new in mapping.items():
        out[labels == old] = new
    return out


def margin_confidence(distances: np.ndarray) -> np.ndarray:
    """1 - d1/d2 from each row's nearest and second-nearest centre distances.

    1 means the customer sits on its segment's centre, 0 that it is as close to another one
    (a boundary customer).
    """
    if distances.shape[1] < 2:
        return np.ones(len(distances))
    part = np.partition(distances, 1, axis=1)
    d1, d2 = part[:, 0], part[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = 1.0 - d1 / d2
    return np.where(d2 > 0, conf, 0.0)
