"""The two reductions every figure ends in: a ratio that is NaN without a denominator, and a
mean that leaves undefined (NaN) values out."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def ratio(num: float, den: float) -> float:
    """``num / den``, NaN when ``den`` is 0 (a figure with nothing to count is undefined)."""
    return float(num) / float(den) if den else float("nan")


def nanmean(values: Iterable[float] | np.ndarray) -> float:
    """Mean of the defined values; NaN when none is."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else float("nan")
