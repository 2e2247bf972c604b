"""``engine=spark``: the fit with Spark doing the per-transaction and per-customer work.

Spark reads and cleans the transactions and builds the features (:mod:`.features`); the
preprocessing (the same scikit-learn transformer as the pandas engine, fitted on the
customers) runs on the executors through Arrow; K is chosen on a sample with the
scikit-learn counterpart of the algorithm (K-Means for both K-Means kinds, the Gaussian
mixture for ``gmm``); Spark MLlib then fits every customer. The fitted centres or mixture
parameters become a clusterer that scores without Spark. Names, profiles, stability (on a
sample) and the model are :func:`visionseg.tabular.finish.finish_fit`, shared with the pandas
engine (a sibling this module never imports), on the collected per-customer features.
Reading and cleaning follow the pandas engine's options, counts and refusals
(:mod:`.reading`, :mod:`.cleaning`). Not supported with ``engine=spark``: optional columns,
validation windows and cohorts (the report says so).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular.algorithms.imported import CentresClusterer, MixtureClusterer
from visionseg.tabular.cleaning import ColumnMap
from visionseg.tabular.compare import Fitted, clusterer_factory
from visionseg.tabular.config import parse_k
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.feature_set import FeatureSet, chosen_features, refuse_degenerate
from visionseg.tabular.features import Windows
from visionseg.tabular.finish import finish_fit
from visionseg.tabular.io import ReaderOptions
from visionseg.tabular.k_selection import select_k
from visionseg.tabular.preprocess import Preprocessor
from visionseg.tabular.results import FitResult
from visionseg.tabular.spark import features as spark_features
from visionseg.tabular.spark.cleaning import clean_transactions, exclude_late_rows
from visionseg.tabular.spark.reading import read_transactions
from visionseg.tabular.spark.session import spark_session

log = logging.getLogger(__name__)
# MLlib's bisecting K-Means splits a cluster around its centre by noise scaled with the
# centre's norm: standardised data (centre = origin) never split. Every engine gets the
# vectors shifted by OFFSET (clustering is translation invariant) and the result shifted back.
OFFSET = 10.0
SKLEARN_COUNTERPART = {"kmeans": "KMeansClusterer", "bisecting_kmeans": "KMeansClusterer",
                       "gmm": "GaussianMixtureClusterer"}


def spark_feature_set(cfg: Mapping[str, Any]) -> tuple[FeatureSet, Any]:
    """Features built by Spark (also returned as a Spark DataFrame) and the data record."""
    if cfg["input_kind"] != "transactions":
        raise TabularInputError("engine=spark reads transactions (input_kind=transactions)")
    fcfg = cfg["features"]
    if fcfg["validation_months"]:
        raise TabularInputError("features.validation_months needs engine=pandas")
    scfg = cfg["spark"]
    spark = spark_session(scfg["master"], scfg["driver_memory"])
    source, reader = str(cfg["input"]), ReaderOptions.from_config(cfg["reader"])
    columns = ColumnMap.from_config(cfg["columns"])
    raw = read_transactions(spark, source, reader)
    tx, dq = clean_transactions(raw, columns, source, cfg["returns"], cfg["duplicates"],
                                bool(cfg["strict"]), reader)
    if fcfg["reference_date"] is None:
        tx = exclude_late_rows(tx, cfg["late_rows"]["quantile"],
                               cfg["late_rows"]["max_gap_days"], bool(cfg["strict"]), source,
                               dq)
    ref = (pd.Timestamp(fcfg["reference_date"]) if fcfg["reference_date"]
           else spark_features.last_day(tx))
    months = fcfg["observation_months"]
    start = ref - pd.DateOffset(months=int(months)) if months else None
    windows = Windows(reference_date=ref, observation_start=start)
    observed = tx.where(tx.ts < ref.to_pydatetime())
    if start is not None:
        observed = observed.where(observed.ts >= start.to_pydatetime())
    customers = spark_features.rfm(observed, ref).cache()
    features = customers.toPandas().set_index("customer")
    features.index.name = "customer"
    _check_window(features, tx, windows, source)
    dq.reference_date = str(ref.date())
    dq.note(f"{len(features)} customers with purchases in the {windows.describe()} "
            "(features built by Spark)")
    return FeatureSet(features, dq, reader, columns, windows), customers


def _check_window(features: pd.DataFrame, tx: Any, windows: Windows, source: str) -> None:
    """The pandas engine's refusals of an empty or one-customer observation window."""
    from pyspark.sql import functions as F

    if features.empty:
        span = tx.agg(F.min("ts"), F.max("ts")).first()
        raise TabularInputError(
            f"{source}: no transactions in the {windows.describe()} (data span "
            f"{span[0].date()} to {span[1].date()}); check features.reference_date, "
            "features.observation_months and features.validation_months")
    if len(features) < 2:
        raise TabularInputError(
            f"{source}: only one customer in the {windows.describe()}; segmentation needs two")


def _mllib_fit(customers: Any, preprocessor: Preprocessor, k: int, cfg: Mapping[str, Any]
               ) -> tuple[pd.Series, Any]:
    """Transform on the executors, fit MLlib, return its prediction per customer."""
    from pyspark.ml.clustering import BisectingKMeans, GaussianMixture, KMeans
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    def transform(batches):
        for batch in batches:
            matrix = preprocessor.transform(batch) + OFFSET
            yield pd.DataFrame({"customer": batch["customer"].to_numpy(),
                                "x": list(matrix)})

    id_type = customers.schema["customer"].dataType.simpleString()  # text or integer ids
    # One ordered partition: MLlib's k-means|| start depends on row order and partitioning.
    vectors = (customers.orderBy("customer").coalesce(1)
               .mapInPandas(transform, f"customer {id_type}, x array<double>")
               .select("customer", array_to_vector(F.col("x")).alias("features")).cache())
    scfg, seed = cfg["spark"], int(cfg["seed"])
    kind = scfg["algorithm"]
    common = dict(k=k, seed=seed, maxIter=int(scfg["max_iter"]))
    estimator = {"kmeans": lambda: KMeans(**common),
                 "bisecting_kmeans": lambda: BisectingKMeans(**common),
                 "gmm": lambda: GaussianMixture(**common)}[kind]()
    model = estimator.fit(vectors)
    predicted = model.transform(vectors).select("customer", "prediction").toPandas()
    vectors.unpersist()
    return predicted.set_index("customer")["prediction"].astype(np.int64), model


def _imported(model: Any, kind: str) -> CentresClusterer | MixtureClusterer:
    if kind == "gmm":
        gaussians = model.gaussiansDF.toPandas()
        return MixtureClusterer(np.asarray(model.weights),
                                np.stack([np.asarray(m.toArray()) for m in gaussians["mean"]])
                                - OFFSET,
                                np.stack([np.asarray(c.toArray()) for c in gaussians["cov"]]))
    return CentresClusterer(np.stack(model.clusterCenters()) - OFFSET, name=f"spark_{kind}")


def fit_spark(cfg: Mapping[str, Any]) -> FitResult:
    """The whole fit with ``engine=spark``; the same FitResult as the pandas engine."""
    kind = cfg["spark"]["algorithm"]
    if kind not in SKLEARN_COUNTERPART:
        raise TabularInputError(f"spark.algorithm must be one of {sorted(SKLEARN_COUNTERPART)},"
                                f" not {kind!r}")
    seed, k_wanted, start = int(cfg["seed"]), parse_k(cfg["k"]), time.perf_counter()
    numeric = chosen_features(cfg)
    data_set, customers = spark_feature_set(cfg)
    for line in data_set.quality.console_lines():
        log.info("%s", line)
    n = len(data_set.features)
    if k_wanted is not None and k_wanted >= n:
        raise TabularInputError(
            f"k={k_wanted} segments asked for, but only {n} customers remain after cleaning; "
            f"choose k below {n} or k=auto")
    preprocessor = Preprocessor.from_config(numeric, [], cfg["preprocess"])
    matrix = preprocessor.fit_transform(data_set.features)
    refuse_degenerate(matrix, k_wanted, str(cfg["input"]))
    counterpart = {"_target_": f"visionseg.tabular.algorithms.{SKLEARN_COUNTERPART[kind]}"}
    make = clusterer_factory(counterpart, seed)
    selection = select_k(matrix, matrix, make, make(2), k_wanted, cfg["k_selection"], seed)
    labels, model = _mllib_fit(customers, preprocessor, selection.k, cfg)
    clusterer = _imported(model, kind).fit(
        matrix, labels.reindex(data_set.features.index).to_numpy())
    rule = clusterer.predict(matrix)
    agree = float(np.mean(rule == clusterer.labels_))
    log.info("Spark MLlib %s, K=%d, in %.1f s; the saved nearest-centre/posterior rule agrees "
             "with MLlib's prediction on %.2f%% of customers", kind, selection.k,
             time.perf_counter() - start, 100 * agree)
    data_set.quality.note(f"engine=spark: Spark MLlib {kind}; the saved scoring rule agrees "
                          f"with MLlib's own prediction on {agree:.2%} of customers")
    fitted = Fitted(counterpart, make, matrix, selection, clusterer, time.perf_counter() - start)
    return finish_fit(cfg, data_set, preprocessor, matrix, fitted)
