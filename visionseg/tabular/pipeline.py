"""The whole fit, from a table on disk to segments, profiles and a saved model.

:func:`fit_segmentation` runs read -> clean -> features (observation window) ->
preprocessing -> K selection -> final fit -> stable numbering (by size, or matched to a
previous model) -> stability -> profiles, separation tests, cohorts, drift, and returns a
:class:`FitResult` holding everything the outputs need; nothing is written here, so a failure
at any step leaves no partial output. :class:`SegmentationModel` is what ``model.joblib``
holds: the feature definition, the fitted preprocessing and algorithm, segment ids, names and
actions, the drift reference and metadata; it scores new customers the same way.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from hydra.utils import instantiate

from visionseg.io import atomic_path
from visionseg.tabular import cohorts as cohort_tables
from visionseg.tabular.algorithms.base import NOISE, Segmenter, apply_mapping, take
from visionseg.tabular.drift import DriftReference
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.features import (
    FEATURES,
    Windows,
    build_rfm,
    resolve_windows,
    split_windows,
    validation_outcomes,
)
from visionseg.tabular.io import (
    ColumnMap,
    DataQuality,
    ReaderOptions,
    clean_customers,
    clean_transactions,
    read_table,
)
from visionseg.tabular.k_selection import (
    KSelection,
    choose_k,
    evaluate_k_range,
    separation_scores,
)
from visionseg.tabular.preprocess import Preprocessor
from visionseg.tabular.profiles import (
    distinguishing,
    kruskal_table,
    name_segments,
    profile_segments,
)
from visionseg.tabular.relabel import match_labels
from visionseg.tabular.stability import Stability, bootstrap_stability

log = logging.getLogger(__name__)
MODEL_FORMAT = 1
VERSIONED = ("visionseg", "numpy", "pandas", "scikit-learn", "scipy", "kmodes", "gower", "torch")
MEMBERSHIP_MEANING = {
    "gmm": "posterior probability of the assigned segment",
    "hdbscan": "HDBSCAN membership strength (0 for noise)",
    "spectral": "share of the nearest fitted customers that agree",
}


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class SegmentationModel:
    """A fitted segmentation: turns a table of customers into segment assignments."""

    input_kind: str
    reader: ReaderOptions
    columns: ColumnMap
    returns: str
    duplicates: str
    numeric: list[str]
    categorical: list[str]
    observation_months: int | None
    preprocessor: Preprocessor
    segmenter: Segmenter
    label_map: dict[int, int]
    names: dict[int, tuple[str, str]]
    drift: DriftReference
    metadata: dict[str, Any] = field(default_factory=dict)

    def customer_features(self, table: pd.DataFrame, source: str, strict: bool = False,
                          reference_date: str | None = None) -> tuple[pd.DataFrame, DataQuality]:
        """Clean a raw table and compute the model's features (one row per customer)."""
        if self.input_kind == "customers":
            return clean_customers(table, self.columns, source, strict, self.reader)
        tx, dq = clean_transactions(table, self.columns, source, self.returns, self.duplicates,
                                    strict, self.reader)
        windows = resolve_windows(tx["date"], reference_date, self.observation_months, 0)
        observed, _ = split_windows(tx, windows, source)
        dq.note(f"features at reference date {windows.reference_date.date()} "
                f"({windows.describe()})")
        return build_rfm(observed, windows.reference_date, self.categorical), dq

    def assign(self, features: pd.DataFrame) -> pd.DataFrame:
        """``customer, segment, name, confidence`` for every row of ``features``."""
        missing = [c for c in self.numeric + self.categorical if c not in features]
        if missing:
            raise TabularInputError(
                f"the model needs feature columns {missing}, found {list(features.columns)}")
        data = (self.preprocessor.transform_mixed(features) if self.segmenter.mixed_input
                else self.preprocessor.transform(features))
        raw, confidence = self.segmenter.predict_with_membership(data)
        return self._assignments(features.index, apply_mapping(raw, self.label_map), confidence)

    def _assignments(self, customers: pd.Index, labels: np.ndarray,
                     confidence: np.ndarray) -> pd.DataFrame:
        names = {seg: name for seg, (name, _) in self.names.items()}
        names.setdefault(NOISE, "noise")
        return pd.DataFrame({
            "customer": customers.to_numpy(),
            "segment": labels,
            "name": [names.get(int(s), f"segment {s}") for s in labels],
            "confidence": np.round(confidence, 4),
        })

    def save(self, path: str | Path) -> None:
        """Write the model atomically with joblib."""
        with atomic_path(path) as tmp:
            joblib.dump({"format": MODEL_FORMAT, "model": self}, tmp, compress=3)

    @staticmethod
    def load(path: str | Path) -> SegmentationModel:
        """Load a model written by :meth:`save`; a clear error for anything else."""
        path = Path(path)
        if not path.is_file():
            raise TabularInputError(f"{path}: model file not found")
        try:
            payload = joblib.load(path)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
            raise TabularInputError(f"{path}: not a readable model file ({exc})") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("model"),
                                                           SegmentationModel):
            raise TabularInputError(f"{path}: not a visionseg.tabular model")
        model = payload["model"]
        saved = model.metadata.get("versions", {}).get("scikit-learn")
        now = package_versions().get("scikit-learn")
        if saved and now and saved != now:
            log.warning("%s was saved with scikit-learn %s, running %s: refit if scores look "
                        "wrong", path, saved, now)
        return model


@dataclass
class FitResult:
    """Everything one fit produced, for the output files and the report."""

    config: dict[str, Any]
    model: SegmentationModel
    quality: DataQuality
    features: pd.DataFrame
    assignments: pd.DataFrame
    profiles: pd.DataFrame
    k_selection: KSelection
    separation: dict[str, float]
    stability: Stability | None
    kruskal: pd.DataFrame
    matrix_sample: np.ndarray
    labels_sample: np.ndarray
    feature_names: list[str]
    windows: Windows | None = None
    retention: pd.DataFrame | None = None
    order_values: pd.DataFrame | None = None
    order_sample: pd.DataFrame | None = None
    drift_features: pd.DataFrame | None = None
    drift_segments: tuple[float, pd.DataFrame] | None = None
    relabel_map: dict[int, int] | None = None


class _Clock:
    """Logs the seconds each stage of a fit took."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        log.info("%-22s %6.1f s", stage, now - self.last)
        self.last = now


def _sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _parse_k(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise TabularInputError(f"k must be 'auto' or a whole number, not {value!r}") from None
    if k < 2:
        raise TabularInputError(f"k={k}: a segmentation needs at least 2 segments")
    return k


def load_features(cfg: Mapping[str, Any]) -> tuple[pd.DataFrame, DataQuality, dict[str, Any]]:
    """Read and clean the input, and build the customer feature table.

    Returns the features (index = customer), the data-quality record and a context dict with
    the windows, the observation-window transactions and the validation outcomes.
    """
    source = str(cfg["input"])
    reader = ReaderOptions.from_config(cfg.get("reader"))
    columns = ColumnMap.from_config(cfg.get("columns"))
    table = read_table(source, reader)
    kind = cfg.get("input_kind", "transactions")
    strict = bool(cfg.get("strict", False))
    if kind == "customers":
        features, dq = clean_customers(table, columns, source, strict, reader)
        return features, dq, {"reader": reader, "columns": columns}
    if kind != "transactions":
        raise TabularInputError(f"input_kind must be transactions or customers, not {kind!r}")
    tx, dq = clean_transactions(table, columns, source, cfg.get("returns", "net"),
                                cfg.get("duplicates", "drop"), strict, reader)
    fcfg = cfg.get("features") or {}
    windows = resolve_windows(tx["date"], fcfg.get("reference_date"),
                              fcfg.get("observation_months"),
                              int(fcfg.get("validation_months") or 0))
    observed, validation = split_windows(tx, windows, source)
    features = build_rfm(observed, windows.reference_date, columns.categorical)
    outcomes = validation_outcomes(validation, features.index)
    dq.note(f"{len(features)} customers with purchases in the {windows.describe()}")
    if validation is not None:
        dq.note(f"validation window holds {len(validation)} transactions, used only to judge "
                "the segments")
    return features, dq, {"reader": reader, "columns": columns, "windows": windows,
                          "observed": observed, "outcomes": outcomes}


def fit_segmentation(cfg: Mapping[str, Any]) -> FitResult:
    """Run the whole fit described by ``cfg`` (the composed ``configs/tabular/fit.yaml``)."""
    seed = int(cfg.get("seed", 0))
    k_wanted = _parse_k(cfg.get("k", "auto"))
    clock = _Clock()
    features, dq, context = load_features(cfg)
    clock.lap(f"read, {len(features)} customers")
    columns: ColumnMap = context["columns"]
    kind = cfg.get("input_kind", "transactions")
    if kind == "customers":
        numeric, revenue = list(columns.numeric), columns.revenue
    else:
        numeric = list((cfg.get("features") or {}).get("use") or FEATURES)
        unknown = [c for c in numeric if c not in FEATURES]
        if unknown:
            raise TabularInputError(f"features.use names unknown features {unknown}; "
                                    f"available: {list(FEATURES)}")
        revenue = "monetary"
    categorical = list(columns.categorical)
    n = len(features)
    if k_wanted is not None and k_wanted >= n:
        raise TabularInputError(
            f"k={k_wanted} segments asked for, but only {n} customers remain after cleaning; "
            f"choose k below {n} or k=auto")

    pcfg = cfg.get("preprocess") or {}
    preprocessor = Preprocessor(
        numeric, categorical,
        skew_transform=pcfg.get("skew_transform", "log1p"),
        skew_threshold=float(pcfg.get("skew_threshold", 1.0)),
        winsorize=pcfg.get("winsorize", (0.01, 0.99)),
        scaler=pcfg.get("scaler", "standard"),
        top_n=int(pcfg.get("top_n", 10)),
    )
    matrix = preprocessor.fit_transform(features)
    clock.lap("preprocessing")
    probe = _factory(cfg["algorithm"], seed)(2)
    data = preprocessor.transform_mixed(features) if probe.mixed_input else matrix
    make = _factory(cfg["algorithm"], seed)

    selection = select_k(matrix, data, make, probe, k_wanted, cfg.get("k_selection") or {}, seed)
    k = selection.k
    clock.lap("K selection")
    log.info("%s", selection.reason)
    segmenter = make(k).fit(data)
    clock.lap(f"{segmenter.name} fit")
    raw = segmenter.labels_
    label_map = _size_order(raw)
    labels = apply_mapping(raw, label_map)

    previous = None
    relabel_map = None
    if cfg.get("previous_model"):
        previous = SegmentationModel.load(cfg["previous_model"])
        old = previous.assign(features)["segment"].to_numpy()
        relabel_map = match_labels(old, labels)
        label_map = {r: relabel_map.get(f, f) for r, f in label_map.items()}
        labels = apply_mapping(raw, label_map)

    stability = None
    scfg = cfg.get("stability") or {}
    if int(scfg.get("rounds", 10)) > 0:
        stability = bootstrap_stability(data, raw, lambda: make(k), int(scfg.get("rounds", 10)),
                                        int(scfg.get("sample", 2000)), seed)
        stability.jaccard.index = [label_map.get(int(s), int(s)) for s in stability.jaccard.index]
        stability.jaccard.index.name = "segment"
        clock.lap("stability")

    scaled = pd.DataFrame(matrix[:, : len(numeric)], columns=numeric, index=features.index)
    z_input = scaled if numeric else pd.DataFrame(matrix, index=features.index,
                                                  columns=preprocessor.feature_names)
    outcomes = context.get("outcomes")
    names = name_segments(features, labels, distinguishing(z_input, labels))
    if previous is not None:
        for seg in np.unique(labels):
            if int(seg) in previous.names and int(seg) != NOISE:
                names[int(seg)] = previous.names[int(seg)]
    profiles = profile_segments(features, z_input, labels, segmenter.membership_, revenue,
                                outcomes if outcomes is not None and len(outcomes.columns)
                                else None, names)
    if stability is not None:
        profiles["stability_jaccard"] = profiles["segment"].map(stability.jaccard)
    kruskal = kruskal_table(features, labels)
    separation = separation_scores(matrix, labels, int((cfg.get("k_selection") or {}).get(
        "silhouette_sample", 4000)), seed)

    drift = DriftReference.from_data(features, labels)
    model = SegmentationModel(
        input_kind=kind,
        reader=context["reader"],
        columns=columns,
        returns=cfg.get("returns", "net"),
        duplicates=cfg.get("duplicates", "drop"),
        numeric=numeric,
        categorical=categorical,
        observation_months=(cfg.get("features") or {}).get("observation_months"),
        preprocessor=preprocessor,
        segmenter=segmenter,
        label_map=label_map,
        names=names,
        drift=drift,
        metadata={
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": package_versions(),
            "algorithm": segmenter.name,
            "k": int(len(np.unique(labels[labels != NOISE]))),
            "k_reason": selection.reason,
            "customers": n,
            "reference_date": (str(context["windows"].reference_date.date())
                               if "windows" in context else None),
            "windows": context["windows"].describe() if "windows" in context else None,
            "numeric": numeric,
            "categorical": categorical,
            "feature_names": preprocessor.feature_names,
            "skewed_columns": preprocessor.skewed_columns,
            "membership": MEMBERSHIP_MEANING.get(segmenter.name, "distance margin 1 - d1/d2 "
                                                 "(1 = at the segment centre, 0 = on a border)"),
            "config": dict(cfg),
        },
    )
    assignments = model._assignments(features.index, labels, segmenter.membership_)
    rows = _sample_rows(n, int((cfg.get("report") or {}).get("sample", 3000)), seed)
    result = FitResult(
        config=dict(cfg), model=model, quality=dq, features=features, assignments=assignments,
        profiles=profiles, k_selection=selection, separation=separation, stability=stability,
        kruskal=kruskal, matrix_sample=matrix[rows], labels_sample=labels[rows],
        feature_names=preprocessor.feature_names, windows=context.get("windows"),
        relabel_map=relabel_map,
    )
    if previous is not None:
        result.drift_features = previous.drift.feature_drift(features)
        result.drift_segments = previous.drift.segment_drift(labels)
    clock.lap("profiles and tests")
    if "observed" in context:
        _add_cohorts(result, context["observed"], labels, cfg.get("cohorts") or {}, seed)
        clock.lap("cohorts")
    segmenter.compact()
    return result


def select_k(matrix: np.ndarray, data: np.ndarray | pd.DataFrame,
             make: Callable[[int], Segmenter], probe: Segmenter, k_wanted: int | None,
             kcfg: Mapping[str, Any], seed: int) -> KSelection:
    """Evaluate the K range on a sample and pick K (the user's K, or the ``k=auto`` rule)."""
    rows = _sample_rows(len(matrix), int(kcfg.get("sample", 20000)), seed)
    sub_matrix, sub_data = matrix[rows], take(data, rows)
    common = dict(silhouette_sample=int(kcfg.get("silhouette_sample", 4000)),
                  gap_references=int(kcfg.get("gap_references", 5)),
                  gap_sample=int(kcfg.get("gap_sample", 2000)), seed=seed)
    if not probe.sets_k:
        table = evaluate_k_range(sub_matrix, lambda _: make(0).fit(sub_data), [0],
                                 **{**common, "gap_references": 0})
        found = int(table["segments_found"].iloc[0])
        table["k"] = found
        table["chosen"] = True
        return KSelection(table=table, k=0, reason=(
            f"{probe.name} finds the number of segments itself: {found} on the evaluation "
            "sample (k is ignored)"))
    k_min = max(2, int(kcfg.get("k_min", 2)))
    k_max = min(int(kcfg.get("k_max", 8)), len(rows) - 1)
    ks = set(range(k_min, k_max + 1))
    if k_wanted is not None:
        ks.add(k_wanted)
    ks = sorted(k for k in ks if k < len(rows))
    if not ks:
        raise TabularInputError(
            f"only {len(matrix)} customers: too few to evaluate any K from {k_min} to "
            f"{kcfg.get('k_max', 8)}")
    table = evaluate_k_range(sub_matrix, lambda k: make(k).fit(sub_data), ks, **common)
    auto = choose_k(table, float(kcfg.get("min_segment_share", 0.03)),
                    float(kcfg.get("min_gain", 0.05)))
    if k_wanted is None:
        return auto
    auto.table["chosen"] = auto.table["k"] == k_wanted
    return KSelection(table=auto.table, k=k_wanted, elbow_k=auto.elbow_k, gap_k=auto.gap_k,
                      reason=f"K={k_wanted} fixed by the configuration (k={k_wanted}); the "
                             f"k=auto rule would say: {auto.reason}")


def _factory(algorithm_cfg: Any, seed: int) -> Callable[[int], Segmenter]:
    def make(k: int) -> Segmenter:
        segmenter = instantiate(algorithm_cfg, n_clusters=k, random_state=seed, _convert_="all")
        if not isinstance(segmenter, Segmenter):
            raise TabularInputError(
                f"algorithm._target_ must name a visionseg.tabular Segmenter, got "
                f"{type(segmenter).__name__}")
        return segmenter

    return make


def _size_order(raw: np.ndarray) -> dict[int, int]:
    """Raw ids -> 0..k-1 by decreasing size (ties by raw id); noise stays -1."""
    ids, counts = np.unique(raw[raw != NOISE], return_counts=True)
    order = sorted(zip(ids, counts, strict=True), key=lambda pair: (-pair[1], pair[0]))
    return {int(i): rank for rank, (i, _) in enumerate(order)}


def _add_cohorts(result: FitResult, observed: pd.DataFrame, labels: np.ndarray,
                 ccfg: Mapping[str, Any], seed: int) -> None:
    segments = pd.Series(labels, index=result.features.index)
    months = int(ccfg.get("max_months", 12))
    overall = cohort_tables.retention_table(observed, None, months)
    per_segment = cohort_tables.retention_table(observed, segments, months)
    result.retention = pd.concat([overall, per_segment], ignore_index=True)
    result.order_values = cohort_tables.order_values(observed, segments,
                                                     float(ccfg.get("high_value_amount", 100)))
    rows = _sample_rows(len(observed), 20000, seed)
    sample = observed.iloc[rows]
    result.order_sample = pd.DataFrame({
        "segment": segments.reindex(sample["customer"]).to_numpy(),
        "amount": sample["amount"].to_numpy(),
    })
