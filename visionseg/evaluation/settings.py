"""Evaluation settings: the rules behind the figures, set in ``configs/rules/``.

The OK/NG rule is not here: it is :class:`visionseg.core.verdict.PartRule` (``configs/decision/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from visionseg.evaluation.errors import EvaluationError


@dataclass
class EvalSettings:
    """Rules shared by every method and chain so their figures stay comparable.

    ``defect_iou``: IoU at which a predicted region matches a ground-truth region.
    ``size_thresholds``: region areas (pixels) splitting small | medium | large defects.
    ``boundary_tolerance``: pixels within which a boundary pixel counts as found.
    ``instance_iou``: IoU at which instances match for instance F1.
    ``instance_score_threshold``: instances scoring below it are left out of instance F1
    (mask AP always uses every scored instance).
    ``gt_instance_min_area``: connected regions smaller than this are no ground-truth instance.
    ``gallery_size``: longest side, in pixels, of the gallery thumbnails.
    ``ignore_index``: ground-truth value of pixels left out of every figure.
    """

    defect_iou: float = 0.5
    size_thresholds: tuple[int, int] = (50, 500)
    boundary_tolerance: float = 2.0
    instance_iou: float = 0.5
    instance_score_threshold: float = 0.5
    gt_instance_min_area: int = 0
    gallery_size: int = 256
    ignore_index: int = 255

    def __post_init__(self) -> None:
        self.size_thresholds = tuple(int(v) for v in self.size_thresholds)  # type: ignore[assignment]
        if len(self.size_thresholds) != 2 or self.size_thresholds[0] > self.size_thresholds[1]:
            raise EvaluationError(
                f"size_thresholds must be two increasing areas, got {list(self.size_thresholds)}"
            )
        if self.boundary_tolerance < 0:
            raise EvaluationError("boundary_tolerance must be >= 0")

    @classmethod
    def from_any(cls, value: EvalSettings | Mapping[str, Any] | None) -> EvalSettings:
        """Accept settings, a mapping of some of their fields (e.g. a config node), or None."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise EvaluationError(
                f"unknown evaluation setting(s) {unknown}; known: {sorted(known)}"
            )
        return cls(**{k: (list(v) if k == "size_thresholds" else v) for k, v in value.items()})

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["size_thresholds"] = list(self.size_thresholds)
        return out
