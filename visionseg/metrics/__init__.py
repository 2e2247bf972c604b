"""Segmentation figures: pixel, per-image, image (OK/NG), defect, boundary and instance level."""

from visionseg.metrics.boundary import BoundaryF1, boundary_map
from visionseg.metrics.confusion import ConfusionMatrix, summarize_confusion
from visionseg.metrics.defect_level import SIZE_NAMES, DefectCounts, class_regions
from visionseg.metrics.image_level import ImageLevelCounts, is_defective, summarize_ok_ng
from visionseg.metrics.instances import (
    CocoSet,
    InstanceCounts,
    coco_mask_ap,
    mask_ap,
    semantic_instances,
)
from visionseg.metrics.per_image import PerImageMeans, image_scores

__all__ = [
    "SIZE_NAMES",
    "BoundaryF1",
    "CocoSet",
    "ConfusionMatrix",
    "DefectCounts",
    "ImageLevelCounts",
    "InstanceCounts",
    "PerImageMeans",
    "boundary_map",
    "class_regions",
    "coco_mask_ap",
    "image_scores",
    "is_defective",
    "mask_ap",
    "semantic_instances",
    "summarize_confusion",
    "summarize_ok_ng",
]
