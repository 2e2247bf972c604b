"""K selection criteria, the k=auto rule, stability, profiles, Kruskal-Wallis and cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kruskal
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from visionseg.tabular.algorithms import KMeansClusterer
from visionseg.tabular.cohorts import order_values, retention_table
from visionseg.tabular.k_selection import (
    choose_k,
    elbow_choice,
    gap_choice,
    sampled_silhouette,
    within_ss,
)
from visionseg.tabular.profiles import kruskal_table
from visionseg.tabular.stability import bootstrap_stability


def blobs(n_per: int = 80, centres=((0, 0), (6, 0), (0, 6), (6, 6)), seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, 0.6, size=(n_per, 2)) for c in centres])
    return X, np.repeat(np.arange(len(centres)), n_per)


def test_within_ss_equals_kmeans_inertia():
    X, _ = blobs()
    model = KMeans(n_clusters=4, n_init=3, random_state=0).fit(X)
    assert within_ss(X, model.labels_) == pytest.approx(model.inertia_, rel=1e-9)


def test_sampled_silhouette_is_the_full_one_when_the_sample_covers_everything():
    X, labels = blobs(30)
    assert sampled_silhouette(X, labels, sample=10_000) == pytest.approx(
        silhouette_score(X, labels))
    assert sampled_silhouette(X, labels, sample=50) == pytest.approx(
        silhouette_score(X, labels), abs=0.1)


def k_table(explained, silhouette, share=None, gap=None):
    ks = np.arange(2, 2 + len(explained))
    table = pd.DataFrame({
        "k": ks, "explained": explained,
        "gain": np.diff(np.r_[0.0, explained]),
        "silhouette": silhouette, "davies_bouldin": 1.0 / np.asarray(silhouette),
        "calinski_harabasz": silhouette, "min_share": share if share is not None else 0.2,
    })
    if gap is not None:
        table["gap"], table["gap_se"] = gap, 0.01
        table.attrs.update(gap_k1=0.0, gap_se_k1=0.01)
    return table


def test_auto_rule_prefers_the_elbow_over_silhouettes_k2():
    # silhouette is best at K=2, but a third segment still explains 14% more variance
    table = k_table([0.63, 0.77, 0.81, 0.85], [0.58, 0.46, 0.39, 0.35])
    assert elbow_choice(table, 0.05) == 3
    selection = choose_k(table)
    assert selection.k == 3
    assert "elbow is at K=3" in selection.reason
    assert "Silhouette alone would pick K=2" in selection.reason


def test_auto_rule_respects_the_minimum_segment_share():
    table = k_table([0.3, 0.5, 0.7, 0.72], [0.4, 0.45, 0.5, 0.3], share=[0.4, 0.2, 0.01, 0.01])
    selection = choose_k(table)
    assert selection.elbow_k == 4
    assert selection.k == 3
    assert "less than 3% of customers" in selection.reason


def test_auto_rule_lets_separation_arbitrate_between_elbow_and_gap():
    table = k_table([0.4, 0.6, 0.8, 0.82, 0.9], [0.3, 0.4, 0.7, 0.5, 0.6],
                    gap=[0.1, 0.2, 0.3, 0.4, 0.8])
    assert gap_choice(pd.DataFrame({"k": [1, *table["k"]], "gap": [0.0, *table["gap"]],
                                    "gap_se": 0.01})) == 6
    selection = choose_k(table)
    assert (selection.elbow_k, selection.gap_k, selection.k) == (4, 6, 4)


def test_bootstrap_stability_separates_structure_from_noise():
    X, truth = blobs(60)
    model = KMeansClusterer(4, n_init=2).fit(X)
    stable = bootstrap_stability(X, model.labels_, lambda: KMeansClusterer(4, n_init=2),
                                 rounds=5, sample=240)
    assert stable.ari_mean > 0.95 and (stable.jaccard > 0.9).all()
    noise = np.random.default_rng(3).uniform(size=(240, 2))
    noisy_model = KMeansClusterer(6, n_init=2).fit(noise)
    unstable = bootstrap_stability(noise, noisy_model.labels_,
                                   lambda: KMeansClusterer(6, n_init=2), rounds=5, sample=240)
    assert unstable.ari_mean < stable.ari_mean - 0.1
    assert len(unstable.jaccard) == 6


def test_kruskal_table_matches_scipy_and_effect_size_formula():
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1, 2], 40)
    features = pd.DataFrame({"x": rng.normal(labels * 1.0), "y": rng.normal(size=120)})
    table = kruskal_table(features, labels).set_index("feature")
    h, p = kruskal(*(features["x"][labels == s] for s in range(3)))
    assert table.loc["x", "H"] == pytest.approx(h)
    assert table.loc["x", "p_value"] == pytest.approx(p)
    assert table.loc["x", "eta_squared"] == pytest.approx((h - 3 + 1) / (120 - 3))
    assert table.loc["x", "effect"] == "large"
    assert table.loc["y", "effect"] in ("negligible", "small")


def test_retention_table_by_hand():
    tx = pd.DataFrame({
        "customer": ["a", "a", "a", "b", "b", "c"],
        "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-04-10", "2024-01-20",
                                "2024-01-25", "2024-03-03"]),
        "amount": [10.0, 250.0, 30.0, 40.0, 50.0, 60.0],
    })
    table = retention_table(tx, max_months=3).set_index("cohort")
    # cohort 2024-01: a and b; a buys again in month 1 and 3, b only in month 0
    assert table.loc["2024-01", "customers"] == 2
    assert table.loc["2024-01", ["m0", "m1", "m2", "m3"]].tolist() == [1.0, 0.5, 0.0, 0.5]
    # cohort 2024-03: c; the data end in April, so months 2 and 3 are not observed yet
    assert table.loc["2024-03", "m1"] == 0.0
    assert np.isnan(table.loc["2024-03", "m2"]) and np.isnan(table.loc["2024-03", "m3"])
    segments = pd.Series({"a": 0, "b": 1, "c": 1})
    values = order_values(tx, segments, high_value=100).set_index("segment")
    assert values.loc[0, "orders"] == 3 and values.loc[1, "orders"] == 3
    assert values.loc[0, "share_above_100"] == pytest.approx(1 / 3)
    assert values.loc[1, "median"] == 50.0
