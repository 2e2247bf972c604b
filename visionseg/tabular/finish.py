"""The end of a fit that both engines share, from a fitted clusterer to a FitResult.

:func:`finish_fit` numbers the segments (by size, or matched to a previous model), checks
their bootstrap stability, names, profiles and tests them, builds the saved model with its
drift reference and metadata, and adds the cohort tables when the transactions are at hand.
Nothing is written here, so a failure at any step leaves no partial output.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular import cohorts as cohort_tables
from visionseg.tabular.algorithms.base import NOISE, Clusterer, apply_mapping
from visionseg.tabular.compare import Comparison, Fitted
from visionseg.tabular.drift import SegmentDriftReference
from visionseg.tabular.feature_set import FeatureSet, feature_columns
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


class Clock:
    """Logs the seconds each stage of a fit took."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Log the seconds since the previous lap (or the start) under ``stage``."""
        now = time.perf_counter()
        log.info("%-22s %6.1f s", stage, now - self.last)
        self.last = now


def size_order(raw: np.ndarray) -> dict[int, int]:
    """Raw ids -> 0..k-1 by decreasing size (ties by raw id); noise stays -1."""
    ids, counts = np.unique(raw[raw != NOISE], return_counts=True)
    order = sorted(zip(ids, counts, strict=True), key=lambda pair: (-pair[1], pair[0]))
    return {int(i): rank for rank, (i, _) in enumerate(order)}


def finish_fit(cfg: Mapping[str, Any], data_set: FeatureSet, preprocessor: Preprocessor,
               matrix: np.ndarray, fitted: Fitted, comparison: Comparison | None = None,
               clock: Clock | None = None) -> FitResult:
    """Number the segments, check stability, name, profile and test them (either engine)."""
    seed, clock = int(cfg["seed"]), clock or Clock()
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
    drift = SegmentDriftReference.from_data(features, labels, clusterer.membership_)
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
    """Retention by cohort (overall and per segment) and order values, for the report."""
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
