"""Refitting with ``previous_model=``: keep segment ids, and say what changed.

The new segments are matched to the old ones by Hungarian matching on the Jaccard overlap of
the customers each assigns (the old model scores today's customers, so both labellings cover
the same people). The share drift against the old training shares is then split in two:

- **customers changed**: the old model on today's customers against its training shares
  (the same rules, different people or behaviour);
- **model changed**: the new model against the old model, both on today's customers (the
  same people, different rules).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from visionseg.core.psi import psi
from visionseg.tabular.algorithms.base import NOISE, apply_mapping
from visionseg.tabular.drift import level
from visionseg.tabular.model import SegmentationModel


def jaccard_matrix(previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """Jaccard overlap of every (current, previous) segment pair, and both id lists."""
    previous, current = np.asarray(previous), np.asarray(current)
    if previous.shape != current.shape:
        raise ValueError("both labellings must cover the same customers")
    old_ids = np.unique(previous[previous != NOISE])
    new_ids = np.unique(current[current != NOISE])
    both = (previous != NOISE) & (current != NOISE)
    overlap = np.zeros((len(new_ids), len(old_ids)))
    np.add.at(overlap, (np.searchsorted(new_ids, current[both]),
                        np.searchsorted(old_ids, previous[both])), 1)
    new_sizes = np.array([(current == s).sum() for s in new_ids], dtype=float)
    old_sizes = np.array([(previous == s).sum() for s in old_ids], dtype=float)
    union = new_sizes[:, None] + old_sizes[None, :] - overlap
    return np.where(union > 0, overlap / np.maximum(union, 1), 0.0), new_ids, old_ids


def match_labels(previous: np.ndarray, current: np.ndarray) -> dict[int, int]:
    """Map each ``current`` segment id to a ``previous`` one, maximising the total Jaccard
    overlap (scipy's ``linear_sum_assignment``). Unmatched current segments (more than before)
    get new ids above the previous ones; noise (-1) is not matched."""
    jaccard, new_ids, old_ids = jaccard_matrix(previous, current)
    rows, cols = linear_sum_assignment(jaccard, maximize=True)
    mapping = {int(new_ids[r]): int(old_ids[c]) for r, c in zip(rows, cols, strict=True)}
    next_id = int(old_ids.max()) + 1 if len(old_ids) else 0
    for seg in new_ids:
        if int(seg) not in mapping:
            mapping[int(seg)] = next_id
            next_id += 1
    return mapping


def relabel(previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """``current`` renumbered to agree with ``previous`` as far as possible, and the mapping."""
    mapping = match_labels(previous, current)
    return apply_mapping(current, mapping), mapping


def _shares(labels: np.ndarray) -> dict[int, float]:
    ids, counts = np.unique(labels, return_counts=True)
    return {int(i): float(c / len(labels)) for i, c in zip(ids, counts, strict=True)}


@dataclass
class Refresh:
    """A refit against a previous model: the id mapping and the split share drift."""

    previous: SegmentationModel
    mapping: dict[int, int]
    shares: pd.DataFrame
    psi_customers: float
    psi_model: float
    agreement: float
    feature_drift: pd.DataFrame

    def summary(self) -> str:
        return (f"share drift split: customers changed PSI {self.psi_customers:.3f} "
                f"({level(self.psi_customers)}), model changed PSI {self.psi_model:.3f} "
                f"({level(self.psi_model)}); {self.agreement:.1%} of today's customers keep "
                "their segment under the new model")


def compare_with_previous(previous: SegmentationModel, features: pd.DataFrame,
                          raw: np.ndarray) -> Refresh:
    """Match the new fit's raw labels to ``previous`` and split the share drift."""
    old_today = previous.assign(features)["segment"].to_numpy()
    mapping = match_labels(old_today, raw)
    new_today = apply_mapping(raw, mapping)
    trained = previous.drift.segment_shares
    old, new = _shares(old_today), _shares(new_today)
    keys = sorted(set(trained) | set(old) | set(new))
    names = {s: n.name for s, n in previous.names.items()}
    shares = pd.DataFrame({
        "segment": keys,
        "name": [names.get(k, "new segment") for k in keys],
        "training_share": [trained.get(k, 0.0) for k in keys],
        "old_model_today": [old.get(k, 0.0) for k in keys],
        "new_model_today": [new.get(k, 0.0) for k in keys],
    })
    return Refresh(
        previous=previous, mapping=mapping, shares=shares,
        psi_customers=psi(shares["training_share"], shares["old_model_today"]),
        psi_model=psi(shares["old_model_today"], shares["new_model_today"]),
        agreement=float(np.mean(old_today == new_today)),
        feature_drift=previous.drift.feature_drift(features))
