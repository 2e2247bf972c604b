"""engine=spark against the pandas engine on one local[2] session: the same features
exactly, matching segments, and a saved model that scores without Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.score import main as score_main
from visionseg.tabular.spark import session as spark_session_module
from visionseg.tabular.synthetic import planted_transactions

pytest.importorskip("pyspark")
pytestmark = [  # pyspark 4.3 warns on every conversion under pandas 3 (library-traps.md)
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
COMMON = ["stability.rounds=0", "k_selection.gap_references=0", "k_selection.stability_rounds=0",
          "report.sample=200", "k=5"]
SPARK = ["engine=spark", "spark.master='local[2]'"]


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory):
    tx, truth = planted_transactions(600, seed=12)
    path = tmp_path_factory.mktemp("spark") / "tx.csv"
    tx.to_csv(path, index=False)
    return path, truth


@pytest.fixture(scope="module")
def pandas_fit(planted_file):
    from visionseg.tabular.config import load_config

    return fit_segmentation(load_config("fit", [f"input={planted_file[0]}", "output=unused",
                                                "algorithm=kmeans", *COMMON]))


def by_customer(result) -> pd.Series:
    return result.assignments.set_index("customer")["segment"].sort_index()


def test_spark_features_equal_pandas_exactly_and_segments_match(planted_file, pandas_fit,
                                                                fit_cfg, tmp_path):
    path, truth = planted_file
    spark = fit_segmentation(fit_cfg(f"input={path}", *COMMON, *SPARK))
    ours = pandas_fit.features.sort_index()
    theirs = spark.features.sort_index()[ours.columns]
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert adjusted_rand_score(by_customer(pandas_fit), by_customer(spark)) >= 0.95
    assert spark.model.clusterer.name == "spark_kmeans"
    assert any("engine=spark" in note for note in spark.quality.notes)

    spark.model.save(tmp_path / "model.joblib")
    scores = tmp_path / "scores.csv"
    assert score_main([f"model={tmp_path / 'model.joblib'}", f"input={path}",
                       f"output={scores}"]) == 0
    scored = pd.read_csv(scores).set_index("customer")["segment"].sort_index()
    assert (scored.to_numpy() == by_customer(spark).to_numpy()).mean() > 0.99


@pytest.mark.parametrize("algorithm", ["bisecting_kmeans", "gmm"])
def test_spark_mllib_algorithms_recover_the_plant(algorithm, planted_file, fit_cfg):
    path, truth = planted_file
    result = fit_segmentation(fit_cfg(f"input={path}", *COMMON, *SPARK,
                                      f"spark.algorithm={algorithm}"))
    assigned = by_customer(result).loc[truth.index]
    # measured 0.70 (bisecting) and 0.71 (gmm) against the plant, which K-Means finds at
    # 0.95+; before the offset fix bisecting K-Means put everyone in one segment (ARI 0)
    assert adjusted_rand_score(truth.to_numpy(), assigned.to_numpy()) >= 0.6
    assert len(np.unique(assigned)) == 5
    assert result.model.clusterer.name == f"spark_{algorithm}"


def test_spark_refuses_what_it_does_not_do(planted_file, fit_cfg):
    path, _ = planted_file
    with pytest.raises(TabularInputError, match="engine=spark builds the RFM features"):
        fit_segmentation(fit_cfg(f"input={path}", *COMMON, *SPARK, "columns.channel=channel"))
    with pytest.raises(TabularInputError, match="spark.algorithm must be one of"):
        fit_segmentation(fit_cfg(f"input={path}", *COMMON, *SPARK, "spark.algorithm=ward"))


def test_a_clear_message_without_java(monkeypatch):
    monkeypatch.setattr(spark_session_module.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(TabularInputError, match="engine=spark needs Java 17"):
        spark_session_module.java_version()
