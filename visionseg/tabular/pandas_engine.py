"""``engine=pandas``: the fit in this process, from a table on disk to a FitResult.

:func:`fit_pandas` runs read -> clean -> features (observation window) -> preprocessing ->
K selection (or ``compare``) -> final fit, then the shared end of every fit,
:func:`visionseg.tabular.finish.finish_fit`. The Spark engine (:mod:`visionseg.tabular.spark`)
is its sibling: neither imports the other; :func:`visionseg.tabular.fit.fit_segmentation`
chooses between them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from visionseg.tabular.cleaning import ColumnMap, clean_customers, clean_transactions
from visionseg.tabular.compare import compare_algorithms, fit_algorithm
from visionseg.tabular.config import parse_k
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.extra_features import (
    join_customer_table,
    matched_share,
    transaction_features,
)
from visionseg.tabular.feature_set import FeatureSet, feature_columns, refuse_degenerate
from visionseg.tabular.features import (
    build_rfm,
    exclude_late_rows,
    resolve_windows,
    split_windows,
    validation_outcomes,
)
from visionseg.tabular.finish import Clock, finish_fit
from visionseg.tabular.io import ReaderOptions, read_table
from visionseg.tabular.naming import NamingRules
from visionseg.tabular.preprocess import Preprocessor
from visionseg.tabular.results import FitResult

log = logging.getLogger(__name__)


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


def fit_pandas(cfg: Mapping[str, Any]) -> FitResult:
    """The whole fit with ``engine=pandas`` (``cfg``: the composed ``configs/tabular/fit.yaml``)."""
    seed, k_wanted, clock = int(cfg["seed"]), parse_k(cfg["k"]), Clock()
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
