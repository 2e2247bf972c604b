"""The outcome of an evaluation: figures per (method, chain), per image, failures, gallery."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import visionseg
from visionseg.core.verdict import PartRule
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
    miou: float


@dataclass
class GalleryItem:
    """One gallery image (best / median / worst by the best pair's per-image mIoU)."""

    label: str
    image_name: str
    score: float
    image: np.ndarray  # RGB thumbnail
    gt: np.ndarray  # class-id thumbnail
    panels: list[GalleryPanel] = field(default_factory=list)


@dataclass
class EvalResults:
    """Figures of every (method, chain) pair, in evaluation order, plus what the report needs."""

    classes: list[str]
    settings: EvalSettings
    entries: list[dict[str, Any]]
    per_image: list[dict[str, Any]]
    failures: list[Failure]
    gallery: list[GalleryItem]
    dataset: dict[str, Any]
    methods: list[str]
    chains: list[str]
    context: dict[str, Any] = field(default_factory=dict)  # e.g. split, data root, config
    rule: PartRule = field(default_factory=PartRule)  # the OK/NG rule behind the part figures

    def entry(self, method: str, chain: str) -> dict[str, Any]:
        for entry in self.entries:
            if entry["method"] == method and entry["chain"] == chain:
                return entry
        raise KeyError(f"no results for method {method!r} with chain {chain!r}")

    def headline(self, entry: dict[str, Any]) -> dict[str, Any]:
        """The ranking figures of one pair."""
        inst = entry["instances"] or {}
        return {
            "method": entry["method"],
            "chain": entry["chain"],
            "mIoU": entry["mIoU"],
            "mDice": entry["mDice"],
            "per_image_mIoU": entry["per_image"]["mIoU"],
            "defect_recall": entry["defect_level"]["recall"],
            "defect_precision": entry["defect_level"]["precision"],
            "image_f1": entry["image_level"]["f1"],
            "boundary_f1": entry["boundary"]["mean_f1"],
            "instance_f1": inst.get("f1", float("nan")),
            "AP": inst.get("AP", float("nan")),
            "ms_per_image": entry["speed"]["ms_per_image"],
            "failures": entry["failures"],
        }

    def ranking(self) -> list[dict[str, Any]]:
        """Headline figures of every pair, best mIoU first (NaN last)."""
        rows = [self.headline(e) for e in self.entries]
        return sorted(rows, key=lambda r: -r["mIoU"] if not math.isnan(r["mIoU"]) else math.inf)

    def best(self) -> dict[str, Any] | None:
        ranked = self.ranking()
        return ranked[0] if ranked and not math.isnan(ranked[0]["mIoU"]) else None

    def gains(self) -> list[dict[str, Any]]:
        """What each post-processing step adds over the chain it extends.

        A chain ``a+b`` is compared with ``a`` when ``a`` was evaluated, a chain ``a`` with
        ``none`` (the raw method output); pairs without a reference are left out.
        """
        rows = []
        keys = ("mIoU", "mDice", "defect_recall", "image_f1", "boundary_f1", "ms_per_image")
        for entry in self.entries:
            if entry["chain"] == "none":
                continue
            reference, step = _reference_chain(entry["chain"], set(self.chains))
            if reference is None:
                continue
            try:
                base = self.headline(self.entry(entry["method"], reference))
            except KeyError:
                continue
            now = self.headline(entry)
            row = {"method": entry["method"], "chain": entry["chain"], "step": step,
                   "reference": reference}
            row.update({f"delta_{k}": now[k] - base[k] for k in keys})
            rows.append(row)
        return rows

    def metrics_frame(self) -> pd.DataFrame:
        """One row per method x chain x class (background included)."""
        rows = []
        for entry in self.entries:
            defect = entry["defect_level"]["per_class"]
            boundary = entry["boundary"]["per_class"]
            per_image = entry["per_image"]["per_class"]
            inst = (entry["instances"] or {}).get("per_class", {})
            for name, fig in entry["per_class"].items():
                rows.append(
                    {
                        "method": entry["method"],
                        "chain": entry["chain"],
                        "class": name,
                        "iou": fig["iou"],
                        "dice": fig["dice"],
                        "precision": fig["precision"],
                        "recall": fig["recall"],
                        "support": fig["support"],
                        "per_image_iou": per_image[name]["iou"],
                        "defect_recall": defect.get(name, {}).get("recall", float("nan")),
                        "defect_precision": defect.get(name, {}).get("precision", float("nan")),
                        "gt_defects": defect.get(name, {}).get("gt_regions", 0),
                        "boundary_f1": boundary.get(name, {}).get("f1", float("nan")),
                        "instance_f1": inst.get(name, {}).get("f1", float("nan")),
                        "AP": inst.get(name, {}).get("AP", float("nan")),
                    }
                )
        return pd.DataFrame(rows)

    def per_image_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.per_image)

    def to_json(self) -> dict[str, Any]:
        """The content of metrics.json (NaN written as null)."""
        methods: dict[str, dict[str, Any]] = {}
        for entry in self.entries:
            methods.setdefault(entry["method"], {})[entry["chain"]] = entry
        return _finite(
            {
                "visionseg_version": visionseg.__version__,
                "classes": self.classes,
                "context": self.context,
                "settings": self.settings.to_dict(),
                "decision": self.rule.to_dict(),
                "dataset": self.dataset,
                "ranking": self.ranking(),
                "methods": methods,
                "postprocess_gain": self.gains(),
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
