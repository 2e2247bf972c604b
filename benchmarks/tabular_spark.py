"""pandas engine against Spark engine (local[*]) on the same transactions, stage by stage.

For each size (customers; about ten transactions each, written once as Parquet) it times:

1. features: read the Parquet file, clean, build the seven RFM features per customer;
2. preprocessing: the fitted scikit-learn transformer (pandas: in process; Spark: on the
   executors through Arrow, mapInPandas);
3. K-Means fit (K=5, at most 50 iterations) and a label for every customer (pandas:
   scikit-learn KMeans, one start; Spark: MLlib KMeans, k-means||).

Spark's session start is timed apart. Each run checks that both engines built exactly the
same features and reports the ARI between the two K-Means labelings. The process's peak
resident memory is printed for the Python side (the Spark JVM is a separate process).

    python -m benchmarks.tabular_spark --sizes 1e5 1e6
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from visionseg.tabular.cleaning import ColumnMap, clean_transactions
from visionseg.tabular.features import build_rfm
from visionseg.tabular.io import ReaderOptions, read_table
from visionseg.tabular.preprocess import Preprocessor
from visionseg.tabular.spark import features as spark_features
from visionseg.tabular.spark.fit import OFFSET
from visionseg.tabular.spark.session import spark_session
from visionseg.tabular.synthetic import SEGMENTS, planted_transactions

CLUSTERED = ["recency_days", "frequency", "monetary", "tenure_days", "orders_per_month",
             "avg_order_value"]
TEN_ORDERS = tuple(dataclasses.replace(s, orders_per_month=s.orders_per_month * 0.68)
                   for s in SEGMENTS)


def pandas_engine(path: Path) -> tuple[dict[str, float], pd.DataFrame, np.ndarray]:
    times = {}
    start = time.perf_counter()
    table = read_table(path, ReaderOptions())
    tx, _ = clean_transactions(table, ColumnMap(), str(path))
    ref = tx["date"].max().normalize() + pd.Timedelta(days=1)
    features = build_rfm(tx, ref)
    times["features"] = time.perf_counter() - start
    start = time.perf_counter()
    prep = Preprocessor(CLUSTERED)
    matrix = prep.fit_transform(features)
    times["preprocessing"] = time.perf_counter() - start
    start = time.perf_counter()
    labels = KMeans(5, n_init=1, max_iter=50, random_state=0).fit_predict(matrix)
    times["K-Means fit + labels"] = time.perf_counter() - start
    return times, features, labels


def spark_engine(spark, path: Path, prep: Preprocessor
                 ) -> tuple[dict[str, float], pd.DataFrame, pd.Series]:
    from pyspark.ml.clustering import KMeans as SparkKMeans
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    times = {}
    start = time.perf_counter()
    tx = spark_features.clean(spark_features.read_transactions(spark, str(path),
                                                               ReaderOptions()),
                              ColumnMap(), str(path), "net").dropDuplicates().cache()
    customers = spark_features.rfm(tx, spark_features.last_day(tx)).cache()
    customers.count()
    times["features"] = time.perf_counter() - start
    start = time.perf_counter()

    def transform(batches):
        for batch in batches:
            yield pd.DataFrame({"customer": batch["customer"].to_numpy(),
                                "x": list(prep.transform(batch) + OFFSET)})

    vectors = (customers.mapInPandas(transform, "customer string, x array<double>")
               .select("customer", array_to_vector(F.col("x")).alias("features")).cache())
    vectors.count()
    times["preprocessing"] = time.perf_counter() - start
    start = time.perf_counter()
    model = SparkKMeans(k=5, maxIter=50, seed=0).fit(vectors)
    labels = model.transform(vectors).select("customer", "prediction").toPandas()
    times["K-Means fit + labels"] = time.perf_counter() - start
    features = customers.toPandas().set_index("customer")
    for frame in (vectors, customers, tx):
        frame.unpersist()
    return times, features, labels.set_index("customer")["prediction"]


def run(size: int, spark, folder: Path) -> list[dict]:
    tx, _ = planted_transactions(size, seed=1, segments=TEN_ORDERS)
    path = folder / f"tx_{size}.parquet"
    tx.to_parquet(path)
    rows = len(tx)
    del tx
    with threadpool_limits(limits=1):
        ours, features, labels = pandas_engine(path)
    prep = Preprocessor(CLUSTERED).fit(features)
    theirs, spark_feats, spark_labels = spark_engine(spark, path, prep)
    same = features.sort_index().equals(spark_feats.sort_index()[features.columns])
    ari = adjusted_rand_score(pd.Series(labels, index=features.index).sort_index(),
                              spark_labels.sort_index())
    print(f"{size:,} customers ({rows:,} rows): features identical: {same}; ARI pandas vs "
          f"Spark K-Means {ari:.3f}")
    return [{"customers": size, "stage": stage, "pandas_s": ours[stage],
             "spark_s": theirs[stage], "spark/pandas": theirs[stage] / ours[stage]}
            for stage in ours]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6])
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--driver-memory", default="8g")
    args = parser.parse_args()
    start = time.perf_counter()
    spark = spark_session(args.master, args.driver_memory)
    print(f"Spark session ({args.master}) started in {time.perf_counter() - start:.1f} s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            rows += run(int(size), spark, Path(tmp))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory of the Python process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
