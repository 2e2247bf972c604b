"""The whole fit, from a table on disk to segments, profiles and a saved model.

:func:`fit_segmentation` runs read -> clean -> features (observation window) ->
preprocessing -> K selection -> final fit -> stable numbering (by size, or matched to a
previous model) -> stability -> names, profiles, separation tests, cohorts, drift, and returns
a :class:`FitResult` holding everything the outputs need; nothing is written here, so a
failure at any step leaves no partial output.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular import cohorts as cohort_tables
from visionseg.tabular.algorithms.base import NOISE, Clusterer, apply_mapping
from visionseg.tabular.cleaning import ColumnMap, DataQuality, clean_customers, clean_transactions
from visionseg.tabular.compare import Comparison, Fitted, compare_algorithms, fit_algorithm
from visionseg.tabular.drift import DriftReference
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.extra_features import (
    ExtraColumns,
    join_customer_table,
    matched_share,
    transaction_features,
)
from visionseg.tabular.features import (
    FEATURES,
    Windows,
    build_rfm,
    exclude_late_rows,
    resolve_windows,
    split_windows,
    validation_outcomes,
)
from visionseg.tabular.io import ReaderOptions, read_table
from visionseg.tabular.k_selection import sample_rows, separation_scores
from visionseg.tabular.kpi_tests import kpi_test
from visionseg.tabular.model import LateRows, SegmentationModel, versions
from visionseg.tabular.naming import NamingRules, name_segments
from visionseg.tabular.preprocess import Preprocessor
from visionseg.tabular.profiles import distinguishing, kruskal_table, profile_segments
from visionseg.tabular.refresh import Refresh, compare_with_previous
from visionseg.tabular.results import FitResult
from visionseg.tabular.stability import bootstrap_stability

log = logging.getLogger(__name__)
MEMBERSHIP_MEANING = {
    "gmm": "posterior probability of the assigned segment",
    "spark_gmm": "posterior probability of the assigned segment",
    "hdbscan": "HDBSCAN membership strength (0 for noise)",
    "dbscan": "1 for core customers, 0.5 for border customers, 0 for noise",
    "spectral": "share of the nearest fitted customers that agree",
}
MARGIN_MEANING = "distance margin 1 - d1/d2 (1 = at the segment centre, 0 = on a border)"


@dataclass
class FeatureSet:
    """The customer features of one input and what produced them."""

    features: pd.DataFrame
    quality: DataQuality
    reader: ReaderOptions
    columns: ColumnMap
    windows: Windows | None = None
    observed: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None
    extra: ExtraColumns = field(default_factory=ExtraColumns)
    extra_numeric: tuple[str, ...] = ()


class _Clock:
    """Logs the seconds each stage of a fit took."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        log.info("%-22s %6.1f s", stage, now - self.last)
        self.last = now


def parse_k(value: Any) -> int | None:
    """``k=auto`` -> None, else a whole number of at least 2."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise TabularInputError(f"k must be 'auto' or a whole number, not {value!r}") from None
    if k < 2:
        raise TabularInputError(f"k={k}: a segmentation needs at least 2 segments")
    return k


def load_features(cfg: Mapping[str, Any]) -> FeatureSet:
    """Read and clean the input, and build the customer feature table (index = customer)."""
    source = str(cfg["input"])
    reader = ReaderOptions.from_config(cfg["reader"])
    columns = ColumnMap.from_config(cfg["columns"])
    table = read_table(source, reader)
    kind, strict = cfg["input_kind"], bool(cfg["strict"])
    if kind == "customers":
        features, dq = clean_customers(table, columns, source, strict, reader)
        return FeatureSet(features, dq, reader, columns)
    if kind != "transactions":
        raise TabularInputError(f"input_kind must be transactions or customers, not {kind!r}")
    tx, dq = clean_transactions(table, columns, source, cfg["returns"], cfg["duplicates"],
                                strict, reader)
    fcfg = cfg["features"]
    if fcfg["reference_date"] is None:
        tx = exclude_late_rows(tx, cfg["late_rows"]["quantile"],
                               cfg["late_rows"]["max_gap_days"], strict, source, dq)
    windows = resolve_windows(tx["date"], fcfg["reference_date"], fcfg["observation_months"],
                              int(fcfg["validation_months"]))
    observed, validation = split_windows(tx, windows, source)
    features = build_rfm(observed, windows.reference_date, columns.categorical)
    extra_features, extra = transaction_features(observed, columns,
                                                 int(fcfg["top_categories"]))
    features = features.join(extra_features)
    features, table_numeric, table_categorical = join_customer_table(features,
                                                                     cfg["customer_table"])
    extra = replace(extra, table_numeric=table_numeric, table_categorical=table_categorical)
    if table_numeric or table_categorical:
        dq.note(f"customer table {cfg['customer_table']['input']} describes "
                f"{matched_share(features, table_numeric, table_categorical):.0%} of the "
                "customers")
    dq.reference_date = str(windows.reference_date.date())
    dq.note(f"{len(features)} customers with purchases in the {windows.describe()}")
    if validation is not None:
        dq.note(f"validation window holds {len(validation)} transactions, used only to judge "
                "the segments")
    return FeatureSet(features, dq, reader, columns, windows, observed,
                      validation_outcomes(validation, features.index), extra,
                      (*extra_features.columns, *table_numeric))


def feature_columns(cfg: Mapping[str, Any], data_set: FeatureSet
                    ) -> tuple[list[str], list[str], str | None]:
    """The clustered numeric and categorical columns and the revenue column of the profiles:
    the chosen RFM features plus every extra feature the optional columns produced."""
    columns = data_set.columns
    if cfg["input_kind"] == "customers":
        return list(columns.numeric), list(columns.categorical), columns.revenue
    numeric = list(cfg["features"]["use"])
    unknown = [c for c in numeric if c not in FEATURES]
    if unknown:
        raise TabularInputError(f"features.use names unknown features {unknown}; "
                                f"available: {list(FEATURES)}")
    categorical = [*columns.categorical, *data_set.extra.table_categorical]
    return [*numeric, *data_set.extra_numeric], categorical, "monetary"


def refuse_degenerate(matrix: np.ndarray, k_wanted: int | None, source: str) -> None:
    """One line instead of a meaningless segmentation of customers who are all alike."""
    distinct = len(np.unique(np.round(matrix, 9), axis=0))
    if distinct < 2:
        raise TabularInputError(
            f"{source}: all {len(matrix)} customers have identical features; there is nothing "
            "to segment")
    if k_wanted is not None and distinct < k_wanted:
        raise TabularInputError(
            f"{source}: k={k_wanted} segments asked for, but only {distinct} customers differ "
            f"in their features; choose k below {distinct} or k=auto")


def size_order(raw: np.ndarray) -> dict[int, int]:
    """Raw ids -> 0..k-1 by decreasing size (ties by raw id); noise stays -1."""
    ids, counts = np.unique(raw[raw != NOISE], return_counts=True)
    order = sorted(zip(ids, counts, strict=True), key=lambda pair: (-pair[1], pair[0]))
    return {int(i): rank for rank, (i, _) in enumerate(order)}


def fit_segmentation(cfg: Mapping[str, Any]) -> FitResult:
    """Run the whole fit described by ``cfg`` (the composed ``configs/tabular/fit.yaml``)."""
    if cfg["engine"] == "spark":
        from visionseg.tabular.spark.fit import fit_spark

        return fit_spark(cfg)
    if cfg["engine"] != "pandas":
        raise TabularInputError(f"engine must be pandas or spark, not {cfg['engine']!r}")
    seed, k_wanted, clock = int(cfg["seed"]), parse_k(cfg["k"]), _Clock()
    NamingRules.load(cfg["naming"]["rules"])  # a bad naming file fails before the work
    data_set = load_features(cfg)
    features, n = data_set.features, len(data_set.features)
    for line in data_set.quality.console_lines():
        log.info("%s", line)
    clock.lap(f"read, {n} customers")
    numeric, categorical, _ = feature_columns(cfg, data_set)
    if k_wanted is not None and k_wanted >= n:
        raise TabularInputError(
            f"k={k_wanted} segments asked for, but only {n} customers remain after cleaning; "
            f"choose k below {n} or k=auto")
    preprocessor = Preprocessor.from_config(numeric, categorical, cfg["preprocess"])
    matrix = preprocessor.fit_transform(features)
    refuse_degenerate(matrix, k_wanted, str(cfg["input"]))
    clock.lap("preprocessing")
    comparison = None
    if cfg["compare"]:
        comparison, fitted = compare_algorithms(cfg["compare"], matrix, features, preprocessor,
                                                k_wanted, cfg, seed)
        log.info("algorithm: %s", comparison.reason)
    else:
        fitted = fit_algorithm(cfg["algorithm"], matrix, features, preprocessor, k_wanted, cfg,
                               seed)
    log.info("%s", fitted.selection.reason)
    clock.lap(f"K selection and {fitted.clusterer.name} fit")
    return finish_fit(cfg, data_set, preprocessor, matrix, fitted, comparison, clock)


def finish_fit(cfg: Mapping[str, Any], data_set: FeatureSet, preprocessor: Preprocessor,
               matrix: np.ndarray, fitted: Fitted, comparison: Comparison | None = None,
               clock: _Clock | None = None) -> FitResult:
    """Number the segments, check stability, name, profile and test them (either engine)."""
    seed, clock = int(cfg["seed"]), clock or _Clock()
    numeric, _, revenue = feature_columns(cfg, data_set)
    rules = NamingRules.load(cfg["naming"]["rules"])
    features = data_set.features
    selection, clusterer, make, data = (fitted.selection, fitted.clusterer, fitted.make,
                                        fitted.data)
    raw = clusterer.labels_
    label_map = size_order(raw)
    refresh = None
    if cfg["previous_model"]:
        refresh = compare_with_previous(SegmentationModel.load(cfg["previous_model"]), features,
                                        raw)
        label_map = dict(refresh.mapping)  # raw id -> the previous model's id
    labels = apply_mapping(raw, label_map)
    stability = None
    if cfg["stability"]["rounds"] > 0:
        stability = bootstrap_stability(data, raw, lambda: make(selection.k),
                                        cfg["stability"]["rounds"], cfg["stability"]["sample"],
                                        seed)
        stability.jaccard.index = [label_map.get(int(s), int(s)) for s in stability.jaccard.index]
        stability.jaccard.index.name = "segment"
        clock.lap("stability")
    result = _describe(cfg, data_set, preprocessor, clusterer, matrix, labels, label_map,
                       numeric, revenue, rules, refresh)
    result.k_selection, result.stability = selection, stability
    result.comparison = comparison
    if stability is not None:
        result.profiles["stability_jaccard"] = result.profiles["segment"].map(stability.jaccard)
    clock.lap("profiles and tests")
    if data_set.observed is not None:
        add_cohorts(result, data_set.observed, labels, cfg["cohorts"], seed)
        clock.lap("cohorts")
    clusterer.compact()
    return result


def _describe(cfg: Mapping[str, Any], data_set: FeatureSet, preprocessor: Preprocessor,
              clusterer: Clusterer, matrix: np.ndarray, labels: np.ndarray,
              label_map: dict[int, int], numeric: list[str], revenue: str | None,
              rules: NamingRules, refresh: Refresh | None) -> FitResult:
    """Names, profiles, tests and the model, for the labels of the final fit."""
    features, seed = data_set.features, int(cfg["seed"])
    scaled = pd.DataFrame(matrix[:, : len(numeric)], columns=numeric, index=features.index)
    z_input = scaled if numeric else pd.DataFrame(matrix, index=features.index,
                                                  columns=preprocessor.feature_names)
    names = name_segments(features, labels, distinguishing(z_input, labels), rules)
    if refresh is not None:
        names.update({s: n for s, n in refresh.previous.names.items()
                      if s in names and s != NOISE})
    outcomes = data_set.outcomes
    profiles = profile_segments(features, z_input, labels, clusterer.membership_, revenue,
                                outcomes if outcomes is not None and len(outcomes.columns)
                                else None, names)
    separation = separation_scores(matrix, labels, cfg["k_selection"]["silhouette_sample"],
                                   seed)
    drift = DriftReference.from_data(features, labels, clusterer.membership_)
    drift.silhouette = separation["silhouette"]
    model = SegmentationModel(
        input_kind=cfg["input_kind"], reader=data_set.reader, columns=data_set.columns,
        returns=cfg["returns"], duplicates=cfg["duplicates"],
        late_rows=LateRows(float(cfg["late_rows"]["quantile"]),
                           int(cfg["late_rows"]["max_gap_days"])),
        numeric=numeric, categorical=list(preprocessor.categorical),
        extra=data_set.extra, customer_table=dict(cfg["customer_table"]),
        observation_months=cfg["features"]["observation_months"], preprocessor=preprocessor,
        clusterer=clusterer, label_map=label_map, names=names,
        drift=drift,
        metadata=_metadata(cfg, data_set, clusterer, labels, preprocessor, numeric, rules))
    rows = sample_rows(len(features), cfg["report"]["sample"], seed)
    tests = [] if outcomes is None or "validation_active" not in outcomes else [
        kpi_test(kpi, outcomes[kpi].to_numpy(dtype="float64"), labels)
        for kpi in ("validation_active", "validation_revenue")]
    return FitResult(
        config=dict(cfg), model=model, quality=data_set.quality, features=features,
        assignments=model.assignments(features.index, labels, clusterer.membership_),
        profiles=profiles, separation=separation,
        kruskal=kruskal_table(features, labels), matrix_sample=matrix[rows],
        labels_sample=labels[rows], feature_names=preprocessor.feature_names,
        windows=data_set.windows, labels=labels, refresh=refresh, kpi_tests=tests)


def _metadata(cfg: Mapping[str, Any], data_set: FeatureSet, clusterer: Clusterer,
              labels: np.ndarray, preprocessor: Preprocessor, numeric: list[str],
              rules: NamingRules) -> dict[str, Any]:
    windows = data_set.windows
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "algorithm": clusterer.name,
        "k": int(len(np.unique(labels[labels != NOISE]))),
        "customers": len(labels),
        "reference_date": str(windows.reference_date.date()) if windows else None,
        "windows": windows.describe() if windows else None,
        "numeric": numeric,
        "categorical": list(preprocessor.categorical),
        "feature_names": preprocessor.feature_names,
        "skewed_columns": preprocessor.skewed_columns,
        "membership": MEMBERSHIP_MEANING.get(clusterer.name, MARGIN_MEANING),
        "naming_rules": rules.source,
        "config": dict(cfg),
    }


def add_cohorts(result: FitResult, observed: pd.DataFrame, labels: np.ndarray,
                 ccfg: Mapping[str, Any], seed: int) -> None:
    segments = pd.Series(labels, index=result.features.index)
    months = int(ccfg["max_months"])
    overall = cohort_tables.retention_table(observed, None, months)
    per_segment = cohort_tables.retention_table(observed, segments, months)
    result.retention = pd.concat([overall, per_segment], ignore_index=True)
    result.order_values = cohort_tables.order_values(observed, segments,
                                                     float(ccfg["high_value_amount"]))
    sample = observed.iloc[sample_rows(len(observed), 20000, seed)]
    result.order_sample = pd.DataFrame({
        "segment": segments.reindex(sample["customer"]).to_numpy(),
        "amount": sample["amount"].to_numpy(),
    })
