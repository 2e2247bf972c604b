"""Drift between a model's training customers and today's: population stability index.

The PSI is :mod:`visionseg.core.psi` (the line monitor's too), on the training customers'
deciles. Common reading: below 0.1 stable, 0.1 to 0.25 moderate shift, above 0.25 a
significant shift (retrain). Identical samples give exactly 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from visionseg.core.psi import bin_shares, psi, quantile_edges

MODERATE, SIGNIFICANT = 0.1, 0.25


def level(value: float) -> str:
    """The usual PSI bands: below 0.1 stable, 0.1-0.25 moderate, above 0.25 significant."""
    if not np.isfinite(value):
        return "n/a"
    if value < MODERATE:
        return "stable"
    return "moderate shift" if value < SIGNIFICANT else "significant shift"


@dataclass
class SegmentDriftReference:
    """What a fitted model remembers of its training customers to measure drift later."""

    edges: dict[str, np.ndarray] = field(default_factory=dict)
    shares: dict[str, np.ndarray] = field(default_factory=dict)
    segment_shares: dict[int, float] = field(default_factory=dict)
    mean_confidence: float = float("nan")
    silhouette: float = float("nan")

    @classmethod
    def from_data(cls, features: pd.DataFrame, segments: np.ndarray,
                  confidence: np.ndarray | None = None, bins: int = 10) -> SegmentDriftReference:
        ref = cls()
        if confidence is not None and len(confidence):
            ref.mean_confidence = float(np.mean(confidence))
        for col in features.columns:
            if pd.api.types.is_numeric_dtype(features[col]):
                values = features[col].to_numpy(dtype="float64")
                ref.edges[col] = quantile_edges(values, bins)
                ref.shares[col] = bin_shares(values, ref.edges[col])
        ids, counts = np.unique(segments, return_counts=True)
        ref.segment_shares = {int(i): float(c / len(segments)) for i, c in zip(ids, counts,
                                                                                strict=True)}
        return ref

    def feature_drift(self, features: pd.DataFrame) -> pd.DataFrame:
        """PSI of each remembered feature in ``features``."""
        rows = []
        for col, edges in self.edges.items():
            if col in features:
                current = bin_shares(features[col].to_numpy(dtype="float64"), edges)
                value = psi(self.shares[col], current)
                rows.append({"feature": col, "psi": value, "level": level(value)})
        return pd.DataFrame(rows, columns=["feature", "psi", "level"])

    def segment_drift(self, segments: np.ndarray) -> tuple[float, pd.DataFrame]:
        """PSI of segment shares, and the table of reference vs current shares."""
        ids, counts = np.unique(segments, return_counts=True)
        current: Mapping[int, float] = {int(i): c / len(segments) for i, c in zip(ids, counts,
                                                                                 strict=True)}
        keys = sorted(set(self.segment_shares) | set(current))
        table = pd.DataFrame({
            "segment": keys,
            "reference_share": [self.segment_shares.get(k, 0.0) for k in keys],
            "current_share": [current.get(k, 0.0) for k in keys],
        })
        return psi(table["reference_share"], table["current_share"]), table


@dataclass
class DriftFindings:
    """What one scoring run found against the model's training customers (``*.drift.json``)."""

    input: str
    reference_date: str | None
    customers: int
    feature_psi: dict[str, float]
    segment_psi: float
    segment_shares: dict[int, float]
    training_shares: dict[int, float]
    mean_confidence: float
    training_mean_confidence: float
    silhouette: float
    training_silhouette: float

    @property
    def levels(self) -> dict[str, str]:
        out = {f"feature {k}": level(v) for k, v in self.feature_psi.items()}
        out["segment shares"] = level(self.segment_psi)
        return out

    def to_json(self) -> dict:
        data = dict(self.__dict__)
        data["segment_shares"] = {str(k): v for k, v in self.segment_shares.items()}
        data["training_shares"] = {str(k): v for k, v in self.training_shares.items()}
        data["levels"] = self.levels
        data["bands"] = {"stable": f"< {MODERATE}", "moderate shift": f"{MODERATE}-{SIGNIFICANT}",
                         "significant shift": f">= {SIGNIFICANT}"}
        return data

    @classmethod
    def from_json(cls, data: Mapping) -> DriftFindings:
        fields = {k: data[k] for k in cls.__dataclass_fields__}
        fields["segment_shares"] = {int(k): float(v) for k, v in data["segment_shares"].items()}
        fields["training_shares"] = {int(k): float(v)
                                     for k, v in data["training_shares"].items()}
        return cls(**fields)

    def lines(self) -> list[str]:
        """Console summary: the PSI bands and confidence."""
        shifted = [f"{k} {v:.2f} ({level(v)})" for k, v in self.feature_psi.items()
                   if v >= MODERATE]
        return [f"segment-share PSI {self.segment_psi:.3f} ({level(self.segment_psi)}); mean "
                f"confidence {self.mean_confidence:.3f} (training "
                f"{self.training_mean_confidence:.3f}); silhouette {self.silhouette:.3f}",
                "feature drift (PSI >= 0.1): " + (", ".join(shifted) or "none")]


def findings(reference: SegmentDriftReference, features: pd.DataFrame, segments: np.ndarray,
             confidence: np.ndarray, silhouette: float, source: str,
             reference_date: str | None) -> DriftFindings:
    """Compare one scored period with the training customers."""
    table = reference.feature_drift(features)
    value, shares = reference.segment_drift(segments)
    return DriftFindings(
        input=source, reference_date=reference_date, customers=len(segments),
        feature_psi={r.feature: float(r.psi) for r in table.itertuples()},
        segment_psi=float(value),
        segment_shares={int(r.segment): float(r.current_share) for r in shares.itertuples()},
        training_shares={int(r.segment): float(r.reference_share) for r in shares.itertuples()},
        mean_confidence=float(np.mean(confidence)) if len(confidence) else float("nan"),
        training_mean_confidence=float(reference.mean_confidence),
        silhouette=float(silhouette), training_silhouette=float(reference.silhouette))
