"""Choosing the number of segments K from several criteria at once.

For every K of the range the algorithm is fitted (on a sample of at most ``sample``
customers) and measured: within-segment sum of squares ("inertia") and the share of variance
it explains, silhouette (on a sample of ``silhouette_sample``), Davies-Bouldin,
Calinski-Harabasz, the gap statistic (Tibshirani et al. 2001, K-Means against uniform
references in the principal-component box), BIC/AIC for mixtures, and the smallest segment's
share of customers.

The ``k=auto`` rule. Silhouette alone favours K=2 (one split along the main axis of
variation), which is rarely useful to a marketer, so the rule asks three questions in turn:

1. How many segments are worth having? Two criteria nominate a K. The **elbow** K_e: the
   first K after which one more segment explains less than ``min_gain`` (5%) more of the
   total variance (diminishing returns). The **gap statistic** K_g: the smallest K with
   Gap(K) >= Gap(K+1) - s(K+1) (structure beyond what uniform data would show).
2. Is every segment big enough to act on? A K is admissible only if its smallest segment
   holds at least ``min_segment_share`` (3%) of the customers.
3. Which admissible nominee separates best? The one with the best mean rank (over the whole
   K range) on silhouette, Davies-Bouldin and Calinski-Harabasz, plus BIC for mixtures;
   ties go to the smaller K.

If neither nominee is admissible, the largest admissible K below the smaller nominee is
taken, else the smallest admissible K above it; if no K of the range is admissible, the K
whose smallest segment is largest. The returned reason states each step with its numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from visionseg.tabular.algorithms.base import NOISE, Clusterer, take
from visionseg.tabular.errors import TabularInputError

RANK_CRITERIA = {"silhouette": False, "davies_bouldin": True, "calinski_harabasz": False,
                 "bic": True}


@dataclass
class KSelection:
    """The K table, the chosen K and why."""

    table: pd.DataFrame
    k: int
    reason: str
    elbow_k: int | None = None
    gap_k: int | None = None


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


def gap_choice(gaps: pd.DataFrame) -> int:
    """Smallest K with Gap(K) >= Gap(K+1) - s(K+1); the largest K if none."""
    gaps = gaps.sort_values("k").reset_index(drop=True)
    for i in range(len(gaps) - 1):
        if gaps.loc[i, "gap"] >= gaps.loc[i + 1, "gap"] - gaps.loc[i + 1, "gap_se"]:
            return int(gaps.loc[i, "k"])
    return int(gaps["k"].iloc[-1])


def elbow_choice(table: pd.DataFrame, min_gain: float) -> int:
    """First K after which one more segment explains less than ``min_gain`` more variance."""
    ks = table["k"].to_numpy()
    gains = table["gain"].to_numpy()
    for i in range(len(ks) - 1):
        if ks[i + 1] == ks[i] + 1 and gains[i + 1] < min_gain:
            return int(ks[i])
    return int(ks[-1])


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


def choose_k(table: pd.DataFrame, min_segment_share: float = 0.03,
             min_gain: float = 0.05) -> KSelection:
    """Apply the ``k=auto`` rule of this module's docstring to a table from
    :func:`evaluate_k_range`; the table gains ``admissible``, ``mean_rank`` and ``chosen``."""
    table = table.copy()
    table["admissible"] = table["min_share"] >= min_segment_share
    k_e = elbow_choice(table, min_gain)
    k_g = None
    if "gap" in table and table["gap"].notna().any():
        gaps = pd.concat([pd.DataFrame({"k": [1], "gap": [table.attrs.get("gap_k1", np.nan)],
                                        "gap_se": [table.attrs.get("gap_se_k1", np.nan)]}),
                          table[["k", "gap", "gap_se"]]], ignore_index=True)
        k_g = gap_choice(gaps.dropna())
    nominees = sorted({k_e} if k_g is None or k_g not in set(table["k"]) else {k_e, k_g})
    ranks = []
    used = []
    for col, ascending in RANK_CRITERIA.items():
        if col in table and table[col].notna().any():
            ranks.append(table[col].rank(ascending=ascending, method="min", na_option="bottom"))
            used.append(col.replace("_", "-"))
    table["mean_rank"] = pd.concat(ranks, axis=1).mean(axis=1)
    if k_e < int(table["k"].max()):
        elbow_text = (f"the elbow is at K={k_e} (one more segment adds only "
                      f"{_gain_after(table, k_e):.1%} of the variance, below {min_gain:.0%})")
    else:
        elbow_text = (f"each segment up to K={k_e}, the top of the range, still adds at least "
                      f"{min_gain:.0%} of the variance (no elbow inside the range)")
    gap_text = (f"the gap statistic suggests K={k_g}" if k_g is not None
                else "no gap statistic was computed")
    if k_g is not None and k_g not in set(table["k"]):
        gap_text += " (outside the range, so not a candidate)"
    candidates = table[table["k"].isin(nominees) & table["admissible"]]
    if len(candidates):
        best = candidates.sort_values(["mean_rank", "k"]).iloc[0]
        k = int(best["k"])
        choice = ("the only candidate" if len(nominees) == 1 else
                  f"of K={' and K='.join(str(n) for n in nominees)}, K={k} has the better "
                  f"mean rank over {', '.join(used)}")
        reason = (f"K={k}: {elbow_text}; {gap_text}; every segment holds at least "
                  f"{min_segment_share:.0%} of customers (smallest {best['min_share']:.1%}); "
                  f"{choice} (silhouette {best['silhouette']:.3f}).")
    else:
        low = min(nominees)
        below = table[(table["k"] < low) & table["admissible"]]
        above = table[(table["k"] > low) & table["admissible"]]
        if len(below):
            k = int(below["k"].max())
            why = f"the largest admissible K below {low}"
        elif len(above):
            k = int(above["k"].min())
            why = f"the smallest admissible K above {low}"
        else:
            k = int(table.sort_values(["min_share", "k"], ascending=[False, True])["k"].iloc[0])
            why = (f"the K with the largest smallest segment, as no K of the range gives every "
                   f"segment {min_segment_share:.0%} of customers")
        reason = (f"K={k}: {elbow_text}; {gap_text}; but at K={' and K='.join(map(str, nominees))}"
                  f" some segment holds less than {min_segment_share:.0%} of customers, so K={k}"
                  f" is {why}.")
    best_sil = table.loc[table["silhouette"].idxmax()] if table["silhouette"].notna().any() \
        else None
    if best_sil is not None and int(best_sil["k"]) != k:
        reason += (f" Silhouette alone would pick K={int(best_sil['k'])} "
                   f"({best_sil['silhouette']:.3f}).")
    table["chosen"] = table["k"] == k
    return KSelection(table=table, k=k, reason=reason, elbow_k=k_e, gap_k=k_g)


def _gain_after(table: pd.DataFrame, k: int) -> float:
    nxt = table.loc[table["k"] == k + 1, "gain"]
    return float(nxt.iloc[0]) if len(nxt) and pd.notna(nxt.iloc[0]) else 0.0


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted positions of ``size`` random rows of ``n`` (all rows when ``n <= size``)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


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
    auto = choose_k(table, float(kcfg["min_segment_share"]), float(kcfg["min_gain"]))
    if k_wanted is None:
        return auto
    auto.table["chosen"] = auto.table["k"] == k_wanted
    return KSelection(table=auto.table, k=k_wanted, elbow_k=auto.elbow_k, gap_k=auto.gap_k,
                      reason=f"K={k_wanted} fixed by the configuration (k={k_wanted}); the "
                             f"k=auto rule would say: {auto.reason}")
