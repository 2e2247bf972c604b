"""K-Prototypes (package ``kmodes``): K-Means for numbers and K-Modes for categories at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
from kmodes.kprototypes import KPrototypes

from visionseg.tabular.algorithms.base import Clusterer, margin_confidence
from visionseg.tabular.errors import TabularInputError


class KPrototypesClusterer(Clusterer):
    """Huang's K-Prototypes: cost = squared Euclidean distance on the scaled numerics plus
    ``gamma`` times the number of category mismatches (gamma from kmodes by default).

    kmodes loops in Python, so fits above ``max_rows`` use a random sample by default; the
    other customers are assigned with kmodes' own predict. Membership is the cost margin.
    """

    name = "kprototypes"
    mixed_input = True

    def __init__(self, n_clusters: int = 4, random_state: int = 0, n_init: int = 4,
                 init: str = "Cao", gamma: float | None = None, max_iter: int = 100,
                 max_rows: int | None = 20000, on_oversize: str = "sample") -> None:
        super().__init__(n_clusters, random_state, max_rows, on_oversize)
        self.n_init = n_init
        self.init = init
        self.gamma = gamma
        self.max_iter = max_iter

    def _fit(self, X: pd.DataFrame):
        self.categorical_ = [i for i, c in enumerate(X.columns)
                             if not pd.api.types.is_numeric_dtype(X[c])]
        if not self.categorical_ or len(self.categorical_) == X.shape[1]:
            raise TabularInputError(
                "kprototypes needs numeric and categorical feature columns (found "
                f"{X.shape[1] - len(self.categorical_)} numeric, {len(self.categorical_)} "
                "categorical); name categorical ones in columns.categorical, or use "
                "algorithm=kmeans for numbers only")
        self.model_ = KPrototypes(n_clusters=self.n_clusters, init=self.init,
                                  n_init=self.n_init, gamma=self.gamma, max_iter=self.max_iter,
                                  random_state=self.random_state, n_jobs=1)
        labels = self.model_.fit_predict(X.to_numpy(dtype=object), categorical=self.categorical_)
        return labels, self._costs_margin(X)

    def _costs(self, X: pd.DataFrame) -> np.ndarray:
        values = X.to_numpy(dtype=object)
        cat = np.zeros(values.shape[1], dtype=bool)
        cat[self.categorical_] = True
        centroids = self.model_.cluster_centroids_
        n_num = int((~cat).sum())
        num = values[:, ~cat].astype("float64")
        cost = ((num[:, None, :] - centroids[None, :, :n_num].astype("float64")) ** 2).sum(axis=2)
        mismatch = (values[:, None, cat].astype(str) != centroids[None, :, n_num:].astype(str))
        return cost + float(self.model_.gamma) * mismatch.sum(axis=2)

    def _costs_margin(self, X) -> np.ndarray:
        return margin_confidence(self._costs(X))

    def _predict(self, X):
        costs = self._costs(X)
        return costs.argmin(axis=1), margin_confidence(costs)
