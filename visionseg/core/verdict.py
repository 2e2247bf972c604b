"""The part-level OK/NG rule: the one decision a line engineer acts on.

One object decides in the report (evaluation), in ``infer.py``, in an exported model's
metadata and in the service. A part is NG when one 8-connected region of one defect class
has at least ``min_area`` pixels and a mean confidence (mean probability of its class over
the region) of at least ``min_confidence``; both may be set per class. Ground truth is
judged by the same rule on areas alone. Optionally a per-class pixel probability threshold
replaces argmax for that class: a pixel is class ``c`` when ``P(c) >= threshold[c]``
(lower = fewer escapes, more false calls). Thresholds need class probabilities; methods
without them (hard-label baselines) keep their own mask.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from visionseg.core.errors import ConfigError, reject_unknown
from visionseg.core.prediction import Prediction
from visionseg.core.regions import Region, extract_regions

#: Default minimum defect area (pixels) of the part rule, everywhere.
DEFAULT_MIN_AREA = 10


@dataclass(frozen=True)
class ClassRule:
    """What makes one defect class's region count as a defect."""

    min_area: int = DEFAULT_MIN_AREA
    min_confidence: float = 0.0
    pixel_threshold: float | None = None

    def __post_init__(self) -> None:
        if int(self.min_area) != self.min_area or self.min_area < 1:
            raise ConfigError(f"decision min_area must be an integer >= 1, got {self.min_area}")
        if not 0.0 <= float(self.min_confidence) <= 1.0:
            raise ConfigError(
                f"decision min_confidence must be in [0, 1], got {self.min_confidence}"
            )
        t = self.pixel_threshold
        if t is not None and not 0.0 < float(t) <= 1.0:
            raise ConfigError(f"decision pixel_threshold must be in (0, 1], got {t}")


@dataclass
class Verdict:
    """The rule's answer for one part: NG or OK, and the regions that made it NG."""

    ng: bool
    defects: list[Region] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "NG" if self.ng else "OK"


@dataclass(frozen=True)
class PartRule:
    """Default :class:`ClassRule` settings plus per-class overrides (by class name)."""

    min_area: int = DEFAULT_MIN_AREA
    min_confidence: float = 0.0
    per_class: Mapping[str, ClassRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ClassRule(self.min_area, self.min_confidence)  # range checks
        rules = {str(k): v if isinstance(v, ClassRule) else ClassRule(**_merge(self, v))
                 for k, v in dict(self.per_class).items()}
        object.__setattr__(self, "per_class", rules)

    def for_class(self, name: str) -> ClassRule:
        return self.per_class.get(name, ClassRule(self.min_area, self.min_confidence))

    def check_classes(self, classes: Sequence[str]) -> None:
        """A clear error when the rule names a class the model does not have."""
        unknown = sorted(set(self.per_class) - set(classes[1:]))
        if unknown:
            raise ConfigError(
                f"decision.per_class names unknown class(es) {unknown}; "
                f"defect classes: {list(classes[1:])}"
            )

    def thresholds(self, classes: Sequence[str]) -> dict[int, float]:
        """``{class id: pixel threshold}`` for the classes that have one."""
        out = {}
        for c, name in enumerate(classes):
            t = self.for_class(name).pixel_threshold if c else None
            if t is not None:
                out[c] = float(t)
        return out

    def apply(self, pred: Prediction, classes: Sequence[str]) -> Prediction:
        """The prediction with pixel thresholds applied (unchanged without thresholds or
        probabilities)."""
        thresholds = self.thresholds(classes)
        if not thresholds or pred.probs is None:
            return pred
        return Prediction.from_probs_thresholded(pred.probs, thresholds, pred)

    def judge(self, pred: Prediction, classes: Sequence[str]) -> Verdict:
        """NG or OK for a prediction whose pixel thresholds were already applied."""
        return self._judge(pred.mask, classes, pred.confidence)

    def judge_mask(self, mask: np.ndarray, classes: Sequence[str]) -> Verdict:
        """NG or OK for a class-id mask without confidences (ground truth): areas only."""
        return self._judge(mask, classes, None)

    def _judge(
        self, mask: np.ndarray, classes: Sequence[str], confidence: np.ndarray | None
    ) -> Verdict:
        smallest = min([self.min_area] + [r.min_area for r in self.per_class.values()])
        defects = []
        for region in extract_regions(mask, len(classes), confidence, min_area=smallest):
            rule = self.for_class(classes[region.class_id])
            conf = region.mean_confidence
            if region.area >= rule.min_area and (
                math.isnan(conf) or conf >= rule.min_confidence
            ):
                defects.append(region)
        return Verdict(bool(defects), defects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_area": int(self.min_area),
            "min_confidence": float(self.min_confidence),
            "per_class": {k: asdict(v) for k, v in self.per_class.items()},
        }

    @classmethod
    def from_dict(cls, value: PartRule | Mapping[str, Any] | None) -> PartRule:
        """From a mapping (a config node, a checkpoint's or an export's metadata) or None."""
        if value is None:
            return cls()
        if isinstance(value, PartRule):
            return value
        reject_unknown(value, ("min_area", "min_confidence", "per_class"), "decision")
        per_class = {str(k): dict(v or {}) for k, v in dict(value.get("per_class") or {}).items()}
        rule = cls(int(value.get("min_area", DEFAULT_MIN_AREA)),
                   float(value.get("min_confidence", 0.0)))
        return replace(rule, per_class={k: ClassRule(**_merge(rule, v))
                                        for k, v in per_class.items()})


def _merge(rule: PartRule, overrides: Mapping[str, Any] | ClassRule) -> dict[str, Any]:
    if isinstance(overrides, ClassRule):
        return asdict(overrides)
    reject_unknown(overrides, ("min_area", "min_confidence", "pixel_threshold"),
                   "per-class decision")
    return {"min_area": rule.min_area, "min_confidence": rule.min_confidence, **overrides}
