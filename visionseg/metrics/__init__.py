"""Segmentation figures: pixel, per-image, image (OK/NG), defect, boundary and instance level.

Each accumulator adds one image at a time and returns a typed figures dataclass from
``summary``; the evaluation app collects them per (method, chain) pair.
"""

from visionseg.metrics.boundary import BoundaryF1, BoundaryFigures, boundary_map
from visionseg.metrics.confusion import (
    PixelFigures,
    PixelScores,
    confusion_counts,
    reduce_confusion,
    summarize_confusion,
)
from visionseg.metrics.defect_level import (
    SIZE_NAMES,
    DefectCounts,
    DefectLevelFigures,
    class_regions,
)
from visionseg.metrics.image_level import ImageLevelCounts, ImageLevelFigures, summarize_ok_ng
from visionseg.metrics.instances import (
    CocoSet,
    InstanceCounts,
    InstanceMatching,
    coco_mask_ap,
    mask_ap,
    semantic_instances,
)
from visionseg.metrics.per_image import PerImageFigures, PerImageMeans
from visionseg.metrics.ranked_ap import MaskAP, TiedFigure, ranked_mask_ap

__all__ = [
    "SIZE_NAMES",
    "BoundaryF1",
    "BoundaryFigures",
    "CocoSet",
    "DefectCounts",
    "DefectLevelFigures",
    "ImageLevelCounts",
    "ImageLevelFigures",
    "InstanceCounts",
    "InstanceMatching",
    "MaskAP",
    "PerImageFigures",
    "PerImageMeans",
    "PixelFigures",
    "PixelScores",
    "TiedFigure",
    "boundary_map",
    "class_regions",
    "coco_mask_ap",
    "confusion_counts",
    "mask_ap",
    "ranked_mask_ap",
    "reduce_confusion",
    "semantic_instances",
    "summarize_confusion",
    "summarize_ok_ng",
]
