"""Typed figures of one evaluated (method, chain) pair, of one image row, and headlines.

The report reads these through attributes; ``to_json`` gives metrics.json's content (key
names spell out what a figure covers: ``defect_mIoU`` averages the defect classes,
``mIoU_all`` includes background).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from visionseg.metrics.boundary import BoundaryFigures
from visionseg.metrics.confusion import PixelFigures
from visionseg.metrics.defect_level import DefectLevelFigures
from visionseg.metrics.image_level import ImageLevelFigures
from visionseg.metrics.instances import InstanceMatching
from visionseg.metrics.per_image import PerImageFigures
from visionseg.metrics.ranked_ap import MaskAP, TiedFigure
from visionseg.metrics.skeleton import ThinFigures

NAN = float("nan")
NO_SCORES = "no scores: mask AP not computed"


@dataclass
class SpeedFigures:
    """Mean ms/image of predict + chain, after one warm-up image."""

    ms_per_image: float
    predict_ms: float
    chain_ms: float
    images_timed: int


@dataclass
class InstanceFigures:
    """Instance F1 (matching) and mask AP (None when the instances carry no scores)."""

    matching: InstanceMatching
    mask_ap: MaskAP | None

    @property
    def note(self) -> str:
        return NO_SCORES if self.mask_ap is None else self.mask_ap.note

    def to_json(self) -> dict[str, Any]:
        out = asdict(self.matching)
        ap = self.mask_ap
        out.update(_ap_json(None if ap is None else (ap.ap, ap.ap50, ap.ap75)))
        for name, figures in out["per_class"].items():
            cls = None if ap is None else ap.per_class[name]
            figures.update(_ap_json(None if cls is None else (cls.ap, cls.ap50, cls.ap75)))
        out["ap_tie_orders"] = 0 if ap is None else ap.orders
        out["note"] = self.note
        return out


def _ap_json(figures: tuple[TiedFigure, ...] | None) -> dict[str, Any]:
    """``AP`` (null when tie order changes it) and ``AP_range`` ([low, high]), and 50/75."""
    out: dict[str, Any] = {}
    for key, fig in zip(("AP", "AP50", "AP75"), figures or (None, None, None), strict=True):
        out[key] = NAN if fig is None else fig.value
        out[f"{key}_range"] = None if fig is None else [fig.low, fig.high]
    return out


@dataclass
class EntryResult:
    """Every figure of one (method, chain) pair over the split."""

    method: str
    chain: str
    pixel: PixelFigures
    per_image: PerImageFigures
    image_level: ImageLevelFigures
    defect_level: DefectLevelFigures
    boundary: BoundaryFigures
    thin: ThinFigures  # tolerant skeleton P/R/F1 of the thin classes (may hold none)
    instances: InstanceFigures | None  # None: the method returns no instances
    speed: SpeedFigures
    images: int
    failures: int

    @property
    def label(self) -> str:
        return f"{self.method} / {self.chain}"

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chain": self.chain,
            **self.pixel.to_json(),
            "per_image": self.per_image.to_json(),
            "image_level": asdict(self.image_level),
            "defect_level": asdict(self.defect_level),
            "boundary": asdict(self.boundary),
            "thin": asdict(self.thin),
            "instances": None if self.instances is None else self.instances.to_json(),
            "speed": asdict(self.speed),
            "images": self.images,
            "failures": self.failures,
        }


@dataclass
class Headline:
    """The ranking figures of one pair."""

    method: str
    chain: str
    defect_miou: float
    miou_all: float
    defect_mdice: float
    per_image_defect_miou: float
    defect_recall: float
    defect_precision: float
    image_f1: float
    boundary_f1: float  # BF score, per-image mean (Csurka et al.)
    boundary_f1_pooled: float
    instance_f1: float
    mask_ap: TiedFigure | None  # None without scored instances
    ms_per_image: float
    failures: int

    @classmethod
    def of(cls, e: EntryResult) -> Headline:
        inst = e.instances
        return cls(
            method=e.method,
            chain=e.chain,
            defect_miou=e.pixel.defect_miou,
            miou_all=e.pixel.miou_all,
            defect_mdice=e.pixel.defect_mdice,
            per_image_defect_miou=e.per_image.defect_miou,
            defect_recall=e.defect_level.recall,
            defect_precision=e.defect_level.precision,
            image_f1=e.image_level.f1,
            boundary_f1=e.boundary.f1,
            boundary_f1_pooled=e.boundary.pooled_f1,
            instance_f1=NAN if inst is None else inst.matching.f1,
            mask_ap=None if inst is None or inst.mask_ap is None else inst.mask_ap.ap,
            ms_per_image=e.speed.ms_per_image,
            failures=e.failures,
        )

    @property
    def sort_key(self) -> float:
        """Best defect mIoU first, NaN last."""
        return math.inf if math.isnan(self.defect_miou) else -self.defect_miou

    def to_json(self) -> dict[str, Any]:
        ap = self.mask_ap
        return {
            "method": self.method,
            "chain": self.chain,
            "defect_mIoU": self.defect_miou,
            "mIoU_all": self.miou_all,
            "defect_mDice": self.defect_mdice,
            "per_image_defect_mIoU": self.per_image_defect_miou,
            "defect_recall": self.defect_recall,
            "defect_precision": self.defect_precision,
            "image_f1": self.image_f1,
            "boundary_f1": self.boundary_f1,
            "boundary_f1_pooled": self.boundary_f1_pooled,
            "instance_f1": self.instance_f1,
            "AP": NAN if ap is None else ap.value,
            "AP_range": None if ap is None else [ap.low, ap.high],
            "ms_per_image": self.ms_per_image,
            "failures": self.failures,
        }


@dataclass
class ImageRow:
    """One image's figures for one pair (a row of per_image.csv)."""

    image: str
    method: str
    chain: str
    failed: bool
    defect_miou: float  # NaN when no defect class appears on either side
    defect_mdice: float
    miou_all: float
    iou: dict[str, float]  # per defect class, NaN when absent on both sides
    boundary_f1: float
    gt_ng: bool
    pred_ng: bool
    gt_defects: int
    pred_defects: int
    matched_defects: int
    instance_tp: int
    instance_fp: int
    instance_fn: int
    predict_ms: float
    chain_ms: float

    def to_record(self) -> dict[str, Any]:
        """The CSV row: per-class IoU as ``iou_<class>`` columns."""
        record: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "iou":
                record.update({f"iou_{name}": v for name, v in value.items()})
            else:
                record[_CSV_NAMES.get(key, key)] = value
        return record


_CSV_NAMES = {"defect_miou": "defect_mIoU", "defect_mdice": "defect_mDice", "miou_all": "mIoU_all"}
