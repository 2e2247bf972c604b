"""Fitting one algorithm end to end, and comparing several on the same features.

``compare=[gmm,kmeans,ward,dbscan]`` (or ``compare=auto`` for :data:`AUTO`) fits every named
algorithm on the same preprocessed customers, each with its own K choice, and ranks them on
one table: silhouette in the distance the algorithm uses (Gower for ``gower`` and
``kprototypes``, Euclidean on the preprocessed features otherwise), Davies-Bouldin (Euclidean
algorithms only), bootstrap stability (mean ARI), the share of customers left in segments
under the minimum size or in noise, and the fit time. An algorithm whose stability is below
``k_selection.min_stability`` cannot win; among the others the best mean rank over
silhouette, stability and the small-segment share wins (ties: the faster).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gower
import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from sklearn.metrics import davies_bouldin_score, silhouette_score

from visionseg.tabular.algorithms.base import NOISE, Clusterer, take
from visionseg.tabular.config import CONFIG_DIR
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.k_selection import KSelection, sample_rows, select_k
from visionseg.tabular.preprocess import Preprocessor
from visionseg.tabular.stability import bootstrap_stability

AUTO = ("gmm", "kmeans", "ward", "dbscan")


def clusterer_factory(algorithm_cfg: Any, seed: int) -> Callable[[int], Clusterer]:
    """``make(k)``: a fresh clusterer of the configured algorithm with ``k`` segments."""
    from hydra.utils import instantiate

    def make(k: int) -> Clusterer:
        clusterer = instantiate(algorithm_cfg, n_clusters=k, random_state=seed, _convert_="all")
        if not isinstance(clusterer, Clusterer):
            raise TabularInputError(
                f"algorithm._target_ must name a visionseg.tabular Clusterer, got "
                f"{type(clusterer).__name__}")
        return clusterer

    return make


@dataclass
class Fitted:
    """One algorithm fitted on the customers, with its K choice."""

    algorithm_cfg: dict[str, Any]
    make: Callable[[int], Clusterer]
    data: np.ndarray | pd.DataFrame
    selection: KSelection
    clusterer: Clusterer
    seconds: float


def fit_algorithm(algorithm_cfg: Mapping[str, Any], matrix: np.ndarray, features: pd.DataFrame,
                  preprocessor: Preprocessor, k_wanted: int | None, cfg: Mapping[str, Any],
                  seed: int) -> Fitted:
    """Choose K for one algorithm and fit it on every customer."""
    start = time.perf_counter()
    make = clusterer_factory(algorithm_cfg, seed)
    probe = make(2)
    data = preprocessor.transform_mixed(features) if probe.mixed_input else matrix
    selection = select_k(matrix, data, make, probe, k_wanted, cfg["k_selection"], seed)
    clusterer = make(selection.k).fit(data)
    return Fitted(dict(algorithm_cfg), make, data, selection, clusterer,
                  time.perf_counter() - start)


def candidate_configs(names: Any) -> dict[str, dict[str, Any]]:
    """The algorithm configs named by ``compare`` (``auto`` = :data:`AUTO`)."""
    names = list(AUTO) if names == "auto" else [str(n) for n in names]
    configs = {}
    for name in names:
        path = CONFIG_DIR / "algorithm" / f"{name}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in path.parent.glob("*.yaml"))
            raise TabularInputError(f"compare names unknown algorithm {name!r}; known: {known}")
        configs[name] = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if len(configs) < 2:
        raise TabularInputError("compare needs at least two algorithms (or compare=auto)")
    return configs


def internal_indices(fitted: Fitted, matrix: np.ndarray, sample: int, seed: int
                     ) -> tuple[float, float]:
    """Silhouette (in the algorithm's own distance) and Davies-Bouldin (Euclidean only)."""
    labels = fitted.clusterer.labels_
    rows = sample_rows(len(labels), sample, seed)
    rows = rows[labels[rows] != NOISE]
    sub = labels[rows]
    if len(np.unique(sub)) < 2 or len(np.unique(sub)) >= len(sub):
        return float("nan"), float("nan")
    if fitted.clusterer.mixed_input:
        frame = take(fitted.data, rows)
        cat = np.array([not pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns])
        distances = gower.gower_matrix(frame.to_numpy(dtype=object), cat_features=cat)
        np.fill_diagonal(distances, 0.0)
        return float(silhouette_score(np.maximum(distances, distances.T), sub,
                                      metric="precomputed")), float("nan")
    return (float(silhouette_score(matrix[rows], sub)),
            float(davies_bouldin_score(matrix[rows], sub)))


@dataclass
class Comparison:
    """The ranking table, the winner and why."""

    table: pd.DataFrame
    winner: str
    reason: str


def rank_algorithms(rows: list[dict[str, Any]], min_stability: float) -> Comparison:
    """Rank the measured algorithms and pick one (rule in this module's docstring)."""
    table = pd.DataFrame(rows)
    rounded = table[["silhouette", "stability_ari", "small_share"]].round(3)  # ties are ties
    ranks = pd.concat([rounded["silhouette"].rank(ascending=False, method="min",
                                                  na_option="bottom"),
                       rounded["stability_ari"].rank(ascending=False, method="min",
                                                     na_option="bottom"),
                       rounded["small_share"].rank(ascending=True, method="min")], axis=1)
    table["mean_rank"] = ranks.mean(axis=1)
    table["stable_enough"] = table["stability_ari"].fillna(0) >= min_stability
    pool = table[table["stable_enough"]] if table["stable_enough"].any() else table
    best = pool.sort_values(["mean_rank", "seconds"]).iloc[0]
    table["chosen"] = table["algorithm"] == best["algorithm"]
    unstable = table.loc[~table["stable_enough"], "algorithm"].tolist()
    reason = (f"{best['algorithm']} (K={int(best['k'])}): the best mean rank (ties: the "
              f"fastest) "
              f"{best['mean_rank']:.2f} over silhouette ({best['silhouette']:.3f}), "
              f"bootstrap stability (ARI {best['stability_ari']:.2f}) and the share of "
              f"customers in undersized segments or noise ({best['small_share']:.1%})")
    if unstable:
        reason += (f"; not eligible, bootstrap ARI below {min_stability}: "
                   f"{', '.join(unstable)}")
    return Comparison(table.sort_values("mean_rank").reset_index(drop=True),
                      str(best["algorithm"]), reason + ".")


def compare_algorithms(names: Any, matrix: np.ndarray, features: pd.DataFrame,
                       preprocessor: Preprocessor, k_wanted: int | None,
                       cfg: Mapping[str, Any], seed: int) -> tuple[Comparison, Fitted]:
    """Fit every candidate, rank them, return the ranking and the winner's fit."""
    kcfg = cfg["k_selection"]
    fits, rows = {}, []
    skipped = []
    for name, acfg in candidate_configs(names).items():
        try:
            fitted = fit_algorithm(acfg, matrix, features, preprocessor, k_wanted, cfg, seed)
        except TabularInputError as exc:  # e.g. too many customers for an O(n^2) algorithm
            skipped.append(f"{name} ({exc})")
            continue
        labels = fitted.clusterer.labels_
        silhouette, db = internal_indices(fitted, matrix, kcfg["silhouette_sample"], seed)
        rows_s = sample_rows(len(labels), kcfg["stability_sample"], seed + 1)
        stable = bootstrap_stability(take(fitted.data, rows_s), labels[rows_s],
                                     lambda f=fitted: f.make(f.selection.k),
                                     max(kcfg["stability_rounds"], 2), len(rows_s), seed)
        ids, counts = np.unique(labels, return_counts=True)
        small = counts[(ids == NOISE) | (counts / len(labels) < kcfg["min_segment_share"])]
        rows.append({"algorithm": name, "k": int(len(ids[ids != NOISE])),
                     "silhouette": silhouette, "davies_bouldin": db,
                     "stability_ari": stable.ari_mean, "small_share": small.sum() / len(labels),
                     "noise_share": float(np.mean(labels == NOISE)),
                     "seconds": fitted.seconds,
                     "distance": "Gower" if fitted.clusterer.mixed_input else "Euclidean"})
        fits[name] = fitted
    if not rows:
        raise TabularInputError(f"compare: no algorithm could be fitted: {'; '.join(skipped)}")
    comparison = rank_algorithms(rows, float(kcfg["min_stability"]))
    if skipped:
        comparison.reason += f" Skipped: {'; '.join(skipped)}."
    return comparison, fits[comparison.winner]
