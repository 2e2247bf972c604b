"""Do the segments differ in a KPI? Kruskal-Wallis with its effect size, and corrected
pairwise follow-up tests.

Kruskal-Wallis H across all segments (noise excluded), with eta^2_H = (H - k + 1) / (n - k)
(0.01 small, 0.06 medium, 0.14 large). Each pair of segments then gets a two-sided
Mann-Whitney U test, Holm-corrected over all pairs, with the rank-biserial correlation
r = 1 - 2U / (n1 n2) as its effect size (the share of pairs where the first segment is
higher minus the share where it is lower).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import kruskal, mannwhitneyu

from visionseg.tabular.algorithms.base import NOISE
from visionseg.tabular.lift import holm


def effect_label(eta: float) -> str:
    if not np.isfinite(eta):
        return "n/a"
    if eta >= 0.14:
        return "large"
    if eta >= 0.06:
        return "medium"
    return "small" if eta >= 0.01 else "negligible"


@dataclass(frozen=True)
class KpiTest:
    """The omnibus test of one KPI and its pairwise follow-up."""

    kpi: str
    h: float
    p_value: float
    eta_squared: float
    pairs: pd.DataFrame

    @property
    def effect(self) -> str:
        return effect_label(self.eta_squared)

    def sentence(self) -> str:
        significant = self.pairs[self.pairs["p_holm"] < 0.05]
        return (f"{self.kpi}: Kruskal-Wallis H={self.h:.1f}, p={self.p_value:.2g}, eta^2_H="
                f"{self.eta_squared:.3f} ({self.effect}); {len(significant)} of "
                f"{len(self.pairs)} segment pairs differ at 5% after Holm's correction.")


def kpi_test(kpi: str, values: np.ndarray, labels: np.ndarray) -> KpiTest:
    """Test whether ``values`` differ across the segments in ``labels``."""
    values = np.asarray(values, dtype="float64")
    keep = (np.asarray(labels) != NOISE) & np.isfinite(values)
    values, labels = values[keep], np.asarray(labels)[keep]
    segs = np.unique(labels)
    groups = {int(s): values[labels == s] for s in segs}
    n, k = len(values), len(segs)
    if k < 2 or np.all(values == values[0]):
        h, p = float("nan"), float("nan")
    else:
        h, p = (float(x) for x in kruskal(*groups.values()))
    eta = (h - k + 1) / (n - k) if n > k and np.isfinite(h) else float("nan")
    rows = []
    for a, b in combinations(groups, 2):
        x, y = groups[a], groups[b]
        if len(x) == 0 or len(y) == 0 or np.all(np.r_[x, y] == x[0]):
            u, pu = float("nan"), float("nan")
        else:
            u, pu = (float(v) for v in mannwhitneyu(x, y, alternative="two-sided"))
        rows.append({"segment_a": a, "segment_b": b, "median_a": float(np.median(x)),
                     "median_b": float(np.median(y)), "U": u, "p_value": pu,
                     "rank_biserial": 1 - 2 * u / (len(x) * len(y)) if np.isfinite(u)
                     else float("nan")})
    pairs = pd.DataFrame(rows, columns=["segment_a", "segment_b", "median_a", "median_b", "U",
                                        "p_value", "rank_biserial"])
    pairs["p_holm"] = holm(pairs["p_value"].to_numpy())
    return KpiTest(kpi, h, p, eta, pairs)
