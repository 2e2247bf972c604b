"""Evaluation settings: the rules behind the figures, set in ``configs/rules/``.

The OK/NG rule is not here: it is :class:`visionseg.core.verdict.PartRule` (``configs/decision/``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from visionseg.core.errors import ConfigError, settings_from
from visionseg.metrics.skeleton import thin_class_ids


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
    ``thin_classes``: classes scored also by tolerant skeleton precision/recall/F1
    (:mod:`visionseg.metrics.skeleton`); None = the defect classes named like a crack or
    scratch, ``[]`` = none. ``thin_tolerance``: its fixed tolerance in pixels;
    ``thin_tolerance_diagonal``: its second tolerance as a fraction of the image diagonal.
    ``ignore_index``: ground-truth value of pixels left out of every figure.

    Every value is range-checked here, where settings are built: a bad one is one
    :class:`ConfigError` naming ``rules.<field>``.
    """

    defect_iou: float = 0.5
    size_thresholds: tuple[int, int] = (50, 500)
    boundary_tolerance: float = 2.0
    instance_iou: float = 0.5
    instance_score_threshold: float = 0.5
    gt_instance_min_area: int = 0
    gallery_size: int = 256
    ignore_index: int = 255
    thin_classes: tuple[str, ...] | None = None
    thin_tolerance: float = 2.0
    thin_tolerance_diagonal: float = 0.0075

    def __post_init__(self) -> None:
        try:
            sizes = list(self.size_thresholds)
        except TypeError:
            sizes = []
        if len(sizes) != 2 or not all(_is_int(v) and v >= 1 for v in sizes) or sizes[0] > sizes[1]:
            raise ConfigError(
                f"rules.size_thresholds must be two increasing areas >= 1 px, got "
                f"{self.size_thresholds!r}"
            )
        self.size_thresholds = (int(sizes[0]), int(sizes[1]))
        _check_number("defect_iou", self.defect_iou, 0.0, 1.0, low_open=True)
        _check_number("instance_iou", self.instance_iou, 0.0, 1.0, low_open=True)
        _check_number("instance_score_threshold", self.instance_score_threshold, 0.0, 1.0)
        _check_number("boundary_tolerance", self.boundary_tolerance, 0.0, 100.0)
        _check_number("thin_tolerance", self.thin_tolerance, 0.0, 100.0)
        _check_number("thin_tolerance_diagonal", self.thin_tolerance_diagonal, 0.0, 0.1)
        self.thin_classes = _names("thin_classes", self.thin_classes)
        _check_int("gt_instance_min_area", self.gt_instance_min_area, 0, None)
        _check_int("gallery_size", self.gallery_size, 16, 4096)
        _check_int("ignore_index", self.ignore_index, 0, 255)
        self.gt_instance_min_area = int(self.gt_instance_min_area)
        self.gallery_size = int(self.gallery_size)
        self.ignore_index = int(self.ignore_index)

    @classmethod
    def from_any(cls, value: EvalSettings | Mapping[str, Any] | None) -> EvalSettings:
        """Accept settings, a mapping of some of their fields (e.g. a config node), or None."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        return settings_from(cls, value, "evaluation")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["size_thresholds"] = list(self.size_thresholds)
        if self.thin_classes is not None:
            out["thin_classes"] = list(self.thin_classes)
        return out


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and float(value) == int(
        value
    )


def thin_classes_of(classes: Sequence[str], settings: EvalSettings) -> list[int]:
    """Indices of ``rules.thin_classes`` in ``classes`` (one ConfigError for a name that is
    no defect class)."""
    try:
        return thin_class_ids(classes, settings.thin_classes)
    except ValueError as err:
        raise ConfigError(f"rules.thin_classes: {err}") from err


def _names(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"rules.{name} must be a list of class names or null, got {value!r}")
    return tuple(value)


def _check_number(name: str, value: Any, low: float, high: float, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (low < value if low_open else low <= value) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ConfigError(f"rules.{name} must be a number in {bracket}{low:g}, {high:g}], "
                          f"got {value!r}")


def _check_int(name: str, value: Any, low: int, high: int | None) -> None:
    if not _is_int(value) or value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in {low}..{high}"
        raise ConfigError(f"rules.{name} must be an integer {span}, got {value!r}")
