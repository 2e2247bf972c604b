"""Evaluation settings: how the figures are computed, set in ``configs/metrics/``.

The OK/NG rule is not here: it is :class:`visionseg.core.verdict.PartRule` (``configs/decision/``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from visionseg.core.checks import check_fraction, check_int, check_number
from visionseg.core.errors import ConfigError, settings_from
from visionseg.metrics.skeleton import thin_class_ids

#: The config node of these settings, as error messages name it.
NODE = "metrics"


@dataclass
class EvalSettings:
    """Settings shared by every method and chain so their figures stay comparable.

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
    :class:`ConfigError` naming ``metrics.<field>``.
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
                f"{NODE}.size_thresholds must be two increasing areas >= 1 px, got "
                f"{self.size_thresholds!r}"
            )
        self.size_thresholds = (int(sizes[0]), int(sizes[1]))
        check_fraction(f"{NODE}.defect_iou", self.defect_iou, low_open=True)
        check_fraction(f"{NODE}.instance_iou", self.instance_iou, low_open=True)
        check_fraction(f"{NODE}.instance_score_threshold", self.instance_score_threshold)
        check_number(f"{NODE}.boundary_tolerance", self.boundary_tolerance, maximum=100.0)
        check_number(f"{NODE}.thin_tolerance", self.thin_tolerance, maximum=100.0)
        check_number(f"{NODE}.thin_tolerance_diagonal", self.thin_tolerance_diagonal,
                     maximum=0.1)
        self.thin_classes = _names("thin_classes", self.thin_classes)
        check_int(f"{NODE}.gt_instance_min_area", self.gt_instance_min_area, 0)
        check_int(f"{NODE}.gallery_size", self.gallery_size, 16, maximum=4096)
        check_int(f"{NODE}.ignore_index", self.ignore_index, 0, maximum=255)
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
    """Indices of ``metrics.thin_classes`` in ``classes`` (one ConfigError for a name that is
    no defect class)."""
    try:
        return thin_class_ids(classes, settings.thin_classes)
    except ValueError as err:
        raise ConfigError(f"{NODE}.thin_classes: {err}") from err


def _names(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{NODE}.{name} must be a list of class names or null, got {value!r}")
    return tuple(value)
