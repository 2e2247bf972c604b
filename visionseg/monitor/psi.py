"""The monitor's drift bands, and the PSI of a window of images against the reference.

The PSI itself (bins, shares, the index) is :mod:`visionseg.core.psi`, shared with
``visionseg.tabular``; this module adds the monitor's small-window pseudo-count and bands.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from visionseg.core.psi import bin_shares, psi

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


def window_psi(reference: np.ndarray, edges: np.ndarray, window: np.ndarray) -> float:
    """PSI of ``window`` values against the reference shares over ``edges``."""
    return psi(reference, bin_shares(window, edges, PSEUDO_COUNT))
