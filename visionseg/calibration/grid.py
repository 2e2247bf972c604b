"""The rules a calibration sweeps, and the target it chooses one for."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from visionseg.core.errors import UserError, reject_unknown
from visionseg.core.verdict import DEFAULT_MIN_AREA, ClassRule, PartRule


class CalibrationError(UserError):
    """A calibration that cannot be done as asked; the message says why (and the best
    reachable point when a target cannot be met)."""


@dataclass(frozen=True)
class SweepGrid:
    """Every combination of one minimum area, one minimum confidence and one pixel
    threshold (``None`` = argmax), each shared by all defect classes.

    Shared values keep the sweep to a few hundred rules and the chosen rule easy to read;
    per-class values can still be set by hand in ``decision.per_class``.
    """

    min_areas: tuple[int, ...] = (1, 2, 3, 5, 8, 10, 15, 25, 40, 60, 100, 160, 250, 400)
    min_confidences: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
    pixel_thresholds: tuple[float | None, ...] = (None, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9)

    def __post_init__(self) -> None:
        for name in ("min_areas", "min_confidences", "pixel_thresholds"):
            values = tuple(getattr(self, name))
            if not values or len(set(values)) != len(values):
                raise CalibrationError(f"calibrate.grid.{name}: give distinct values, got "
                                       f"{list(values)}")
            object.__setattr__(self, name, values)
        for area in self.min_areas:  # range checks of the rule itself
            ClassRule(min_area=area)
        for conf in self.min_confidences:
            ClassRule(min_confidence=conf)
        for t in self.pixel_thresholds:
            ClassRule(pixel_threshold=t)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(thresholds, areas, confidences)``: the axes of every count array."""
        return len(self.pixel_thresholds), len(self.min_areas), len(self.min_confidences)

    def rule(self, t: int, a: int, c: int, classes: Sequence[str]) -> PartRule:
        """The rule at grid index ``(t, a, c)`` for a model with ``classes``."""
        area, conf = int(self.min_areas[a]), float(self.min_confidences[c])
        threshold = self.pixel_thresholds[t]
        per_class = {} if threshold is None else {
            name: ClassRule(area, conf, float(threshold)) for name in classes[1:]
        }
        return PartRule(area, conf, per_class)

    def simplicity(self, t: int, a: int, c: int) -> tuple[bool, float, float]:
        """Tie-break key: no pixel threshold first, then the lowest confidence, then the
        area nearest the documented default (log scale)."""
        area = self.min_areas[a]
        return (self.pixel_thresholds[t] is not None, self.min_confidences[c],
                abs(math.log(area / DEFAULT_MIN_AREA)))

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> SweepGrid:
        value = dict(value or {})
        keys = {"min_area": "min_areas", "min_confidence": "min_confidences",
                "pixel_threshold": "pixel_thresholds"}
        reject_unknown(value, keys, "calibrate.grid", CalibrationError)
        try:
            return cls(**{keys[k]: tuple(v) for k, v in value.items() if v is not None})
        except TypeError as err:
            raise CalibrationError(f"calibrate.grid: give lists of values ({err})") from err


@dataclass(frozen=True)
class Target:
    """What the line can afford: ``kind`` ``false_reject`` (rate of good parts rejected)
    or ``escape`` (rate of defective parts passed), at most ``rate``."""

    kind: str
    rate: float

    def __post_init__(self) -> None:
        if self.kind not in ("false_reject", "escape"):
            raise CalibrationError(f"calibration target must be false_reject or escape, "
                                   f"got {self.kind!r}")
        if not 0.0 <= float(self.rate) < 1.0:
            raise CalibrationError(f"calibrate.max_{self.kind} must be in [0, 1), "
                                   f"got {self.rate}")

    @property
    def setting(self) -> str:
        return f"calibrate.max_{self.kind}={self.rate:g}"

    def describe(self) -> str:
        if self.kind == "false_reject":
            return f"false-reject rate <= {self.rate:.1%} with the fewest escapes"
        return f"escape rate <= {self.rate:.1%} with the fewest false rejects"

    @classmethod
    def from_settings(cls, max_false_reject: float | None, max_escape: float | None
                      ) -> Target | None:
        """The target from the two settings (at most one may be set); None when neither."""
        if max_false_reject is not None and max_escape is not None:
            raise CalibrationError("set one of calibrate.max_false_reject and "
                                   "calibrate.max_escape, not both")
        if max_false_reject is not None:
            return cls("false_reject", float(max_false_reject))
        if max_escape is not None:
            return cls("escape", float(max_escape))
        return None
