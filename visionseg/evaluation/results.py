"""The outcome of an evaluation: typed figures per (method, chain), per image, failures, gallery."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import visionseg
from visionseg.core.verdict import PartRule
from visionseg.evaluation.entry import EntryResult, Headline, ImageRow
from visionseg.evaluation.settings import EvalSettings


@dataclass
class Failure:
    """A method (or chain) that raised, or returned an unusable prediction, on one image.

    ``stage`` is ``fit`` (the method is left out), ``predict`` (every chain of that method
    on that image counts as an empty prediction), ``postprocess`` (that chain only) or
    ``read`` (the image itself is unusable and skipped for all methods).
    """

    method: str
    chain: str
    image: str
    stage: str
    error: str


@dataclass
class GalleryPanel:
    method: str
    chain: str
    mask: np.ndarray | None  # thumbnail class ids; None when the method failed
    defect_miou: float


@dataclass
class GalleryItem:
    """One gallery image (best / median / worst by the best pair's per-image defect mIoU)."""

    label: str
    image_name: str
    score: float
    image: np.ndarray  # RGB thumbnail
    gt: np.ndarray  # class-id thumbnail
    panels: list[GalleryPanel] = field(default_factory=list)


@dataclass
class Gain:
    """What one post-processing step changes over the chain it extends."""

    method: str
    chain: str
    step: str
    reference: str
    delta_defect_miou: float
    delta_defect_mdice: float
    delta_defect_recall: float
    delta_image_f1: float
    delta_boundary_f1: float
    delta_ms_per_image: float

    @classmethod
    def between(cls, now: Headline, base: Headline, step: str) -> Gain:
        return cls(now.method, now.chain, step, base.chain,
                   now.defect_miou - base.defect_miou, now.defect_mdice - base.defect_mdice,
                   now.defect_recall - base.defect_recall, now.image_f1 - base.image_f1,
                   now.boundary_f1 - base.boundary_f1, now.ms_per_image - base.ms_per_image)


@dataclass
class DatasetSummary:
    """What was evaluated: image counts, sizes, pixel support, ground-truth defects."""

    images: int
    evaluated: int
    image_sizes: list[str]
    pixel_support: dict[str, int]
    gt_defects: int
    ng_images: int


@dataclass
class EvalResults:
    """Figures of every (method, chain) pair, in evaluation order, plus what the report needs."""

    classes: list[str]
    settings: EvalSettings
    entries: list[EntryResult]
    per_image: list[ImageRow]
    failures: list[Failure]
    gallery: list[GalleryItem]
    dataset: DatasetSummary
    methods: list[str]
    chains: list[str]
    context: dict[str, Any] = field(default_factory=dict)  # e.g. split, data root, config
    rule: PartRule = field(default_factory=PartRule)  # the OK/NG rule behind the part figures

    def entry(self, method: str, chain: str) -> EntryResult:
        for entry in self.entries:
            if entry.method == method and entry.chain == chain:
                return entry
        raise KeyError(f"no results for method {method!r} with chain {chain!r}")

    def ranking(self) -> list[Headline]:
        """Headline figures of every pair, best defect mIoU first (NaN last)."""
        return sorted((Headline.of(e) for e in self.entries), key=lambda h: h.sort_key)

    def best(self) -> Headline | None:
        ranked = self.ranking()
        return ranked[0] if ranked and not math.isnan(ranked[0].defect_miou) else None

    def gains(self) -> list[Gain]:
        """What each post-processing step adds over the chain it extends.

        A chain ``a+b`` is compared with ``a`` when ``a`` was evaluated, a chain ``a`` with
        ``none`` (the raw method output); pairs without a reference are left out.
        """
        rows = []
        for entry in self.entries:
            if entry.chain == "none":
                continue
            reference, step = _reference_chain(entry.chain, set(self.chains))
            if reference is None:
                continue
            try:
                base = self.entry(entry.method, reference)
            except KeyError:
                continue
            rows.append(Gain.between(Headline.of(entry), Headline.of(base), step))
        return rows

    def metrics_frame(self) -> pd.DataFrame:
        """One row per method x chain x class (background included): metrics.csv."""
        rows = []
        for e in self.entries:
            inst = e.instances
            for name, fig in e.pixel.per_class.items():
                defect = e.defect_level.per_class.get(name)
                boundary = e.boundary.per_class.get(name)
                thin = e.thin.per_class.get(name)
                ap = None if inst is None or inst.mask_ap is None else inst.mask_ap.per_class.get(
                    name)
                rows.append({
                    "method": e.method, "chain": e.chain, "class": name, **vars(fig),
                    "per_image_iou": e.per_image.per_class[name].iou,
                    "defect_recall": defect.recall if defect else math.nan,
                    "defect_precision": defect.precision if defect else math.nan,
                    "gt_defects": defect.gt_regions if defect else 0,
                    "boundary_f1": boundary.f1 if boundary else math.nan,
                    "boundary_f1_pooled": boundary.pooled_f1 if boundary else math.nan,
                    "skeleton_precision": thin.fixed.precision if thin else math.nan,
                    "skeleton_recall": thin.fixed.recall if thin else math.nan,
                    "skeleton_f1": thin.fixed.f1 if thin else math.nan,
                    "skeleton_f1_diagonal": thin.relative.f1 if thin else math.nan,
                    "instance_f1": (inst.matching.per_class[name].f1
                                    if inst and name in inst.matching.per_class else math.nan),
                    "AP": ap.ap.value if ap else math.nan,
                    "AP_low": ap.ap.low if ap else math.nan,
                    "AP_high": ap.ap.high if ap else math.nan,
                })
        return pd.DataFrame(rows)

    def per_image_frame(self) -> pd.DataFrame:
        """One row per method x chain x image: per_image.csv."""
        return pd.DataFrame([row.to_record() for row in self.per_image])

    def to_json(self) -> dict[str, Any]:
        """The content of metrics.json (NaN written as null)."""
        methods: dict[str, dict[str, Any]] = {}
        for entry in self.entries:
            methods.setdefault(entry.method, {})[entry.chain] = entry.to_json()
        return _finite(
            {
                "visionseg_version": visionseg.__version__,
                "classes": self.classes,
                "context": self.context,
                "settings": self.settings.to_dict(),
                "decision": self.rule.to_dict(),
                "dataset": asdict(self.dataset),
                "ranking": [h.to_json() for h in self.ranking()],
                "methods": methods,
                "postprocess_gain": [asdict(g) for g in self.gains()],
                "failures": [asdict(f) for f in self.failures],
            }
        )


def _reference_chain(chain: str, evaluated: set[str]) -> tuple[str | None, str]:
    parts = chain.split("+")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = "+".join(parts[:cut])
        if prefix in evaluated:
            return prefix, "+".join(parts[cut:])
    return ("none", chain) if "none" in evaluated else (None, chain)


def _finite(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
