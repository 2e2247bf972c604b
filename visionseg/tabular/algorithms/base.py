"""The one small interface every segmentation algorithm follows.

``fit(X)`` sets ``labels_`` (segment id per row, -1 = noise where the algorithm has noise)
and ``membership_`` (confidence or membership strength in [0, 1]); ``predict(X)`` and
``predict_membership(X)`` serve new customers; ``scores()`` gives extra fit criteria (BIC and
AIC for mixtures). Algorithms whose memory grows as n^2 carry a size guard: above
``max_rows`` they refuse with a message, or, with ``on_oversize="sample"``, fit on a random
``max_rows`` customers and assign the others with their own predict rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd

from visionseg.tabular.errors import TabularInputError

NOISE = -1
OVERSIZE_POLICIES = ("refuse", "sample")


class Clusterer(ABC):
    """Base class: subclasses implement ``_fit`` and ``_predict``.

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
        if on_oversize not in OVERSIZE_POLICIES:
            raise TabularInputError(
                f"algorithm.on_oversize must be one of {OVERSIZE_POLICIES}, not {on_oversize!r}")
        self.n_clusters = int(n_clusters)
        self.random_state = int(random_state)
        self.max_rows = None if max_rows is None else int(max_rows)
        self.on_oversize = on_oversize
        self.fit_rows_: np.ndarray | None = None

    def fit(self, X: np.ndarray | pd.DataFrame) -> Clusterer:
        """Fit on ``X`` (all rows, or a guarded sample) and label every row."""
        n = len(X)
        if self.sets_k and not 2 <= self.n_clusters < n:
            raise TabularInputError(
                f"k={self.n_clusters} segments asked for {n} customers; k must be at least 2 "
                f"and below the number of customers")
        sample = self._guard(n)
        if sample is None:
            self.labels_, self.membership_ = self._fit(X)
        else:
            self.fit_rows_ = sample
            self._fit(take(X, sample))
            self.labels_, self.membership_ = self._predict(X)
        self.labels_ = np.asarray(self.labels_, dtype=np.int64)
        self.membership_ = np.clip(np.asarray(self.membership_, dtype="float64"), 0.0, 1.0)
        return self

    def predict(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        return self.predict_with_membership(X)[0]

    def predict_membership(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Confidence of each row's assignment in [0, 1] (what it means: see the class)."""
        return self.predict_with_membership(X)[1]

    def predict_with_membership(self, X: np.ndarray | pd.DataFrame) -> tuple[np.ndarray,
                                                                             np.ndarray]:
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
        return {}

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
