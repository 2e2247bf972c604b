"""How stable the segments are: bootstrap ARI and per-segment Jaccard (Hennig 2007).

On a sample S of customers, the fitted model's labels are the reference. Each of ``B``
rounds refits the algorithm on a bootstrap resample of S and labels all of S with the refit;
the adjusted Rand index against the reference measures whole-partition stability, and for
each reference segment the best Jaccard overlap with a refit segment measures that segment's
stability (below about 0.6 a segment is not reproducible; above 0.75 it is stable).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from visionseg.tabular.algorithms.base import NOISE, Clusterer, take


@dataclass
class Stability:
    """Bootstrap results: ARI mean/std over rounds and mean Jaccard per reference segment."""

    ari_mean: float
    ari_std: float
    rounds: int
    sample_size: int
    jaccard: pd.Series

    def interpretation(self) -> str:
        """What the ARI means for a marketer (bands after Hennig 2007 and common practice)."""
        ari = self.ari_mean
        if not np.isfinite(ari):
            return "No stability figure."
        if ari >= 0.9:
            return "The segments reproduce almost exactly on resampled customers: stable."
        if ari >= 0.75:
            return "The segments mostly reproduce; boundary customers move: usable."
        if ari >= 0.5:
            return ("The segments only partly reproduce: treat the boundaries as soft and "
                    "check the per-segment Jaccard before acting.")
        return "The segments do not reproduce on resampled customers: do not act on them."

    def summary(self) -> str:
        return (f"bootstrap ARI {self.ari_mean:.3f} +/- {self.ari_std:.3f} over {self.rounds} "
                f"resamples of {self.sample_size} customers")


def best_jaccard(reference: np.ndarray, other: np.ndarray) -> dict[int, float]:
    """For every reference segment, the largest Jaccard index with any segment of ``other``."""
    result = {}
    for seg in np.unique(reference[reference != NOISE]):
        in_ref = reference == seg
        best = 0.0
        for cand in np.unique(other[other != NOISE]):
            in_other = other == cand
            union = np.logical_or(in_ref, in_other).sum()
            best = max(best, np.logical_and(in_ref, in_other).sum() / union if union else 0.0)
        result[int(seg)] = float(best)
    return result


def bootstrap_stability(
    X: np.ndarray | pd.DataFrame,
    reference: np.ndarray,
    make: Callable[[], Clusterer],
    rounds: int = 10,
    sample: int = 2000,
    seed: int = 0,
) -> Stability:
    """Refit ``make()`` on ``rounds`` bootstrap resamples of (a sample of) ``X``.

    ``reference`` holds the fitted model's labels for the rows of ``X``.
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(len(X))
    if len(rows) > sample:
        rows = np.sort(rng.choice(rows, size=sample, replace=False))
    data = take(X, rows)
    ref = np.asarray(reference)[rows]
    scores = []
    jaccards: list[dict[int, float]] = []
    for _ in range(rounds):
        boot = rng.integers(0, len(rows), size=len(rows))
        with warnings.catch_warnings():
            # a resample repeats customers; on tiny data that can leave fewer distinct points
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = make().fit(take(data, boot))
        labels = model.predict(data)
        scores.append(adjusted_rand_score(ref, labels))
        jaccards.append(best_jaccard(ref, labels))
    jac = pd.DataFrame(jaccards).mean(axis=0) if jaccards else pd.Series(dtype=float)
    jac.index.name = "segment"
    return Stability(
        ari_mean=float(np.mean(scores)) if scores else float("nan"),
        ari_std=float(np.std(scores)) if scores else float("nan"),
        rounds=rounds,
        sample_size=len(rows),
        jaccard=jac.rename("jaccard"),
    )
