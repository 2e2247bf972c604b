"""Choosing the algorithm and K on tables whose right answer is known: DBSCAN's documented
defaults, BIC's proposal, the stability gate and the algorithm comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from visionseg.tabular.algorithms import NOISE, DBSCANClusterer
from visionseg.tabular.algorithms.dbscan import elbow_index, k_distances, min_samples_rule
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.k_rule import bic_choice, choose_k

FAST = ["stability.rounds=0", "k_selection.gap_references=0", "report.sample=200",
        "k_selection.stability_rounds=2", "k_selection.stability_sample=300"]


def blobs_with_noise(seed: int = 0):
    X, y = make_blobs(450, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=0.6,
                      random_state=seed)
    noise = np.random.default_rng(seed).uniform(-4, 10, size=(25, 2))
    return np.r_[X, noise], np.r_[y, np.full(25, NOISE)]


def test_k_distance_elbow_and_min_samples_rule_by_hand():
    # chord from (0,0) to (1,1) on the normalised curve: the largest gap is at index 3
    assert elbow_index(np.array([0.0, 1, 2, 3, 10, 20])) == 3
    assert elbow_index(np.array([1.0, 1, 1])) == 0
    assert (min_samples_rule(1), min_samples_rule(2), min_samples_rule(6)) == (4, 4, 12)
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(k_distances(X, 1), [1.0, 1.0, 2.0, 4.0])


def test_dbscan_finds_the_blobs_and_reports_the_noise():
    X, truth = blobs_with_noise()
    model = DBSCANClusterer().fit(X)
    assert model.min_samples_ == 4 and model.n_clusters_ == 3
    assert model.eps_ == pytest.approx(model.k_distances_[elbow_index(model.k_distances_)])
    blob = truth != NOISE
    assert adjusted_rand_score(truth[blob], model.labels_[blob]) > 0.95
    assert np.mean(model.labels_[~blob] == NOISE) > 0.7
    assert set(np.unique(model.membership_)) <= {0.0, 0.5, 1.0}
    labels, _ = model.predict_with_membership(np.array([[100.0, 100.0], [0.0, 0.0]]))
    assert labels[0] == NOISE and labels[1] == model.labels_[np.argmin(
        np.linalg.norm(X, axis=1))]
    with pytest.raises(TabularInputError, match="every customer is noise"):
        DBSCANClusterer(eps=1e-6).fit(X)


def test_bic_proposes_its_minimum_or_the_elbow_of_a_falling_curve():
    table = pd.DataFrame({"k": [2, 3, 4, 5], "bic": [10.0, 5.0, 7.0, 8.0]})
    assert bic_choice(table) == (3, "lowest BIC")
    falling = pd.DataFrame({"k": [2, 3, 4, 5, 6], "bic": [100.0, 40.0, 30.0, 28.0, 27.0]})
    assert bic_choice(falling)[0] == 3


def k_table():
    return pd.DataFrame({
        "k": [2, 3, 4, 5], "explained": [0.63, 0.77, 0.81, 0.85],
        "gain": [0.63, 0.14, 0.04, 0.04], "silhouette": [0.58, 0.46, 0.39, 0.35],
        "davies_bouldin": [0.5, 0.6, 0.7, 0.8], "calinski_harabasz": [9.0, 8, 7, 6],
        "min_share": 0.2, "bic": [50.0, 40.0, 45.0, 47.0]})


def test_an_unstable_k_cannot_win():
    assert choose_k(k_table()).k == 3
    gated = choose_k(k_table(), stability=lambda k: 0.3 if k == 3 else 0.9)
    assert gated.k == 2
    assert "K=3 (ARI 0.30)" in gated.reason
    assert gated.table.set_index("k")["stability_ari"].dropna().to_dict() == {3: 0.3, 2: 0.9}
    assert "BIC suggests K=3 (lowest BIC; reported, not a nominee)" in gated.reason
    assert "Each criterion alone would pick: elbow K=3, BIC K=3, silhouette K=2" in gated.reason
    assert choose_k(k_table(), bic_nominates=True).bic_k == 3


@pytest.fixture(scope="module")
def blob_customers(tmp_path_factory):
    X, y = make_blobs(450, n_features=3, centers=3, cluster_std=0.5, random_state=1)
    frame = pd.DataFrame(X + 10, columns=["a", "b", "c"]).assign(
        customer_id=[f"r{i}" for i in range(len(X))])
    path = tmp_path_factory.mktemp("choice") / "customers.csv"
    frame.to_csv(path, index=False)
    return path, y


def test_compare_ranks_algorithms_and_keeps_the_best(blob_customers, fit_cfg):
    path, truth = blob_customers
    result = fit_segmentation(fit_cfg(f"input={path}", "input_kind=customers",
                                      "columns.numeric=[a,b,c]", "compare=[kmeans,gmm,dbscan]",
                                      *FAST))
    table = result.comparison.table
    assert set(table["algorithm"]) == {"kmeans", "gmm", "dbscan"}
    assert table["chosen"].sum() == 1 and table.loc[table["chosen"], "k"].iloc[0] == 3
    assert {"silhouette", "stability_ari", "small_share", "seconds"} <= set(table.columns)
    assert result.comparison.winner in result.comparison.reason
    assigned = result.assignments.set_index("customer").loc[[f"r{i}" for i in range(450)]]
    assert adjusted_rand_score(truth, assigned["segment"]) > 0.95
    with pytest.raises(TabularInputError, match="unknown algorithm 'nope'"):
        fit_segmentation(fit_cfg(f"input={path}", "input_kind=customers",
                                 "columns.numeric=[a,b,c]", "compare=[kmeans,nope]", *FAST))


def test_gmm_reports_bics_k(blob_customers, fit_cfg):
    path, _ = blob_customers
    result = fit_segmentation(fit_cfg(f"input={path}", "input_kind=customers",
                                      "columns.numeric=[a,b,c]", *FAST))
    assert result.k_selection.bic_k == 3 and result.k_selection.k == 3
    assert "BIC suggests K=3" in result.k_selection.reason
