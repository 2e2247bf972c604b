"""Scale benchmark of visionseg.tabular against bare pandas + scikit-learn, side by side.

For each size (customers; about ten transactions each) it times four stages, each done by
visionseg.tabular and by a bare pandas/numpy/scikit-learn implementation of the same work,
alternating the two sides within one run and keeping the best of ``--repeat`` tries:

1. RFM build: transactions -> the seven customer features (groupby min/max/count/sum);
2. preprocessing: median imputation, 1-99% winsorizing, log1p of skewed columns, scaling;
3. MiniBatchKMeans fit (K=5), with labels and the distance-margin confidence of every row;
4. silhouette on a random sample of 4,000 customers.

It prints both timings, their ratio (visionseg / bare, target <= 1.2), each side's peak
allocated memory (tracemalloc, in a separate untimed run) and the process's peak resident
memory. Each stage checks that both sides computed the same result.

    python -m benchmarks.tabular_scale                      # 1e4, 1e5, 1e6 customers
    python -m benchmarks.tabular_scale --sizes 1e4 1e5 --repeat 3
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from visionseg.tabular.algorithms import MiniBatchKMeansClusterer
from visionseg.tabular.features import DAYS_PER_MONTH, FEATURES, build_rfm
from visionseg.tabular.k_selection import sampled_silhouette
from visionseg.tabular.preprocess import Preprocessor
from visionseg.tabular.synthetic import SEGMENTS, planted_transactions

CLUSTERED = ["recency_days", "frequency", "monetary", "tenure_days", "orders_per_month",
             "avg_order_value"]
K = 5
SILHOUETTE_SAMPLE = 4000
# the planted segments average about 14 orders; scale the rates to about 10
TEN_ORDERS = tuple(dataclasses.replace(s, orders_per_month=s.orders_per_month * 0.68)
                   for s in SEGMENTS)


def traced_peak_mb(fn: Callable[[], object]) -> float:
    """Peak memory allocated by ``fn`` as tracemalloc sees it (numpy and pandas buffers
    included), in a separate untimed run because tracing slows allocation down."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bare_rfm(tx: pd.DataFrame, ref: pd.Timestamp) -> pd.DataFrame:
    g = tx.groupby("customer", sort=False).agg(
        first=("date", "min"), last=("date", "max"), frequency=("amount", "size"),
        monetary=("amount", "sum"))
    day = pd.Timedelta(days=1)
    recency = ((ref - g["last"]) / day).to_numpy()
    tenure = ((ref - g["first"]) / day).to_numpy()
    frequency = g["frequency"].to_numpy(dtype="float64")
    monetary = g["monetary"].to_numpy()
    return pd.DataFrame({
        "recency_days": recency,
        "frequency": frequency,
        "monetary": monetary,
        "tenure_days": tenure,
        "orders_per_month": frequency / np.maximum(tenure / DAYS_PER_MONTH, 1.0),
        "avg_order_value": monetary / frequency,
        "interpurchase_days": np.where(frequency > 1, (tenure - recency) / np.maximum(
            frequency - 1, 1), tenure),
    }, index=g.index)


def bare_preprocess(features: pd.DataFrame) -> np.ndarray:
    X = features[CLUSTERED].to_numpy(dtype="float64")
    X = np.where(np.isnan(X), np.nanmedian(X, axis=0), X)
    lo, hi = np.quantile(X, [0.01, 0.99], axis=0)
    X = np.clip(X, lo, hi)
    centred = X - X.mean(axis=0)
    skew = (centred**3).mean(axis=0) / (centred**2).mean(axis=0) ** 1.5
    skewed = np.abs(skew) > 1.0
    X[:, skewed] = np.sign(X[:, skewed]) * np.log1p(np.abs(X[:, skewed]))
    return StandardScaler().fit_transform(X)


def ours_preprocess(features: pd.DataFrame) -> np.ndarray:
    return Preprocessor(CLUSTERED).fit_transform(features)


def bare_minibatch(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model = MiniBatchKMeans(n_clusters=K, n_init=3, max_iter=100, batch_size=4096,
                            random_state=0).fit(X)
    distances = model.transform(X)
    part = np.partition(distances, 1, axis=1)
    return model.labels_, 1.0 - part[:, 0] / part[:, 1]


def ours_minibatch(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model = MiniBatchKMeansClusterer(K, random_state=0).fit(X)
    return model.labels_, model.membership_


def compare(name: str, ours: Callable[[], object], bare: Callable[[], object], repeat: int,
            check: Callable[[object, object], None]) -> dict:
    """Best-of-``repeat`` wall time of each side (alternating), then each side's peak."""
    best = {"ours": np.inf, "bare": np.inf}
    results = {}
    for _ in range(repeat):
        for side, fn in (("bare", bare), ("ours", ours)):
            gc.collect()
            start = time.perf_counter()
            results[side] = fn()
            best[side] = min(best[side], time.perf_counter() - start)
    check(results["ours"], results["bare"])
    return {"stage": name, "visionseg_s": best["ours"], "bare_s": best["bare"],
            "ratio": best["ours"] / best["bare"], "visionseg_peak_mb": traced_peak_mb(ours),
            "bare_peak_mb": traced_peak_mb(bare)}


def same_features(ours: pd.DataFrame, bare: pd.DataFrame) -> None:
    ours = ours[list(FEATURES)].sort_index()
    bare = bare[list(FEATURES)].sort_index()
    np.testing.assert_allclose(ours.to_numpy(), bare.to_numpy(), rtol=1e-9)


def same_matrix(ours: np.ndarray, bare: np.ndarray) -> None:
    np.testing.assert_allclose(ours, bare, atol=1e-8)


def same_labels(ours, bare) -> None:
    np.testing.assert_array_equal(ours[0], bare[0])
    np.testing.assert_allclose(ours[1], np.clip(bare[1], 0, 1), atol=1e-12)


def close(ours: float, bare: float) -> None:
    assert abs(ours - bare) < 0.05, (ours, bare)


def run_size(n: int, repeat: int) -> list[dict]:
    tx, _ = planted_transactions(n, seed=0, segments=TEN_ORDERS, id_prefix=None)
    tx = tx.rename(columns={"customer_id": "customer"})
    ref = tx["date"].max().normalize() + pd.Timedelta(days=1)
    print(f"\n{n:,} customers, {len(tx):,} transactions ({len(tx) / n:.1f} per customer)",
          flush=True)
    rows = [compare("RFM build", lambda: build_rfm(tx, ref), lambda: bare_rfm(tx, ref), repeat,
                    same_features)]
    features = build_rfm(tx, ref)
    rows.append(compare("preprocessing", lambda: ours_preprocess(features),
                        lambda: bare_preprocess(features), repeat, same_matrix))
    X = ours_preprocess(features)
    rows.append(compare("MiniBatchKMeans fit", lambda: ours_minibatch(X),
                        lambda: bare_minibatch(X), repeat, same_labels))
    labels = ours_minibatch(X)[0]
    rows.append(compare(
        f"silhouette ({SILHOUETTE_SAMPLE} sample)",
        lambda: sampled_silhouette(X, labels, SILHOUETTE_SAMPLE, seed=0),
        lambda: silhouette_score(X, labels, sample_size=SILHOUETTE_SAMPLE, random_state=0),
        repeat, close))
    for row in rows:
        row["customers"] = n
        print(f"  {row['stage']:<26} visionseg {row['visionseg_s']:8.3f} s  bare "
              f"{row['bare_s']:8.3f} s  ratio {row['ratio']:5.2f}  peak "
              f"{row['visionseg_peak_mb']:7.1f} / {row['bare_peak_mb']:7.1f} MB", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6],
                        help="numbers of customers")
    parser.add_argument("--repeat", type=int, default=3, help="tries per side and stage")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads for both sides (default 1)")
    args = parser.parse_args()
    rows = []
    with threadpool_limits(limits=args.threads):
        for size in args.sizes:
            rows += run_size(int(size), args.repeat)
    table = pd.DataFrame(rows)[["customers", "stage", "visionseg_s", "bare_s", "ratio",
                                "visionseg_peak_mb", "bare_peak_mb"]]
    print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    with open("/proc/self/status") as f:
        peak = next(line for line in f if line.startswith("VmHWM")).split()[1]
    print(f"\nprocess peak resident memory: {int(peak) / 2**20:.2f} GiB; threads: {args.threads}")


if __name__ == "__main__":
    main()
