"""Everything measured for one (method, post-processing chain) pair, accumulated image by image.

A failed prediction counts as an all-background one: every method is scored on the same
images and pixels. Ground-truth work is done once per image in
:class:`visionseg.evaluation.targets.ImageTarget` and shared by every pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visionseg.core.prediction import Instances, Prediction
from visionseg.core.verdict import PartRule
from visionseg.evaluation.entry import EntryResult, ImageRow, InstanceFigures, SpeedFigures
from visionseg.evaluation.settings import EvalSettings
from visionseg.evaluation.targets import ImageTarget
from visionseg.metrics.boundary import BoundaryF1
from visionseg.metrics.confusion import PixelFigures, confusion_counts, reduce_confusion
from visionseg.metrics.defect_level import DefectCounts, class_regions
from visionseg.metrics.image_level import ImageLevelCounts
from visionseg.metrics.instances import CocoSet, InstanceCounts, mask_out
from visionseg.metrics.per_image import PerImageMeans
from visionseg.metrics.ranked_ap import ranked_mask_ap
from visionseg.metrics.skeleton import SkeletonPRF


class EntryAccumulator:
    """Confusion counts, per-image means, OK/NG, defect, boundary, thin-class skeleton,
    instance and speed figures."""

    def __init__(
        self,
        method: str,
        chain: str,
        classes: Sequence[str],
        settings: EvalSettings,
        rule: PartRule,
        thin_ids: Sequence[int] = (),
    ) -> None:
        self.method = method
        self.chain = chain
        self.classes = list(classes)
        n = len(self.classes)
        self.settings = settings
        self.rule = rule
        self.counts = np.zeros((n, n), np.int64)
        self.per_image = PerImageMeans(n)
        self.image_level = ImageLevelCounts()
        self.defects = DefectCounts(n, settings.size_thresholds, settings.defect_iou)
        self.boundary = BoundaryF1(n, settings.boundary_tolerance)
        self.thin = SkeletonPRF(thin_ids, settings.thin_tolerance,
                                settings.thin_tolerance_diagonal)
        self.instance_counts = InstanceCounts(
            n, settings.instance_iou, settings.instance_score_threshold
        )
        self.detections = CocoSet()
        self.has_instances = False
        self.images = 0
        self.failures = 0
        self._times: list[tuple[float, float]] = []  # the first is the warm-up

    def update(
        self,
        target: ImageTarget,
        pred: Prediction | None,
        timing: tuple[float, float] | None = None,
    ) -> ImageRow:
        """Add one image's prediction (None = failed) and return its row."""
        n = len(self.classes)
        self.images += 1
        failed = pred is None
        self.failures += int(failed)
        if pred is None:
            pred = Prediction(np.zeros(target.shape, np.uint8))
        pred = self.rule.apply(pred, self.classes)
        mask = target.clean(pred.mask)
        counts = confusion_counts(mask, target.mask, n, self.settings.ignore_index)
        self.counts += counts
        scores = reduce_confusion(counts)
        self.per_image.update(scores)
        pred_ng = self.rule.judge(pred.with_(mask=mask), self.classes).ng
        self.image_level.update(target.ng, pred_ng)
        defects = self.defects.update(target.regions, class_regions(mask, n))
        boundary_f1 = self.boundary.update(target.boundary, mask)
        self.thin.update(target.skeletons, mask)
        inst = self.instance_counts.update(target.instances,
                                           self._instances(target, None if failed else pred))
        if timing is not None:
            self._times.append(timing)
        return ImageRow(
            image=target.name, method=self.method, chain=self.chain, failed=failed,
            defect_miou=scores.defect_miou, defect_mdice=scores.defect_mdice,
            miou_all=scores.miou_all,
            iou={self.classes[c]: float(scores.iou[c]) for c in range(1, n)},
            boundary_f1=boundary_f1, gt_ng=bool(target.ng), pred_ng=bool(pred_ng),
            gt_defects=defects["gt"], pred_defects=defects["pred"],
            matched_defects=defects["matched"], instance_tp=inst["tp"],
            instance_fp=inst["fp"], instance_fn=inst["fn"],
            predict_ms=timing[0] if timing else float("nan"),
            chain_ms=timing[1] if timing else float("nan"),
        )

    def _instances(self, target: ImageTarget, pred: Prediction | None) -> Instances:
        """The prediction's instances without ignored pixels (empty when it has none),
        also collected for mask AP."""
        instances = None if pred is None else pred.instances
        if instances is None:
            instances = Instances.empty(target.shape)
        else:
            self.has_instances = True
            if target.valid is not None:
                instances = mask_out(instances, target.valid)
        self.detections.add(target.image_id, target.shape, instances)
        return instances

    def speed(self) -> SpeedFigures:
        """Mean ms/image of predict + chain; the first timed image is a warm-up, left out
        unless it is the only one."""
        times = self._times[1:] or self._times
        if not times:
            return SpeedFigures(float("nan"), float("nan"), float("nan"), 0)
        arr = np.asarray(times, dtype=np.float64)
        return SpeedFigures(float(arr.sum(axis=1).mean()), float(arr[:, 0].mean()),
                            float(arr[:, 1].mean()), len(times))

    def summary(self, gt_instances: CocoSet) -> EntryResult:
        """All figures of this pair (see docs/evaluation.md for each one's definition)."""
        instances = None
        if self.has_instances:
            ap = None
            if self.detections.has_scores:
                ap = ranked_mask_ap(gt_instances, self.detections, self.classes)
            instances = InstanceFigures(self.instance_counts.summary(self.classes), ap)
        return EntryResult(
            method=self.method,
            chain=self.chain,
            pixel=PixelFigures.from_counts(self.counts, self.classes),
            per_image=self.per_image.summary(self.classes),
            image_level=self.image_level.summary(),
            defect_level=self.defects.summary(self.classes),
            boundary=self.boundary.summary(self.classes),
            thin=self.thin.summary(self.classes),
            instances=instances,
            speed=self.speed(),
            images=self.images,
            failures=self.failures,
        )
