"""The algorithms follow scikit-learn's estimator conventions: parameters stored unchanged in
``__init__`` (so ``get_params`` / ``clone`` work), checked in ``fit``, learned state ending in
``_``, and ``NotFittedError`` from predict before fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from visionseg.tabular.algorithms import (
    Clusterer,
    DBSCANClusterer,
    KMeansClusterer,
    SpectralClusterer,
)
from visionseg.tabular.algorithms.imported import CentresClusterer, MixtureClusterer
from visionseg.tabular.config import CONFIG_DIR
from visionseg.tabular.errors import TabularInputError

ALGORITHMS = sorted(p.stem for p in (CONFIG_DIR / "algorithm").glob("*.yaml"))
FAST = {"autoencoder": {"epochs": 2}, "gmm": {"n_init": 1}, "kmeans": {"n_init": 2},
        "kprototypes": {"n_init": 1}}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    truth = np.repeat([0, 1, 2], 30)
    matrix = rng.normal(np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])[truth], 0.5)
    mixed = pd.DataFrame(matrix, columns=["a", "b"]).assign(
        region=np.array(["n", "s", "e"])[truth])
    return matrix, mixed


def _given(name: str) -> dict:
    cfg = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / "algorithm" / f"{name}.yaml"))
    cfg.pop("_target_")
    return {**cfg, "n_clusters": 3, "random_state": 0, **FAST.get(name, {})}


def _make(name: str) -> Clusterer:
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "algorithm" / f"{name}.yaml")
    return instantiate(cfg, n_clusters=3, random_state=0, _convert_="all", **FAST.get(name, {}))


def _learned(estimator: Clusterer) -> list[str]:
    return [k for k in vars(estimator) if k.endswith("_") and not k.startswith("__")]


@pytest.mark.parametrize("name", ALGORITHMS)
def test_parameters_are_stored_unchanged_and_fit_only_adds_learned_state(name, data):
    import torch

    torch.set_num_threads(1)
    matrix, mixed = data
    clusterer = _make(name)
    given = _given(name)
    assert clusterer.get_params() == given
    assert clone(clusterer).get_params() == given
    assert _learned(clusterer) == []
    with pytest.raises(NotFittedError):
        clusterer.predict(matrix)
    clusterer.fit(mixed if clusterer.mixed_input else matrix)
    assert clusterer.get_params() == given
    assert {"labels_", "membership_", "fit_rows_"} <= set(_learned(clusterer))
    public = {k for k in vars(clusterer) if not k.startswith("_")}
    assert public - set(_learned(clusterer)) == set(given)


def test_bad_parameters_are_accepted_by_init_and_refused_by_fit(data):
    matrix, _ = data
    cases = [(DBSCANClusterer(eps=-1.0), "algorithm.eps=-1.0"),
             (DBSCANClusterer(min_samples=1), "algorithm.min_samples=1"),
             (KMeansClusterer(3, on_oversize="drop"), "algorithm.on_oversize"),
             (KMeansClusterer(2.5), "algorithm.n_clusters=2.5"),
             (KMeansClusterer(3, max_rows=0), "algorithm.max_rows=0"),
             (SpectralClusterer(3, n_neighbors=0), "algorithm.n_neighbors=0")]
    for clusterer, message in cases:
        with pytest.raises(TabularInputError, match=message.replace(".", r"\.")):
            clusterer.fit(matrix)
        assert _learned(clusterer) == []


def test_imported_parameters_score_without_a_refit(data):
    matrix, _ = data
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    spark_labels = np.repeat([0, 1, 2], 30)
    imported = CentresClusterer(centres, name="spark_kmeans")
    assert imported.get_params()["centres"] is centres
    with pytest.raises(NotFittedError):
        imported.predict(matrix)
    imported.fit(matrix, spark_labels)
    np.testing.assert_array_equal(imported.labels_, spark_labels)
    np.testing.assert_array_equal(imported.predict(matrix), spark_labels)
    mixture = MixtureClusterer(np.full(3, 1 / 3), centres, np.stack([np.eye(2)] * 3))
    np.testing.assert_array_equal(mixture.fit(matrix).labels_, spark_labels)
    with pytest.raises(TabularInputError, match="centres"):
        CentresClusterer(np.zeros(3)).fit(matrix)


def test_the_dead_predict_membership_is_gone():
    assert not hasattr(Clusterer, "predict_membership")
