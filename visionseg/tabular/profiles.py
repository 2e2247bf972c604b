"""Segment profiles and statistical separation.

A profile gives per segment its size and share, revenue and revenue share, the median and
quartiles of every numeric feature, and the features that set it apart: z-scores of the
segment's mean against the whole, on the preprocessed (skew-corrected, scaled) columns, so a
few extreme customers do not dominate.

Names and actions come from :mod:`visionseg.tabular.naming`; the profile shows them with
the rule each came from and the segment's RFM scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import kruskal

from visionseg.tabular.algorithms.base import NOISE
from visionseg.tabular.kpi_tests import effect_label
from visionseg.tabular.naming import SegmentName, describe_z, segment_medians


def distinguishing(scaled: pd.DataFrame, labels: np.ndarray, top: int = 3) -> pd.DataFrame:
    """Per segment and feature, the z-score of the segment mean against all customers."""
    mean = scaled.mean(axis=0)
    std = scaled.std(axis=0, ddof=0).replace(0, 1.0)
    z = scaled.groupby(labels).mean().sub(mean, axis=1).div(std, axis=1)
    z.index.name = "segment"
    return z


def kruskal_table(features: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Kruskal-Wallis H per numeric feature across segments (noise excluded), with the
    effect size eta^2_H = (H - k + 1) / (n - k) (0.01 small, 0.06 medium, 0.14 large)."""
    keep = labels != NOISE
    segs = np.unique(labels[keep])
    rows = []
    n, k = int(keep.sum()), len(segs)
    for col in features.select_dtypes("number").columns:
        values = features[col].to_numpy(dtype="float64")[keep]
        groups = [values[labels[keep] == s] for s in segs]
        if k < 2 or np.all(values == values[0]):
            h, p = float("nan"), float("nan")
        else:
            h, p = kruskal(*groups)
        eta = (h - k + 1) / (n - k) if n > k and np.isfinite(h) else float("nan")
        rows.append({"feature": col, "H": float(h), "p_value": float(p),
                     "eta_squared": float(eta), "effect": effect_label(eta)})
    return pd.DataFrame(rows, columns=["feature", "H", "p_value", "eta_squared", "effect"])


def _top_categories(values: pd.Series, labels: np.ndarray, order: Sequence[int]) -> list[str]:
    """Each segment's most frequent category, its share there and in all customers."""
    overall = values.value_counts(normalize=True)
    out = []
    for seg in order:
        shares = values[labels == seg].value_counts(normalize=True)
        top = shares.index[0]
        out.append(f"{top} ({shares.iloc[0]:.0%} vs {overall[top]:.0%} overall)")
    return out


def profile_segments(
    features: pd.DataFrame,
    scaled: pd.DataFrame,
    labels: np.ndarray,
    membership: np.ndarray,
    revenue: str | None = None,
    outcomes: pd.DataFrame | None = None,
    names: dict[int, SegmentName] | None = None,
    quantile_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per segment (noise last): size, share, revenue and its share, mean membership,
    validation retention and revenue (when ``outcomes`` has them), feature medians and
    quartiles, the distinguishing features, the name and the suggested action."""
    numeric = features.select_dtypes("number")
    if quantile_columns is not None:
        numeric = numeric[[c for c in quantile_columns if c in numeric]]
    z = distinguishing(scaled, labels)
    names = names or {}
    groups = pd.Series(labels, index=features.index)
    sizes = groups.value_counts()
    order = sorted(sizes.index, key=lambda s: (s == NOISE, s))
    frame = pd.DataFrame(index=pd.Index(order, name="segment"))
    frame["name"] = [names[s].name if s in names else f"segment {s}" for s in order]
    frame["size"] = sizes.reindex(order).to_numpy()
    frame["share"] = frame["size"] / len(labels)
    if revenue is not None and revenue in features:
        total = features[revenue].groupby(labels).sum()
        frame["revenue"] = total.reindex(order).to_numpy()
        grand = features[revenue].sum()
        frame["revenue_share"] = frame["revenue"] / grand if grand else np.nan
    frame["mean_membership"] = pd.Series(membership).groupby(labels).mean().reindex(order)
    if outcomes is not None and "validation_active" in outcomes:
        per = outcomes.groupby(labels)
        frame["validation_retention"] = per["validation_active"].mean().reindex(order)
        frame["validation_revenue_per_customer"] = per["validation_revenue"].mean().reindex(order)
    quant = numeric.groupby(labels).quantile([0.25, 0.5, 0.75]).unstack()
    for col in numeric.columns:
        frame[f"{col}_q1"] = quant[(col, 0.25)].reindex(order)
        frame[f"{col}_median"] = quant[(col, 0.5)].reindex(order)
        frame[f"{col}_q3"] = quant[(col, 0.75)].reindex(order)
    for col in features.columns.difference(features.select_dtypes("number").columns):
        frame[f"{col}_top"] = _top_categories(features[col], labels, order)
    frame["distinguishing"] = [describe_z(z.loc[s]) for s in order]
    frame["action"] = [names[s].action if s in names else "" for s in order]
    frame["naming_rule"] = [names[s].rule if s in names else "" for s in order]
    scores = segment_medians(features, labels)
    for col in ("recency_cycles", "r_score", "f_score", "m_score"):
        if col in scores:
            frame[col] = scores[col].reindex(order).to_numpy()
    return frame.reset_index()
