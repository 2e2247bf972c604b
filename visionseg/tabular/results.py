"""What one fit produced, handed from either engine to the output files and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular.cleaning import DataQuality
from visionseg.tabular.compare import Comparison
from visionseg.tabular.features import Windows
from visionseg.tabular.k_selection import KSelection
from visionseg.tabular.kpi_tests import KpiTest
from visionseg.tabular.model import SegmentationModel
from visionseg.tabular.refresh import Refresh
from visionseg.tabular.stability import Stability


@dataclass
class FitResult:
    """Everything one fit produced, for the output files and the report."""

    config: dict[str, Any]
    model: SegmentationModel
    quality: DataQuality
    features: pd.DataFrame
    assignments: pd.DataFrame
    profiles: pd.DataFrame
    separation: dict[str, float]
    kruskal: pd.DataFrame
    matrix_sample: np.ndarray
    labels_sample: np.ndarray
    feature_names: list[str]
    labels: np.ndarray
    k_selection: KSelection | None = None
    stability: Stability | None = None
    windows: Windows | None = None
    retention: pd.DataFrame | None = None
    order_values: pd.DataFrame | None = None
    order_sample: pd.DataFrame | None = None
    refresh: Refresh | None = None
    kpi_tests: list[KpiTest] = field(default_factory=list)
    comparison: Comparison | None = None
