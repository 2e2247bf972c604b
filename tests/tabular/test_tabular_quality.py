"""The default pipeline against known answers: labelled data sets and planted segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris, load_wine
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from visionseg.tabular.fit import fit_segmentation


@pytest.mark.parametrize("loader", [load_iris, load_wine], ids=["iris", "wine"])
def test_default_pipeline_beats_plain_kmeans_with_true_k(loader, tmp_path, fit_cfg):
    data = loader(as_frame=True)
    features = data.frame.drop(columns="target")
    truth = data.target.to_numpy()
    table = features.assign(customer_id=[f"r{i}" for i in range(len(features))])
    path = tmp_path / "customers.csv"
    table.to_csv(path, index=False)
    numeric = ",".join(f"'{c}'" for c in features.columns)
    result = fit_segmentation(fit_cfg(f"input={path}", "input_kind=customers",
                                      f"columns.numeric=[{numeric}]", "stability.rounds=0"))
    assigned = result.assignments.set_index("customer").loc[table["customer_id"], "segment"]
    ours = adjusted_rand_score(truth, assigned.to_numpy())

    k_true = len(np.unique(truth))
    plain = KMeans(n_clusters=k_true, n_init=10, random_state=0).fit_predict(
        StandardScaler().fit_transform(features))
    reference = adjusted_rand_score(truth, plain)
    assert reference == pytest.approx({"load_iris": 0.62, "load_wine": 0.90}[loader.__name__],
                                      abs=0.01)
    assert result.k_selection.k == k_true
    assert ours >= reference


def test_planted_segments_are_recovered_and_named(planted, planted_csv, fit_cfg):
    tx, truth = planted
    result = fit_segmentation(fit_cfg(f"input={planted_csv}", "stability.rounds=0",
                                      "k_selection.gap_references=2"))
    assigned = result.assignments.set_index("customer")
    found = assigned.loc[truth.index]
    assert result.k_selection.k == 5
    assert adjusted_rand_score(truth.to_numpy(), found["segment"].to_numpy()) >= 0.9
    majority = pd.crosstab(truth, found["name"]).idxmax(axis=1)
    assert majority["high-value loyal"] == "champions"
    assert majority["at risk"] == "valuable customers at risk"
    assert majority["dormant"] == "dormant"
    assert majority["new"] == "new customers"
    assert majority["occasional"] == "active occasional buyers"
    assert result.profiles["name"].is_unique
    # revenue shares add up and the loyal segment brings most of it
    profiles = result.profiles.set_index("name")
    assert profiles["revenue_share"].sum() == pytest.approx(1.0)
    assert profiles["revenue_share"].idxmax() == "champions"
    assert profiles["revenue"].sum() == pytest.approx(tx["amount"].sum())
