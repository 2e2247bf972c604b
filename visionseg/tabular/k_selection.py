"""Choosing the number of segments K from several criteria at once.

For every K of the range the algorithm is fitted (on a sample of at most ``sample``
customers) and measured: within-segment sum of squares ("inertia") and the share of variance
it explains, silhouette (on a sample of ``silhouette_sample``), Davies-Bouldin,
Calinski-Harabasz, the gap statistic (Tibshirani et al. 2001, K-Means against uniform
references in the principal-component box), BIC/AIC for mixtures, and the smallest segment's
share of customers.

The ``k=auto`` rule itself is in :mod:`visionseg.tabular.k_rule`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from visionseg.tabular.algorithms.base import NOISE, Clusterer, take
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.k_rule import KSelection, choose_k, elbow_choice, gap_choice
from visionseg.tabular.stability import bootstrap_stability


def within_ss(X: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the (non-noise) rows to their segment mean."""
    keep = labels != NOISE
    X, labels = X[keep], labels[keep]
    if len(X) == 0:
        return float("nan")
    _, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse)
    sums = np.zeros((len(counts), X.shape[1]))
    np.add.at(sums, inverse, X)
    return float((X**2).sum() - ((sums**2).sum(axis=1) / counts).sum())


def sampled_silhouette(X: np.ndarray, labels: np.ndarray, sample: int, seed: int = 0) -> float:
    """Mean silhouette of at most ``sample`` random non-noise rows (NaN if undefined).

    The full silhouette costs O(n^2); 10,000 rows already take about a second and 0.8 GB.
    """
    keep = np.flatnonzero(labels != NOISE)
    if len(keep) > sample:
        keep = np.sort(np.random.default_rng(seed).choice(keep, size=sample, replace=False))
    sub = labels[keep]
    n_labels = len(np.unique(sub))
    if not 2 <= n_labels <= len(sub) - 1:
        return float("nan")
    return float(silhouette_score(X[keep], sub))


def separation_scores(X: np.ndarray, labels: np.ndarray, silhouette_sample: int,
                      seed: int = 0) -> dict[str, float]:
    """Silhouette (sampled), Davies-Bouldin and Calinski-Harabasz on the non-noise rows."""
    keep = labels != NOISE
    n_labels = len(np.unique(labels[keep]))
    if not 2 <= n_labels <= keep.sum() - 1:
        nan = float("nan")
        return {"silhouette": nan, "davies_bouldin": nan, "calinski_harabasz": nan}
    return {
        "silhouette": sampled_silhouette(X, labels, silhouette_sample, seed),
        "davies_bouldin": float(davies_bouldin_score(X[keep], labels[keep])),
        "calinski_harabasz": float(calinski_harabasz_score(X[keep], labels[keep])),
    }


def min_share(labels: np.ndarray) -> float:
    """The smallest segment's share of all customers (noise is not a segment)."""
    segs = labels[labels != NOISE]
    if len(segs) == 0:
        return 0.0
    return float(np.unique(segs, return_counts=True)[1].min() / len(labels))


def gap_statistic(X: np.ndarray, ks: Sequence[int], references: int = 5,
                  seed: int = 0) -> pd.DataFrame:
    """Gap(K) and its standard error s(K) for K in ``ks`` (Tibshirani, Walther, Hastie 2001).

    References are drawn uniformly in the box of the data's principal components; every
    clustering (data and references) is K-Means, so the gap describes the data, not the
    chosen algorithm.
    """
    rng = np.random.default_rng(seed)
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ vt.T
    lo, hi = rotated.min(axis=0), rotated.max(axis=0)
    refs = [rng.uniform(lo, hi, size=rotated.shape) for _ in range(references)]

    def log_w(data: np.ndarray, k: int) -> float:
        if k == 1:
            return float(np.log(((data - data.mean(axis=0)) ** 2).sum()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # tiny data: fewer points
            model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(data)
        return float(np.log(max(model.inertia_, 1e-12)))

    rows = []
    for k in ks:
        ref_logs = np.array([log_w(r, k) for r in refs])
        rows.append({
            "k": k,
            "gap": float(ref_logs.mean() - log_w(rotated, k)),
            "gap_se": float(ref_logs.std() * np.sqrt(1 + 1 / references)),
        })
    return pd.DataFrame(rows)


def evaluate_k_range(
    X: np.ndarray,
    fit: Callable[[int], Clusterer],
    ks: Sequence[int],
    silhouette_sample: int = 4000,
    gap_references: int = 5,
    gap_sample: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per K: the fitted algorithm's criteria on the numeric matrix ``X``.

    ``fit(k)`` returns the algorithm fitted with K segments on the rows of ``X``.
    """
    total = within_ss(X, np.zeros(len(X), dtype=np.int64))
    rows = []
    for k in ks:
        clusterer = fit(k)
        labels = clusterer.labels_
        inertia = within_ss(X, labels)
        rows.append({
            "k": k,
            "inertia": inertia,
            "explained": 1.0 - inertia / total if total > 0 else float("nan"),
            **separation_scores(X, labels, silhouette_sample, seed),
            **{"bic": float("nan"), "aic": float("nan"), **clusterer.scores()},
            "min_share": min_share(labels),
            "segments_found": int(len(np.unique(labels[labels != NOISE]))),
        })
    table = pd.DataFrame(rows).sort_values("k").reset_index(drop=True)
    previous = np.r_[0.0, table["explained"].to_numpy()[:-1]]
    consecutive = np.r_[table["k"].iloc[0] == 2, np.diff(table["k"].to_numpy()) == 1]
    table["gain"] = np.where(consecutive, table["explained"] - previous, np.nan)
    if gap_references > 0:
        rng = np.random.default_rng(seed)
        rows_idx = (rng.choice(len(X), size=gap_sample, replace=False)
                    if len(X) > gap_sample else np.arange(len(X)))
        gaps = gap_statistic(X[rows_idx], [1, *table["k"]], gap_references, seed)
        table = table.merge(gaps, on="k", how="left")
        table.attrs["gap_k1"] = float(gaps.loc[gaps["k"] == 1, "gap"].iloc[0])
        table.attrs["gap_se_k1"] = float(gaps.loc[gaps["k"] == 1, "gap_se"].iloc[0])
    return table


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted positions of ``size`` random rows of ``n`` (all rows when ``n <= size``)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _stability_check(data: np.ndarray | pd.DataFrame, make: Callable[[int], Clusterer],
                     kcfg: Mapping[str, Any], seed: int) -> Callable[[int], float] | None:
    """``ari(k)``: mean bootstrap ARI of K segments on a sample (None when disabled)."""
    rounds = int(kcfg["stability_rounds"])
    if rounds == 0:
        return None
    rows = sample_rows(len(data), int(kcfg["stability_sample"]), seed + 1)
    sample = take(data, rows)

    def ari(k: int) -> float:
        reference = make(k).fit(sample).labels_
        return bootstrap_stability(sample, reference, lambda: make(k), rounds, len(rows),
                                   seed).ari_mean

    return ari


def select_k(matrix: np.ndarray, data: np.ndarray | pd.DataFrame,
             make: Callable[[int], Clusterer], probe: Clusterer, k_wanted: int | None,
             kcfg: Mapping[str, Any], seed: int) -> KSelection:
    """Evaluate the K range on a sample and pick K (the user's K, or the ``k=auto`` rule)."""
    rows = sample_rows(len(matrix), int(kcfg["sample"]), seed)
    sub_matrix, sub_data = matrix[rows], take(data, rows)
    common = dict(silhouette_sample=int(kcfg["silhouette_sample"]),
                  gap_references=int(kcfg["gap_references"]),
                  gap_sample=int(kcfg["gap_sample"]), seed=seed)
    if not probe.sets_k:
        table = evaluate_k_range(sub_matrix, lambda _: make(0).fit(sub_data), [0],
                                 **{**common, "gap_references": 0})
        found = int(table["segments_found"].iloc[0])
        table["k"] = found
        table["chosen"] = True
        return KSelection(table=table, k=0, reason=(
            f"{probe.name} finds the number of segments itself: {found} on the evaluation "
            "sample (k is ignored)"))
    k_min, k_max = int(kcfg["k_min"]), min(int(kcfg["k_max"]), len(rows) - 1)
    ks = set(range(k_min, k_max + 1)) | ({k_wanted} if k_wanted is not None else set())
    ks = sorted(k for k in ks if k < len(rows))
    if not ks:
        raise TabularInputError(
            f"only {len(matrix)} customers: too few to evaluate any K from {k_min} to "
            f"{kcfg['k_max']}")
    table = evaluate_k_range(sub_matrix, lambda k: make(k).fit(sub_data), ks, **common)
    auto = choose_k(table, float(kcfg["min_segment_share"]), float(kcfg["min_gain"]),
                    _stability_check(data, make, kcfg, seed), float(kcfg["min_stability"]),
                    bool(kcfg["bic_nominates"]))
    if k_wanted is None:
        return auto
    auto.table["chosen"] = auto.table["k"] == k_wanted
    return KSelection(table=auto.table, k=k_wanted, elbow_k=auto.elbow_k, gap_k=auto.gap_k,
                      bic_k=auto.bic_k,
                      reason=f"K={k_wanted} fixed by the configuration (k={k_wanted}); the "
                             f"k=auto rule would say: {auto.reason}")


__all__ = ["KSelection", "choose_k", "elbow_choice", "evaluate_k_range", "gap_choice",
           "sample_rows", "select_k", "separation_scores"]
