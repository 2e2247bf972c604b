"""Pick the operating point of a sweep for a target, or refuse with the best reachable one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from visionseg.calibration.grid import CalibrationError, SweepGrid, Target
from visionseg.calibration.sweep import SplitSweep
from visionseg.core.verdict import PartRule


@dataclass(frozen=True)
class OperatingPoint:
    """One swept rule and its part counts on the calibration split."""

    index: tuple[int, int, int]
    rule: PartRule
    false_rejects: int
    escapes: int
    good: int
    defective: int

    @property
    def false_reject_rate(self) -> float:
        return self.false_rejects / self.good if self.good else math.nan

    @property
    def escape_rate(self) -> float:
        return self.escapes / self.defective if self.defective else math.nan

    def describe(self) -> str:
        return (f"false-reject rate {self.false_reject_rate:.1%} ({self.false_rejects}/"
                f"{self.good} good parts), escape rate {self.escape_rate:.1%} "
                f"({self.escapes}/{self.defective} defective parts) with {rule_text(self.rule)}")


def rule_text(rule: PartRule) -> str:
    """A rule in one short phrase (the swept rules share their per-class values)."""
    threshold = {v.pixel_threshold for v in rule.per_class.values()}
    text = f"min_area={rule.min_area}, min_confidence={rule.min_confidence:g}"
    if threshold and None not in threshold:
        text += f", pixel_threshold={sorted(threshold)[0]:g}"
    return text


def usable(sweep: SplitSweep, grid: SweepGrid) -> np.ndarray:
    """Grid points that mean something for this method: pixel thresholds only with
    probabilities, minimum confidences only with confidences (else the lowest)."""
    mask = np.ones(grid.shape, bool)
    if not sweep.has_probs:
        mask[[t is not None for t in grid.pixel_thresholds]] = False
    if not sweep.has_confidence:
        lowest = int(np.argmin(grid.min_confidences))
        mask[:, :, [c != lowest for c in range(len(grid.min_confidences))]] = False
    if not mask.any():
        raise CalibrationError(
            f"{sweep.method} gives no class probabilities, and calibrate.grid.pixel_threshold "
            "has no null (argmax) entry to sweep it with"
        )
    return mask


def choose(sweep: SplitSweep, grid: SweepGrid, target: Target,
           classes: Sequence[str]) -> OperatingPoint:
    """The usable rule meeting ``target`` with the fewest of the other error kind (then the
    fewest of the constrained kind, then the simplest rule); CalibrationError when the split
    lacks good or defective parts, or when no swept rule meets the target."""
    where = f"{sweep.method} on split '{sweep.split}'"
    if sweep.good == 0 or sweep.defective == 0:
        missing = "good" if sweep.good == 0 else "defective"
        raise CalibrationError(
            f"cannot calibrate {where}: it has no {missing} parts ({sweep.good} good, "
            f"{sweep.defective} defective by the ground truth); a target of "
            f"{target.describe()} needs both kinds"
        )
    fr, esc = sweep.false_rejects(), sweep.escapes()
    bound, other = (fr, esc) if target.kind == "false_reject" else (esc, fr)
    total = sweep.good if target.kind == "false_reject" else sweep.defective
    allowed = math.floor(target.rate * total + 1e-9)
    ok = usable(sweep, grid)
    meets = ok & (bound <= allowed)
    candidates = np.argwhere(meets if meets.any() else ok)
    keys = [(other[tuple(i)], bound[tuple(i)], *grid.simplicity(*i)) if meets.any()
            else (bound[tuple(i)], other[tuple(i)], *grid.simplicity(*i)) for i in candidates]
    best = tuple(int(v) for v in candidates[min(range(len(keys)), key=keys.__getitem__)])
    point = OperatingPoint(best, grid.rule(*best, classes), int(fr[best]), int(esc[best]),
                           sweep.good, sweep.defective)
    if not meets.any():
        raise CalibrationError(
            f"no swept rule of {where} meets {target.setting} ({target.describe()}); the "
            f"best reachable point is {point.describe()}"
        )
    return point


def curve(sweep: SplitSweep, grid: SweepGrid) -> list[tuple[float, float]]:
    """``(false-reject rate, escape rate)`` of every usable swept rule, distinct, sorted."""
    ok = usable(sweep, grid)
    fr = sweep.false_rejects()[ok] / max(sweep.good, 1)
    esc = sweep.escapes()[ok] / max(sweep.defective, 1)
    return sorted({(float(a), float(b)) for a, b in zip(fr, esc, strict=True)})
