"""Instance-level figures: F1 of matched instances at IoU 0.5, and COCO mask AP.

Ground-truth instances are the 8-connected regions of each defect class of the semantic
mask unless an instance label image is given. Mask AP, AP50 and AP75 are computed by
pycocotools' ``COCOeval`` (``iouType="segm"``, area range "all", 100 detections per
image and class): the reference implementation, so the figures are comparable with
published ones. Predictions without scores get F1 but no AP; how tied scores are handled
is :mod:`visionseg.metrics.ranked_ap`.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from visionseg.core.prediction import Instances
from visionseg.core.regions import drop_small, label_components
from visionseg.metrics.matching import greedy_match, pair_iou
from visionseg.metrics.ratios import ratio


def semantic_instances(mask: np.ndarray, num_classes: int, min_area: int = 0) -> Instances:
    """Instances from a class mask: each 8-connected region of each defect class."""
    labels = np.zeros(mask.shape, np.int32)
    classes: list[int] = []
    for class_id in range(1, num_classes):
        binary = mask == class_id
        if not binary.any():
            continue
        lab, areas = drop_small(*label_components(binary), min_area)
        if not len(areas):
            continue
        labels[lab > 0] = lab[lab > 0] + len(classes)
        classes.extend([class_id] * len(areas))
    return Instances(labels, np.array(classes, np.int64), None)


def instances_from_labels(labels: np.ndarray, semantic: np.ndarray, num_classes: int) -> Instances:
    """Instances from an instance-id image; each object's class is its majority class id.

    Ids need not be consecutive; objects whose pixels are all background or ignore are dropped.
    """
    ids = np.unique(labels)
    ids = ids[ids > 0]
    out = np.zeros(labels.shape, np.int32)
    classes: list[int] = []
    for obj in ids:
        pixels = semantic[labels == obj]
        pixels = pixels[(pixels > 0) & (pixels < num_classes)]
        if not pixels.size:
            continue
        classes.append(int(np.bincount(pixels).argmax()))
        out[labels == obj] = len(classes)
    return Instances(out, np.array(classes, np.int64), None)


def read_instance_labels(path: str | os.PathLike) -> np.ndarray:
    """Read an instance-id PNG (8 or 16 bit) unchanged; raises ValueError naming the file."""
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else np.zeros(0)
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if array is None or array.ndim != 2:
        raise ValueError(f"{path}: not a single-channel instance-id image")
    return array.astype(np.int64)


def mask_out(instances: Instances, keep: np.ndarray) -> Instances:
    """The same instances with pixels outside ``keep`` removed (e.g. ignored pixels)."""
    return Instances(np.where(keep, instances.labels, 0), instances.classes, instances.scores)


class InstanceCounts:
    """Instances matched one-to-one within each class at IoU >= threshold, over a split.

    Predicted instances scoring below ``score_threshold`` are not counted (instances
    without scores always are).
    """

    def __init__(self, num_classes: int, iou_threshold: float = 0.5, score_threshold: float = 0.0):
        self.num_classes = num_classes
        self.iou_threshold = iou_threshold
        self.score_threshold = score_threshold
        self.tp = np.zeros(num_classes, np.int64)
        self.fp = np.zeros(num_classes, np.int64)
        self.fn = np.zeros(num_classes, np.int64)

    def update(self, gt: Instances, pred: Instances) -> dict[str, int]:
        """Add one image; returns its ``{"tp", "fp", "fn"}``."""
        if not len(pred):
            missed = np.bincount(gt.classes, minlength=self.num_classes)[: self.num_classes]
            self.fn += missed
            return {"tp": 0, "fp": 0, "fn": int(missed[1:].sum())}
        keep = np.ones(len(pred), bool)
        if pred.scores is not None:
            keep = pred.scores >= self.score_threshold
        totals = np.zeros(3, np.int64)
        for c in range(1, self.num_classes):
            g_ids = np.flatnonzero(gt.classes == c) + 1
            p_ids = np.flatnonzero((pred.classes == c) & keep) + 1
            g_lab = _relabel(gt.labels, g_ids)
            p_lab = _relabel(pred.labels, p_ids)
            iou = pair_iou(g_lab, len(g_ids), p_lab, len(p_ids))
            tp = len(greedy_match(iou, self.iou_threshold))
            counts = np.array([tp, len(p_ids) - tp, len(g_ids) - tp])
            self.tp[c] += counts[0]
            self.fp[c] += counts[1]
            self.fn[c] += counts[2]
            totals += counts
        return {"tp": int(totals[0]), "fp": int(totals[1]), "fn": int(totals[2])}

    def summary(self, class_names: Sequence[str]) -> InstanceMatching:
        per_class = {
            class_names[c]: MatchCounts.of(self.tp[c], self.fp[c], self.fn[c])
            for c in range(1, self.num_classes)
        }
        return InstanceMatching(
            **vars(MatchCounts.of(self.tp.sum(), self.fp.sum(), self.fn.sum())),
            iou_threshold=self.iou_threshold,
            score_threshold=self.score_threshold,
            per_class=per_class,
        )


@dataclass
class MatchCounts:
    """Matched (tp), unmatched predicted (fp) and missed (fn) instances, and their ratios."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, tp, fp, fn) -> MatchCounts:
        tp, fp, fn = int(tp), int(fp), int(fn)
        return cls(
            tp, fp, fn,
            precision=ratio(tp, tp + fp),
            recall=ratio(tp, tp + fn),
            f1=ratio(2 * tp, 2 * tp + fp + fn),
        )


@dataclass
class InstanceMatching(MatchCounts):
    """Instance F1 over a split: instances matched one-to-one within their class."""

    iou_threshold: float
    score_threshold: float
    per_class: dict[str, MatchCounts]


def _relabel(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Label image keeping only objects ``ids`` (1-based), renumbered 1..len(ids)."""
    if not len(ids):
        return np.zeros(labels.shape, np.int32)
    lut = np.zeros(int(max(labels.max(), ids.max())) + 1, np.int32)
    lut[ids] = np.arange(1, len(ids) + 1, dtype=np.int32)
    return lut[labels]


def encode_instances(instances: Instances, image_id: int, first_id: int) -> list[dict]:
    """COCO annotations (RLE segmentation) of every non-empty instance of one image."""
    anns = []
    for index in range(len(instances)):
        binary = instances.labels == index + 1
        if not binary.any():
            continue
        rle = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
        ann = {
            "id": first_id + len(anns),
            "image_id": image_id,
            "category_id": int(instances.classes[index]),
            "segmentation": rle,
            "area": float(mask_utils.area(rle)),
            "bbox": [float(v) for v in mask_utils.toBbox(rle)],
            "iscrowd": 0,
        }
        if instances.scores is not None:
            ann["score"] = float(instances.scores[index])
        anns.append(ann)
    return anns


class CocoSet:
    """COCO-style annotations collected image by image (RLE masks, a few bytes per object)."""

    def __init__(self) -> None:
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.has_scores = True

    def add(self, image_id: int, shape: tuple[int, int], instances: Instances) -> None:
        if instances.scores is None and len(instances):
            self.has_scores = False
        self.images.append({"id": image_id, "height": int(shape[0]), "width": int(shape[1])})
        self.annotations.extend(
            encode_instances(instances, image_id, first_id=len(self.annotations) + 1)
        )

    def rescored(self, scores: Sequence[float]) -> CocoSet:
        """The same images and objects with new scores (one per annotation, in order)."""
        out = CocoSet()
        out.images = self.images
        out.annotations = [{**ann, "score": float(score)}
                           for ann, score in zip(self.annotations, scores, strict=True)]
        return out


def coco_mask_ap(gt: CocoSet, dt: CocoSet, class_names: Sequence[str]) -> dict[str, Any]:
    """Mask AP (IoU 0.50:0.95), AP50, AP75, overall and per class, by pycocotools.

    NaN where no ground-truth instance exists (COCO leaves such classes out of the mean).
    """
    categories = [{"id": c, "name": class_names[c]} for c in range(1, len(class_names))]
    coco_gt = _coco(gt.images, gt.annotations, categories)
    coco_dt = _coco(gt.images, dt.annotations, categories)
    evaluator = COCOeval(coco_gt, coco_dt, iouType="segm")
    evaluator.params.imgIds = [image["id"] for image in gt.images]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, :, 0, -1]  # T x R x K, area all, 100 dets
    thresholds = evaluator.params.iouThrs

    def ap(p: np.ndarray) -> float:
        p = p[p > -1]
        return float(p.mean()) if p.size else float("nan")

    i50 = int(np.argmin(np.abs(thresholds - 0.5)))
    i75 = int(np.argmin(np.abs(thresholds - 0.75)))
    per_class = {
        cat["name"]: {
            "AP": ap(precision[:, :, k]),
            "AP50": ap(precision[i50, :, k]),
            "AP75": ap(precision[i75, :, k]),
        }
        for k, cat in enumerate(categories)
    }
    return {
        "AP": ap(precision),
        "AP50": ap(precision[i50]),
        "AP75": ap(precision[i75]),
        "per_class": per_class,
    }


def _coco(images: list[dict], annotations: list[dict], categories: list[dict]) -> COCO:
    coco = COCO()
    coco.dataset = {"images": images, "annotations": annotations, "categories": categories}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def mask_ap(
    gts: Sequence[Instances], preds: Sequence[Instances], class_names: Sequence[str]
) -> dict[str, Any]:
    """Mask AP of predicted instances (with scores) against ground truth, image by image."""
    if len(gts) != len(preds):
        raise ValueError("mask_ap: as many predictions as ground truths are needed")
    gt_set, dt_set = CocoSet(), CocoSet()
    for image_id, (gt, pred) in enumerate(zip(gts, preds, strict=True), start=1):
        if pred.scores is None and len(pred):
            raise ValueError("mask_ap: predicted instances need scores")
        gt_set.add(image_id, gt.labels.shape, gt)
        dt_set.add(image_id, pred.labels.shape, pred)
    return coco_mask_ap(gt_set, dt_set, class_names)
