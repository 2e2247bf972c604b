"""The saved segmentation model (``model.joblib``) and how it scores new customers.

:class:`SegmentationModel` holds the feature definition, the fitted preprocessing and
clusterer, segment ids, names (with their rules) and actions, the drift reference and
metadata. A file from another layout or with an unknown format number is refused with
"incompatible model: refit" rather than scored with whatever it happens to contain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from visionseg.io import atomic_path
from visionseg.io.manifest import package_versions
from visionseg.tabular.algorithms.base import NOISE, Clusterer, apply_mapping
from visionseg.tabular.cleaning import (
    ColumnMap,
    DataQuality,
    clean_customers,
    clean_transactions,
)
from visionseg.tabular.drift import SegmentDriftReference
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.extra_features import (
    ExtraColumns,
    join_customer_table,
    transaction_features,
)
from visionseg.tabular.features import (
    build_rfm,
    exclude_late_rows,
    resolve_windows,
    split_windows,
)
from visionseg.tabular.io import ReaderOptions
from visionseg.tabular.naming import NOISE_NAME, SegmentName
from visionseg.tabular.preprocess import Preprocessor

log = logging.getLogger(__name__)
#: 3: scikit-learn-style clusterers (parameters as given, learned state with ``_``) and the
#: drift reference renamed SegmentDriftReference; files of format 2 are refused (refit).
MODEL_FORMAT = 3
VERSIONED = ("visionseg", "numpy", "pandas", "scikit-learn", "scipy", "kmodes", "gower", "torch")


def versions() -> dict[str, str | None]:
    """Versions of the packages a model depends on (the package's manifest helper)."""
    return package_versions(VERSIONED)


def missing_fields(obj: Any, prefix: str = "") -> list[str]:
    """Dotted names of the dataclass fields ``obj`` (and the dataclasses it holds) lacks.

    Unpickling restores whatever attributes the file holds, so a model saved by an older
    layout or edited by hand loads fine and fails much later with an AttributeError deep in
    scoring; this finds the gap at load time. Fields with a default are never missing.
    """
    missing: list[str] = []
    for spec in fields(obj):
        name = f"{prefix}{spec.name}"
        if not hasattr(obj, spec.name):
            missing.append(name)
            continue
        value = getattr(obj, spec.name)
        if is_dataclass(value) and not isinstance(value, type):
            missing += missing_fields(value, f"{name}.")
    return missing


@dataclass(frozen=True)
class LateRows:
    """The rule that excludes rows dated far after the rest (see ``features``)."""

    quantile: float
    max_gap_days: int


@dataclass
class SegmentationModel:
    """A fitted segmentation: turns a table of customers into segment assignments."""

    input_kind: str
    reader: ReaderOptions
    columns: ColumnMap
    returns: str
    duplicates: str
    late_rows: LateRows
    numeric: list[str]
    categorical: list[str]
    observation_months: int | None
    preprocessor: Preprocessor
    clusterer: Clusterer
    label_map: dict[int, int]
    names: dict[int, SegmentName]
    drift: SegmentDriftReference
    extra: ExtraColumns = field(default_factory=ExtraColumns)
    customer_table: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def customer_features(self, table: pd.DataFrame, source: str, strict: bool = False,
                          reference_date: str | None = None) -> tuple[pd.DataFrame, DataQuality]:
        """Clean a raw table and compute the model's features (one row per customer)."""
        if self.input_kind == "customers":
            return clean_customers(table, self.columns, source, strict, self.reader,
                                   min_customers=1)
        tx, dq = clean_transactions(table, self.columns, source, self.returns, self.duplicates,
                                    strict, self.reader, min_customers=1)
        if reference_date is None:
            tx = exclude_late_rows(tx, self.late_rows.quantile, self.late_rows.max_gap_days,
                                   strict, source, dq)
        windows = resolve_windows(tx["date"], reference_date, self.observation_months, 0)
        observed, _ = split_windows(tx, windows, source, min_customers=1)
        dq.reference_date = str(windows.reference_date.date())
        dq.note(f"features at reference date {windows.reference_date.date()} "
                f"({windows.describe()})")
        rfm_categorical = [c for c in self.columns.categorical]
        features = build_rfm(observed, windows.reference_date, rfm_categorical)
        extra, _ = transaction_features(observed, self.columns, 0, self.extra)
        features = features.join(extra)
        if self.customer_table.get("input"):
            features, _, _ = join_customer_table(features, self.customer_table)
        return features, dq

    def transform(self, features: pd.DataFrame) -> np.ndarray | pd.DataFrame:
        """The clusterer's input for ``features`` (matrix, or mixed frame)."""
        missing = [c for c in self.numeric + self.categorical if c not in features]
        if missing:
            raise TabularInputError(
                f"the model needs feature columns {missing}, found {list(features.columns)}")
        return (self.preprocessor.transform_mixed(features) if self.clusterer.mixed_input
                else self.preprocessor.transform(features))

    def assign(self, features: pd.DataFrame) -> pd.DataFrame:
        """``customer, segment, name, confidence`` for every row of ``features``."""
        raw, confidence = self.clusterer.predict_with_membership(self.transform(features))
        return self.assignments(features.index, apply_mapping(raw, self.label_map), confidence)

    def assignments(self, customers: pd.Index, labels: np.ndarray,
                    confidence: np.ndarray) -> pd.DataFrame:
        names = {seg: n.name for seg, n in self.names.items()}
        names.setdefault(NOISE, NOISE_NAME)
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
        """Load a model written by :meth:`save`; one clear error for anything else."""
        path = Path(path)
        if not path.is_file():
            raise TabularInputError(f"{path}: model file not found")
        try:
            payload = joblib.load(path)
        except (AttributeError, ImportError, TypeError) as exc:
            raise TabularInputError(
                f"{path}: incompatible model: refit (written by another version of "
                f"visionseg.tabular: {exc})") from None
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
            raise TabularInputError(f"{path}: not a readable model file ({exc})") from None
        if not isinstance(payload, dict) or "format" not in payload:
            raise TabularInputError(f"{path}: not a visionseg.tabular model")
        if payload["format"] != MODEL_FORMAT or not isinstance(payload.get("model"),
                                                                SegmentationModel):
            raise TabularInputError(
                f"{path}: incompatible model: refit (model format {payload['format']!r}, this "
                f"version reads format {MODEL_FORMAT})")
        model = payload["model"]
        missing = missing_fields(model)
        if missing:
            raise TabularInputError(
                f"{path}: incompatible model: field {missing[0]!r} is missing (written by "
                "another version of visionseg.tabular, or edited); refit the model")
        saved = model.metadata.get("versions", {}).get("scikit-learn")
        now = versions().get("scikit-learn")
        if saved and now and saved != now:
            log.warning("%s was saved with scikit-learn %s, running %s: refit if scores look "
                        "wrong", path, saved, now)
        return model
