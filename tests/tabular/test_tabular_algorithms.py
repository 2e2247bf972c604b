"""Every configured algorithm runs on a small mixed table through the one interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.metrics import adjusted_rand_score

from visionseg.tabular.algorithms import NOISE, Clusterer, KPrototypesClusterer, WardClusterer
from visionseg.tabular.config import CONFIG_DIR
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.preprocess import Preprocessor

ALGORITHMS = sorted(p.stem for p in (CONFIG_DIR / "algorithm").glob("*.yaml"))
FAST = {"autoencoder": {"epochs": 15}, "gmm": {"n_init": 1}, "kmeans": {"n_init": 3},
        "kprototypes": {"n_init": 1}}


@pytest.fixture(scope="module")
def mixed():
    """Three groups in two numeric columns (one skewed) and one noisy categorical column."""
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 60)
    frame = pd.DataFrame({
        "spend": rng.lognormal(np.array([1.0, 3.0, 5.0])[truth], 0.3),
        "visits": rng.normal(np.array([2.0, 8.0, 4.0])[truth], 0.7),
        "region": np.where(rng.random(180) < 0.85, np.array(["north", "south", "east"])[truth],
                           "west"),
    })
    frame.loc[5, "visits"] = np.nan
    frame.loc[7, "region"] = None
    prep = Preprocessor(["spend", "visits"], ["region"])
    return frame, truth, prep.fit_transform(frame), prep.transform_mixed(frame), prep


def make(name: str, k: int = 3) -> Clusterer:
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "algorithm" / f"{name}.yaml")
    return instantiate(cfg, n_clusters=k, random_state=0, _convert_="all", **FAST.get(name, {}))


def test_every_config_is_listed():
    assert set(ALGORITHMS) == {"autoencoder", "gmm", "gower", "hdbscan", "kmeans",
                               "kprototypes", "minibatch_kmeans", "spectral", "ward", "dbscan"}


@pytest.mark.parametrize("name", ALGORITHMS)
def test_algorithm_runs_on_a_mixed_table(name, mixed):
    import torch

    torch.set_num_threads(1)
    frame, truth, matrix, mixed_frame, _ = mixed
    clusterer = make(name)
    data = mixed_frame if clusterer.mixed_input else matrix
    clusterer.fit(data)
    labels, membership = clusterer.labels_, clusterer.membership_
    assert labels.shape == membership.shape == (len(frame),)
    assert np.all((membership >= 0) & (membership <= 1))
    found = np.unique(labels[labels != NOISE])
    if clusterer.sets_k:
        assert len(found) == 3 and NOISE not in labels
    assert adjusted_rand_score(truth, labels) > 0.6
    new_labels, new_membership = clusterer.predict_with_membership(data.iloc[:20] if isinstance(
        data, pd.DataFrame) else data[:20])
    assert set(new_labels) <= set(found) | {NOISE}
    assert np.all((new_membership >= 0) & (new_membership <= 1))


def test_gmm_scores_and_soft_membership(mixed):
    _, _, matrix, _, _ = mixed
    gmm = make("gmm").fit(matrix)
    scores = gmm.scores()
    assert scores["bic"] > scores["aic"]
    proba = gmm.predict_proba(matrix)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(gmm.membership_, proba.max(axis=1))


def test_quadratic_algorithms_refuse_or_sample(mixed):
    _, truth, matrix, _, _ = mixed
    with pytest.raises(TabularInputError, match=r"180 customers exceed algorithm.max_rows=50.*"
                                                 r"on_oversize=sample"):
        WardClusterer(n_clusters=3, max_rows=50).fit(matrix)
    sampled = WardClusterer(n_clusters=3, max_rows=90, on_oversize="sample").fit(matrix)
    assert len(sampled.fit_rows_) == 90
    assert adjusted_rand_score(truth, sampled.labels_) > 0.6


def test_kprototypes_needs_categorical_columns(mixed):
    _, _, _, mixed_frame, _ = mixed
    with pytest.raises(TabularInputError, match="kprototypes needs numeric and categorical"):
        KPrototypesClusterer(n_clusters=3).fit(mixed_frame[["spend", "visits"]])


def test_k_must_be_below_the_number_of_customers(mixed):
    _, _, matrix, _, _ = mixed
    with pytest.raises(TabularInputError, match="k=5 segments asked for 4 customers"):
        make("kmeans", k=5).fit(matrix[:4])


def test_preprocessor_top_n_one_hot_and_other(mixed):
    frame, _, _, _, _ = mixed
    prep = Preprocessor(["spend"], ["region"], top_n=2)
    matrix = prep.fit_transform(frame)
    assert prep.feature_names[:1] == ["spend"]
    assert len(prep.feature_names) == 1 + 3  # two most frequent regions + "other"
    assert prep.skewed_columns == ["spend"]
    unseen = prep.transform(pd.DataFrame({"spend": [10.0], "region": ["atlantis"]}))
    other = [i for i, n in enumerate(prep.feature_names) if "infrequent" in n]
    assert unseen[0, other[0]] == 1.0
    assert np.allclose(matrix[:, 1:].sum(axis=1), 1.0)


def test_preprocessor_winsorizes_then_logs_then_scales():
    values = np.r_[np.exp(np.linspace(0.0, 6.0, 199)), 1e9]
    frame = pd.DataFrame({"x": values, "y": np.linspace(-1.0, 1.0, 200)})
    prep = Preprocessor(["x", "y"], winsorize=(0.01, 0.99), scaler="standard")
    out = prep.fit_transform(frame)
    assert prep.skewed_columns == ["x"]
    clipped = np.clip(values, np.quantile(values, 0.01), np.quantile(values, 0.99))
    assert clipped.max() < 1000  # the 1e9 outlier is gone before the log
    logged = np.log1p(clipped)
    np.testing.assert_allclose(out[:, 0], (logged - logged.mean()) / logged.std(), atol=1e-9)
    y = frame["y"].to_numpy()
    y = np.clip(y, np.quantile(y, 0.01), np.quantile(y, 0.99))  # clipped, not logged
    np.testing.assert_allclose(out[:, 1], (y - y.mean()) / y.std(), atol=1e-9)
