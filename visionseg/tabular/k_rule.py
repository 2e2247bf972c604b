"""The ``k=auto`` rule: which K to use, given the criteria table of every K.

Silhouette alone favours K=2 (one split along the main axis of variation), which is rarely
useful to a marketer, so the rule asks four questions in turn:

1. How many segments are worth having? Criteria nominate a K. The **elbow** K_e: the first K
   after which one more segment explains less than ``min_gain`` (5%) more of the total
   variance. The **gap statistic** K_g: the smallest K with Gap(K) >= Gap(K+1) - s(K+1).
   For mixtures **BIC** proposes K_b too: the lowest BIC, or, when BIC still falls at the
   top of the range, the elbow of the BIC curve (the point farthest from the chord joining
   its ends). K_b is always computed and reported; it nominates only with
   ``bic_nominates=True`` (default off: as a nominee it moved K away from the known answer
   on iris, wine and the planted table: 2, 2 and 7 instead of 3, 3 and 5).
2. Is every segment big enough to act on? A K is admissible only if its smallest segment
   holds at least ``min_segment_share`` (3%) of the customers.
3. Which admissible nominee separates best? The best mean rank over the whole range on
   silhouette, Davies-Bouldin and Calinski-Harabasz (plus BIC for mixtures); ties go to the
   smaller K. If no nominee is admissible: the largest admissible K below the smallest
   nominee, else the smallest admissible K above it.
4. Does it reproduce? With a stability check, a K whose bootstrap ARI is below
   ``min_stability`` (0.6) cannot win: the next candidate in the same order is tried.

The reason states each step with its numbers and what every criterion alone would pick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from visionseg.tabular.algorithms.dbscan import elbow_index

RANK_CRITERIA = {"silhouette": False, "davies_bouldin": True, "calinski_harabasz": False,
                 "bic": True}


@dataclass
class KSelection:
    """The K table, the chosen K and why."""

    table: pd.DataFrame
    k: int
    reason: str
    elbow_k: int | None = None
    gap_k: int | None = None
    bic_k: int | None = None


def gap_choice(gaps: pd.DataFrame) -> int:
    """Smallest K with Gap(K) >= Gap(K+1) - s(K+1); the largest K if none."""
    gaps = gaps.sort_values("k").reset_index(drop=True)
    for i in range(len(gaps) - 1):
        if gaps.loc[i, "gap"] >= gaps.loc[i + 1, "gap"] - gaps.loc[i + 1, "gap_se"]:
            return int(gaps.loc[i, "k"])
    return int(gaps["k"].iloc[-1])


def elbow_choice(table: pd.DataFrame, min_gain: float) -> int:
    """First K after which one more segment explains less than ``min_gain`` more variance."""
    ks = table["k"].to_numpy()
    gains = table["gain"].to_numpy()
    for i in range(len(ks) - 1):
        if ks[i + 1] == ks[i] + 1 and gains[i + 1] < min_gain:
            return int(ks[i])
    return int(ks[-1])


def bic_choice(table: pd.DataFrame) -> tuple[int | None, str]:
    """BIC's K and how: the minimum, or the elbow of a curve still falling at the range end."""
    if "bic" not in table or not table["bic"].notna().all():
        return None, ""
    bic = table["bic"].to_numpy(dtype="float64")
    ks = table["k"].to_numpy()
    lowest = int(np.argmin(bic))
    if lowest < len(bic) - 1:
        return int(ks[lowest]), "lowest BIC"
    return int(ks[elbow_index(bic)]), "elbow of the BIC curve (BIC still falls at the top)"


def _gap_nominee(table: pd.DataFrame) -> int | None:
    if "gap" not in table or not table["gap"].notna().any():
        return None
    gaps = pd.concat([pd.DataFrame({"k": [1], "gap": [table.attrs.get("gap_k1", np.nan)],
                                    "gap_se": [table.attrs.get("gap_se_k1", np.nan)]}),
                      table[["k", "gap", "gap_se"]]], ignore_index=True)
    return gap_choice(gaps.dropna())


def _mean_rank(table: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    ranks, used = [], []
    for col, ascending in RANK_CRITERIA.items():
        if col in table and table[col].notna().any():
            ranks.append(table[col].rank(ascending=ascending, method="min", na_option="bottom"))
            used.append(col.replace("_", "-"))
    return pd.concat(ranks, axis=1).mean(axis=1), used


def _candidates(table: pd.DataFrame, nominees: list[int]) -> tuple[list[int], str]:
    """Ks in the order the rule tries them, and how the first was reached."""
    admissible = table[table["admissible"]]
    first = admissible[admissible["k"].isin(nominees)].sort_values(["mean_rank", "k"])
    low = min(nominees)
    below = admissible[admissible["k"] < low].sort_values("k", ascending=False)
    above = admissible[admissible["k"] > low].sort_values("k")
    order = [*first["k"], *below["k"], *above["k"]]
    order = list(dict.fromkeys(int(k) for k in order))
    if len(first):
        how = "nominee"
    elif len(below):
        how = f"the largest admissible K below {low}"
    elif len(above):
        how = f"the smallest admissible K above {low}"
    else:
        order = [int(k) for k in table.sort_values(["min_share", "k"],
                                                   ascending=[False, True])["k"]]
        how = "the K with the largest smallest segment, as no K of the range is admissible"
    return order, how


def alone_would_pick(table: pd.DataFrame, elbow: int, gap: int | None,
                     bic: int | None) -> str:
    """'elbow K=3, gap K=4, BIC K=3, silhouette K=2, ...': each criterion on its own."""
    picks = [f"elbow K={elbow}"] + ([f"gap K={gap}"] if gap is not None else [])
    picks += [f"BIC K={bic}"] if bic is not None else []
    for col, lower in RANK_CRITERIA.items():
        if col != "bic" and col in table and table[col].notna().any():
            best = table[col].idxmin() if lower else table[col].idxmax()
            picks.append(f"{col.replace('_', '-')} K={int(table.loc[best, 'k'])}")
    return "Each criterion alone would pick: " + ", ".join(picks) + "."


def choose_k(table: pd.DataFrame, min_segment_share: float = 0.03, min_gain: float = 0.05,
             stability: Callable[[int], float] | None = None,
             min_stability: float = 0.6, bic_nominates: bool = False) -> KSelection:
    """Apply the rule of this module's docstring to a table from ``evaluate_k_range``; the
    table gains ``admissible``, ``mean_rank``, ``stability_ari`` and ``chosen``."""
    table = table.copy()
    table["admissible"] = table["min_share"] >= min_segment_share
    k_e, k_g = elbow_choice(table, min_gain), _gap_nominee(table)
    k_b, bic_how = bic_choice(table)
    in_range = set(table["k"])
    proposals = (k_e, k_g, k_b if bic_nominates else None)
    nominees = sorted({k for k in proposals if k is not None and k in in_range})
    table["mean_rank"], used = _mean_rank(table)
    order, how = _candidates(table, nominees)
    table["stability_ari"] = np.nan
    k, unstable = order[0], []
    for candidate in order:
        if stability is None:
            k = candidate
            break
        ari = float(stability(candidate))
        table.loc[table["k"] == candidate, "stability_ari"] = ari
        if ari >= min_stability:
            k = candidate
            break
        unstable.append(f"K={candidate} (ARI {ari:.2f})")
    else:
        k = int(table.loc[table["stability_ari"].idxmax(), "k"])
        how = "the most stable K, as no candidate reached the stability bound"
    table["chosen"] = table["k"] == k
    reason = _reason(table, k, (k_e, k_g, k_b, bic_how, bic_nominates), nominees, how, used,
                     min_gain, min_segment_share)
    if unstable:
        reason += (f" Not stable enough (bootstrap ARI below {min_stability}): "
                   f"{', '.join(unstable)}.")
    reason += " " + alone_would_pick(table, k_e, k_g, k_b)
    return KSelection(table=table, k=k, reason=reason, elbow_k=k_e, gap_k=k_g, bic_k=k_b)


def _reason(table: pd.DataFrame, k: int, picks: tuple, nominees: list[int], how: str,
            used: list[str], min_gain: float, min_segment_share: float) -> str:
    k_e, k_g, k_b, bic_how, bic_nominates = picks
    if k_e < int(table["k"].max()):
        gain = table.loc[table["k"] == k_e + 1, "gain"]
        after = float(gain.iloc[0]) if len(gain) and pd.notna(gain.iloc[0]) else 0.0
        parts = [f"the elbow is at K={k_e} (one more segment adds only {after:.1%} of the "
                 f"variance, below {min_gain:.0%})"]
    else:
        parts = [f"each segment up to K={k_e}, the top of the range, still adds at least "
                 f"{min_gain:.0%} of the variance (no elbow inside the range)"]
    parts.append(f"the gap statistic suggests K={k_g}" if k_g is not None
                 else "no gap statistic was computed")
    if k_b is not None:
        parts.append(f"BIC suggests K={k_b} ({bic_how}"
                     + ("" if bic_nominates else "; reported, not a nominee") + ")")
    row = table[table["k"] == k].iloc[0]
    if how == "nominee":
        chosen_by = [name for name, value in (("the elbow", k_e), ("the gap statistic", k_g),
                                              ("BIC", k_b if bic_nominates else None))
                     if value == k]
        choice = (f"K={k} is proposed by {' and '.join(chosen_by)}; every segment holds at "
                  f"least {min_segment_share:.0%} of customers (smallest "
                  f"{row['min_share']:.1%})")
        if len(nominees) > 1:
            choice += (f"; of K={' and K='.join(map(str, nominees))} it has the better mean "
                       f"rank over {', '.join(used)}")
    else:
        choice = (f"at K={' and K='.join(map(str, nominees))} some segment holds less than "
                  f"{min_segment_share:.0%} of customers, so K={k} is {how}")
    text = f"K={k}: {'; '.join(parts)}; {choice} (silhouette {row['silhouette']:.3f})."
    if table["silhouette"].notna().any():
        best = table.loc[table["silhouette"].idxmax()]
        if int(best["k"]) != k:
            text += (f" Silhouette alone would pick K={int(best['k'])} "
                     f"({best['silhouette']:.3f}).")
    return text
