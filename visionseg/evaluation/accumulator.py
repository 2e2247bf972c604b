"""Everything measured for one (method, post-processing chain) pair, accumulated image by image.

Ground-truth work (regions, boundaries, instances) is done once per image in
:class:`ImageTarget` and shared by every pair. Pixels the ground truth marks with the
ignore value are removed from the prediction (set to background) before any figure, so no
method is rewarded or punished for them. A failed prediction counts as an all-background
one: every method is scored on the same images and pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from visionseg.core.prediction import Instances, Prediction
from visionseg.core.verdict import PartRule
from visionseg.evaluation.settings import EvalSettings
from visionseg.metrics.boundary import BoundaryF1, BoundaryTarget, tolerance_kernel
from visionseg.metrics.confusion import ConfusionMatrix, confusion_counts, summarize_confusion
from visionseg.metrics.defect_level import ClassRegions, DefectCounts, class_regions
from visionseg.metrics.image_level import ImageLevelCounts
from visionseg.metrics.instances import CocoSet, InstanceCounts, coco_mask_ap, mask_out
from visionseg.metrics.per_image import PerImageMeans, image_scores


class ImageTarget:
    """One image's ground truth, prepared once for all methods and chains."""

    def __init__(
        self,
        name: str,
        mask: np.ndarray,
        num_classes: int,
        settings: EvalSettings,
        instances: Instances,
        rule: PartRule,
        classes: Sequence[str],
    ) -> None:
        self.name = name
        self.mask = mask
        self.shape = mask.shape
        ignore = mask == settings.ignore_index
        self.valid = None if not ignore.any() else ~ignore
        self.regions: ClassRegions = class_regions(mask, num_classes)
        self.ng = rule.judge_mask(mask, classes).ng
        self.boundary = BoundaryTarget(
            mask, num_classes, tolerance_kernel(settings.boundary_tolerance), self.valid
        )
        self.instances = instances

    def clean(self, mask: np.ndarray) -> np.ndarray:
        """The prediction with ignored pixels set to background."""
        return mask if self.valid is None else np.where(self.valid, mask, 0).astype(np.uint8)


class EntryAccumulator:
    """Confusion matrix, per-image means, OK/NG, defect, boundary, instance and speed figures."""

    def __init__(
        self,
        method: str,
        chain: str,
        classes: Sequence[str],
        settings: EvalSettings,
        rule: PartRule,
    ) -> None:
        self.method = method
        self.chain = chain
        self.classes = list(classes)
        n = len(self.classes)
        self.settings = settings
        self.rule = rule
        self.confusion = ConfusionMatrix(n, settings.ignore_index)
        self.per_image = PerImageMeans(n)
        self.image_level = ImageLevelCounts()
        self.defects = DefectCounts(n, settings.size_thresholds, settings.defect_iou)
        self.boundary = BoundaryF1(n, settings.boundary_tolerance)
        self.instance_counts = InstanceCounts(
            n, settings.instance_iou, settings.instance_score_threshold
        )
        self.detections = CocoSet()
        self.has_instances = False
        self.images = 0
        self.failures = 0
        self._warmup_ms: tuple[float, float] | None = None
        self._times: list[tuple[float, float]] = []

    def update(
        self,
        target: ImageTarget,
        pred: Prediction | None,
        image_id: int,
        timing: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        """Add one image's prediction (None = failed) and return its per-image row."""
        n = len(self.classes)
        self.images += 1
        failed = pred is None
        self.failures += int(failed)
        if failed:
            pred = Prediction(np.zeros(target.shape, np.uint8))
        pred = self.rule.apply(pred, self.classes)
        mask = target.clean(pred.mask)
        counts = confusion_counts(mask, target.mask, n, self.settings.ignore_index)
        self.confusion.matrix += counts
        scores = image_scores(counts)
        self.per_image.update(scores)
        regions = class_regions(mask, n)
        pred_ng = self.rule.judge(pred.with_(mask=mask), self.classes).ng
        self.image_level.update(target.ng, pred_ng)
        defects = self.defects.update(target.regions, regions)
        boundary_f1 = self.boundary.update(target.boundary, mask)
        instances = None if failed else pred.instances
        if instances is not None:
            self.has_instances = True
            if target.valid is not None:
                instances = mask_out(instances, target.valid)
        else:
            instances = Instances.empty(target.shape)
        inst = self.instance_counts.update(target.instances, instances)
        self.detections.add(image_id, target.shape, instances)
        if timing is not None:
            if self._warmup_ms is None:
                self._warmup_ms = timing
            else:
                self._times.append(timing)
        row: dict[str, Any] = {
            "image": target.name,
            "method": self.method,
            "chain": self.chain,
            "failed": failed,
            "mIoU": scores["mIoU"],
            "mDice": scores["mDice"],
        }
        for c in range(1, n):
            row[f"iou_{self.classes[c]}"] = float(scores["iou"][c])
        row.update(
            {
                "boundary_f1": boundary_f1,
                "gt_ng": bool(target.ng),
                "pred_ng": bool(pred_ng),
                "gt_defects": defects["gt"],
                "pred_defects": defects["pred"],
                "matched_defects": defects["matched"],
                "instance_tp": inst["tp"],
                "instance_fp": inst["fp"],
                "instance_fn": inst["fn"],
                "predict_ms": timing[0] if timing else float("nan"),
                "chain_ms": timing[1] if timing else float("nan"),
            }
        )
        return row

    def speed(self) -> dict[str, Any]:
        """Mean ms/image of predict + chain; the first timed image is a warm-up, left out
        unless it is the only one."""
        times = self._times or ([self._warmup_ms] if self._warmup_ms else [])
        if not times:
            return {"ms_per_image": float("nan"), "predict_ms": float("nan"),
                    "chain_ms": float("nan"), "images_timed": 0}
        arr = np.asarray(times, dtype=np.float64)
        return {
            "ms_per_image": float(arr.sum(axis=1).mean()),
            "predict_ms": float(arr[:, 0].mean()),
            "chain_ms": float(arr[:, 1].mean()),
            "images_timed": len(times),
        }

    def summary(self, gt_instances: CocoSet) -> dict[str, Any]:
        """All figures of this pair (see docs/evaluation.md for each one's definition)."""
        pixel = summarize_confusion(self.confusion.matrix, self.classes)
        instances = None
        if self.has_instances:
            instances = self.instance_counts.summary(self.classes)
            if self.detections.has_scores:
                ap = coco_mask_ap(gt_instances, self.detections, self.classes)
                for key in ("AP", "AP50", "AP75"):
                    instances[key] = ap[key]
                for name, figures in ap["per_class"].items():
                    instances["per_class"][name].update(figures)
            else:
                instances.update({"AP": float("nan"), "AP50": float("nan"), "AP75": float("nan")})
                instances["note"] = "no scores: mask AP not computed"
        return {
            "method": self.method,
            "chain": self.chain,
            **pixel,
            "confusion_matrix": self.confusion.matrix.tolist(),
            "per_image": self.per_image.summary(self.classes),
            "image_level": self.image_level.summary(),
            "defect_level": self.defects.summary(self.classes),
            "boundary": self.boundary.summary(self.classes),
            "instances": instances,
            "speed": self.speed(),
            "images": self.images,
            "failures": self.failures,
        }
