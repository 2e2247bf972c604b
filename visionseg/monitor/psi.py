"""Population stability index of a window of values against reference quantile bins."""

from __future__ import annotations

from enum import Enum

import numpy as np

#: Pseudo-count added to every bin of the window (Jeffreys), so an empty bin in a small
#: window gives a finite, bounded term instead of an infinite one.
PSEUDO_COUNT = 0.5


class Band(str, Enum):
    """PSI band of a feature or of the worst feature of a window."""

    OK = "ok"
    WATCH = "watch"
    ACT = "act"

    @classmethod
    def of(cls, psi: float, watch: float, act: float) -> Band:
        if psi >= act:
            return cls.ACT
        return cls.WATCH if psi >= watch else cls.OK


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges at the reference's quantiles (ties merged): ``len <= bins - 1``;
    the outer bins are open, so values beyond the reference's range still count."""
    inner = np.quantile(values, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(inner)


def bin_proportions(values: np.ndarray, edges: np.ndarray, pseudo: float = 0.0) -> np.ndarray:
    """Share of ``values`` in each of the ``len(edges) + 1`` bins (right-closed edges)."""
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    counts = counts.astype(np.float64) + pseudo
    return counts / counts.sum()


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = 1e-4) -> float:
    """``sum((a - e) * ln(a / e))`` over bins; proportions are floored at ``floor``."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def window_psi(reference: np.ndarray, edges: np.ndarray, window: np.ndarray) -> float:
    """PSI of ``window`` values against the reference proportions over ``edges``."""
    return psi(reference, bin_proportions(window, edges, PSEUDO_COUNT))
