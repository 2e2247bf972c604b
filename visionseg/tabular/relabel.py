"""Keeping segment ids stable across retraining: Hungarian matching on label overlap."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from visionseg.tabular.algorithms.base import NOISE, apply_mapping


def match_labels(previous: np.ndarray, current: np.ndarray) -> dict[int, int]:
    """Map each ``current`` segment id to a ``previous`` one, maximising the customers
    the two labellings share (scipy's ``linear_sum_assignment``).

    Current segments left without a partner (more segments than before) get new ids above the
    previous ones; noise (-1) is not matched.
    """
    previous = np.asarray(previous)
    current = np.asarray(current)
    if previous.shape != current.shape:
        raise ValueError("both labellings must cover the same customers")
    old_ids = np.unique(previous[previous != NOISE])
    new_ids = np.unique(current[current != NOISE])
    overlap = np.zeros((len(new_ids), len(old_ids)), dtype=np.int64)
    both = (previous != NOISE) & (current != NOISE)
    new_pos = np.searchsorted(new_ids, current[both])
    old_pos = np.searchsorted(old_ids, previous[both])
    np.add.at(overlap, (new_pos, old_pos), 1)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
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
