"""Segment profiles, automatic names, suggested actions, and statistical separation.

A profile gives per segment its size and share, revenue and revenue share, the median and
quartiles of every numeric feature, and the features that set it apart: z-scores of the
segment's mean against the whole, on the preprocessed (skew-corrected, scaled) columns, so a
few extreme customers do not dominate.

Names come from RFM positions when the features include recency, frequency and monetary
value: each segment's median is placed in the distribution of all customers (a percentile),
and ordered rules give "high-value loyal", "at risk", "new and promising", "dormant",
"low-value recent" or "steady regulars". Without RFM columns a segment is named after its
most distinctive features. Segments that would share a name get the feature that differs
most between them appended, with their z-scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import kruskal

from visionseg.tabular.algorithms.base import NOISE

ACTIONS = {
    "high-value loyal": "VIP care: early access, personal service, referral asks; avoid "
                        "discounting customers who already pay full price",
    "at risk": "win them back now: personal outreach and a retention offer before they lapse",
    "new and promising": "onboarding: welcome series and a second-purchase incentive",
    "dormant": "low-cost reactivation campaign; stop paid contact if there is no response",
    "low-value recent": "raise order value: bundles, cross-sell, free-shipping thresholds",
    "steady regulars": "loyalty programme and upsell to the next tier",
    "noise": "review individually: these customers fit no segment",
}
RECENCY = "recency_days"
FREQUENCY = ("orders_per_month", "frequency")
MONETARY = "monetary"
TENURE = "tenure_days"


def percentile_of(values: np.ndarray, point: float) -> float:
    """Share of ``values`` at or below ``point`` (the empirical CDF)."""
    values = np.sort(values[np.isfinite(values)])
    if len(values) == 0:
        return 0.5
    return float(np.searchsorted(values, point, side="right") / len(values))


def distinguishing(scaled: pd.DataFrame, labels: np.ndarray, top: int = 3) -> pd.DataFrame:
    """Per segment and feature, the z-score of the segment mean against all customers."""
    mean = scaled.mean(axis=0)
    std = scaled.std(axis=0, ddof=0).replace(0, 1.0)
    z = scaled.groupby(labels).mean().sub(mean, axis=1).div(std, axis=1)
    z.index.name = "segment"
    return z


def describe_z(z_row: pd.Series, top: int = 3) -> str:
    """'high monetary (+1.8 sd), low recency_days (-1.2 sd)' for the largest |z|."""
    order = z_row.abs().sort_values(ascending=False).index[:top]
    parts = [f"{'high' if z_row[c] > 0 else 'low'} {c} ({z_row[c]:+.1f} sd)" for c in order]
    return ", ".join(parts)


def rfm_name(medians: pd.Series, features: pd.DataFrame) -> str | None:
    """The rule-based RFM name of one segment, or None without RFM columns."""
    freq_col = next((c for c in FREQUENCY if c in features), None)
    if RECENCY not in features or MONETARY not in features or freq_col is None:
        return None

    def pct(col: str) -> float:
        return percentile_of(features[col].to_numpy(dtype="float64"), float(medians[col]))

    recent = 1.0 - pct(RECENCY)
    value = (pct(freq_col) + pct(MONETARY)) / 2
    young = pct(TENURE) <= 0.25 if TENURE in features else False
    if young and recent >= 0.5:
        return "new and promising"
    if value >= 0.6 and recent >= 0.5:
        return "high-value loyal"
    if value >= 0.45 and recent < 0.4:
        return "at risk"
    if recent < 0.4:
        return "dormant"
    if value < 0.4:
        return "low-value recent"
    return "steady regulars"


def name_segments(features: pd.DataFrame, labels: np.ndarray,
                  z: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """``{segment: (name, action)}`` for every segment id in ``labels``."""
    numeric = features.select_dtypes("number")
    medians = numeric.groupby(labels).median()
    names: dict[int, str] = {}
    for seg in medians.index:
        if seg == NOISE:
            names[seg] = "noise"
            continue
        name = rfm_name(medians.loc[seg], numeric)
        names[seg] = name if name is not None else describe_z(z.loc[seg], top=2)
    by_name: dict[str, list[int]] = {}
    for seg, name in names.items():
        by_name.setdefault(name, []).append(seg)
    for name, group in by_name.items():
        if len(group) < 2 or name == "noise":
            continue
        spread = z.loc[group].max() - z.loc[group].min()
        feature = str(spread.idxmax())
        for seg in group:
            names[seg] = f"{name} ({feature} {z.loc[seg, feature]:+.1f} sd)"
    seen: dict[str, int] = {}
    for seg in sorted(names):
        base = names[seg]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            names[seg] = f"{base} #{seen[base]}"
    result = {}
    for seg, name in names.items():
        rule = next((key for key in ACTIONS if name.startswith(key)), None)
        action = ACTIONS[rule] if rule else f"tailor offers to what sets them apart: {name}"
        result[int(seg)] = (name, action)
    return result


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
                     "eta_squared": float(eta), "effect": _effect(eta)})
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


def _effect(eta: float) -> str:
    if not np.isfinite(eta):
        return "n/a"
    if eta >= 0.14:
        return "large"
    if eta >= 0.06:
        return "medium"
    return "small" if eta >= 0.01 else "negligible"


def profile_segments(
    features: pd.DataFrame,
    scaled: pd.DataFrame,
    labels: np.ndarray,
    membership: np.ndarray,
    revenue: str | None = None,
    outcomes: pd.DataFrame | None = None,
    names: dict[int, tuple[str, str]] | None = None,
    quantile_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per segment (noise last): size, share, revenue and its share, mean membership,
    validation retention and revenue (when ``outcomes`` has them), feature medians and
    quartiles, the distinguishing features, the name and the suggested action."""
    numeric = features.select_dtypes("number")
    if quantile_columns is not None:
        numeric = numeric[[c for c in quantile_columns if c in numeric]]
    z = distinguishing(scaled, labels)
    names = names or name_segments(features, labels, z)
    groups = pd.Series(labels, index=features.index)
    sizes = groups.value_counts()
    order = sorted(sizes.index, key=lambda s: (s == NOISE, s))
    frame = pd.DataFrame(index=pd.Index(order, name="segment"))
    frame["name"] = [names[s][0] for s in order]
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
    frame["action"] = [names[s][1] for s in order]
    return frame.reset_index()
