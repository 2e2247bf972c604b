"""What either engine hands to the shared end of a fit: the customer features of one input.

The pandas engine (:mod:`visionseg.tabular.pandas_engine`) and the Spark engine
(:mod:`visionseg.tabular.spark.fit`) each build a :class:`FeatureSet`; everything after the
clusterer's fit is :func:`visionseg.tabular.finish.finish_fit`, the same for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular.cleaning import ColumnMap, DataQuality
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.extra_features import ExtraColumns
from visionseg.tabular.features import FEATURES, Windows
from visionseg.tabular.io import ReaderOptions


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


def chosen_features(cfg: Mapping[str, Any]) -> list[str]:
    """``features.use``: the RFM features to cluster, each one of :data:`FEATURES`."""
    numeric = list(cfg["features"]["use"])
    unknown = [c for c in numeric if c not in FEATURES]
    if unknown:
        raise TabularInputError(f"features.use names unknown features {unknown}; "
                                f"available: {list(FEATURES)}")
    return numeric


def feature_columns(cfg: Mapping[str, Any], data_set: FeatureSet
                    ) -> tuple[list[str], list[str], str | None]:
    """The clustered numeric and categorical columns and the revenue column of the profiles:
    the chosen RFM features plus every extra feature the optional columns produced."""
    columns = data_set.columns
    if cfg["input_kind"] == "customers":
        return list(columns.numeric), list(columns.categorical), columns.revenue
    categorical = [*columns.categorical, *data_set.extra.table_categorical]
    return [*chosen_features(cfg), *data_set.extra_numeric], categorical, "monetary"


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
