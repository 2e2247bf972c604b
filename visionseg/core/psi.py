"""Population stability index (PSI): the one implementation the line monitor and the
customer segmentation share.

PSI = sum over bins of ``(a - e) * ln(a / e)``, with ``e`` and ``a`` the expected (reference)
and actual shares of each bin; the bins are the reference's quantiles. Identical samples give
exactly 0. Only numpy: the monitor and ``visionseg.tabular`` share it without each
other's dependencies.
"""

from __future__ import annotations

import numpy as np

#: Floor of every share in :func:`psi`: an empty bin gives a large, finite term.
FLOOR = 1e-4


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges at the quantiles of the finite ``values`` (ties merged, so
    ``len <= bins - 1``; none for no finite value). The outer bins are open, so later values
    beyond the reference's range still count."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return np.zeros(0)
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def bin_shares(values: np.ndarray, edges: np.ndarray, pseudo: float = 0.0) -> np.ndarray:
    """Share of the finite ``values`` in each of the ``len(edges) + 1`` bins (right-closed
    edges), after adding ``pseudo`` to every bin's count; all zeros when nothing is counted."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    counts = counts.astype(np.float64) + pseudo
    total = counts.sum()
    return counts / total if total > 0 else counts


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = FLOOR) -> float:
    """PSI of two share vectors over the same bins; shares are floored at ``floor``."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def sample_psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """PSI of the sample ``actual`` against the sample ``expected``, on ``expected``'s
    quantile bins (deciles by default)."""
    edges = quantile_edges(expected, bins)
    return psi(bin_shares(expected, edges), bin_shares(actual, edges))
