"""Assigning new customers to segments found by algorithms that have no predict rule."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors


class NeighbourVote:
    """Label new rows by a vote of their ``k`` nearest fitted rows.

    The membership is the vote share of the winning label times the mean fitted membership of
    the neighbours that voted for it (1 for algorithms without one).
    """

    def __init__(self, X: np.ndarray, labels: np.ndarray, membership: np.ndarray | None = None,
                 k: int = 5) -> None:
        self.k = max(1, min(int(k), len(X)))
        self.index = NearestNeighbors(n_neighbors=self.k).fit(X)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.membership = (np.ones(len(X)) if membership is None
                           else np.asarray(membership, dtype="float64"))

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = self.index.kneighbors(X, return_distance=False)
        votes = self.labels[idx]
        values = np.unique(self.labels)
        counts = np.stack([(votes == v).sum(axis=1) for v in values], axis=1)
        winner = values[counts.argmax(axis=1)]
        agree = votes == winner[:, None]
        share = agree.sum(axis=1) / self.k
        strength = (self.membership[idx] * agree).sum(axis=1) / np.maximum(agree.sum(axis=1), 1)
        return winner, share * strength
