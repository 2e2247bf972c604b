"""One image's ground truth: read and checked once, prepared once for every method and chain.

Pixels the ground truth marks with the ignore value are removed from predictions (set to
background) before any figure, so no method is rewarded or punished for them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from visionseg.core.prediction import Instances
from visionseg.core.verdict import PartRule
from visionseg.data.folder import Sample
from visionseg.data.instances import InstanceTargets
from visionseg.evaluation.results import Failure
from visionseg.evaluation.settings import EvalSettings
from visionseg.io.images import ImageReadError, read_image, read_mask
from visionseg.io.scale16 import Scale16
from visionseg.metrics.boundary import BoundaryTarget, tolerance_kernel
from visionseg.metrics.defect_level import ClassRegions, class_regions
from visionseg.metrics.instances import mask_out, semantic_instances
from visionseg.metrics.skeleton import SkeletonTarget

log = logging.getLogger(__name__)


class ImageTarget:
    """One image's ground truth: mask, regions, OK/NG truth, boundaries, thin-class
    skeletons and instances."""

    def __init__(
        self,
        image_id: int,
        name: str,
        mask: np.ndarray,
        settings: EvalSettings,
        instances: Instances,
        rule: PartRule,
        classes: Sequence[str],
        thin_ids: Sequence[int] = (),
    ) -> None:
        num_classes = len(classes)
        self.image_id = image_id  # the image's id in the COCO sets of mask AP
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
        self.skeletons = SkeletonTarget(mask, thin_ids, self.valid)
        self.instances = instances

    def clean(self, mask: np.ndarray) -> np.ndarray:
        """The prediction with ignored pixels set to background."""
        return mask if self.valid is None else np.where(self.valid, mask, 0).astype(np.uint8)


def load_pair(
    sample: Sample, num_classes: int, settings: EvalSettings, failures: list[Failure],
    scale16: Scale16 | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(image, mask)`` of a sample, or None (a ``read`` failure recorded) when unusable;
    16-bit images are read as ``scale16`` says (the evaluated checkpoints' own policy)."""
    try:
        image = read_image(sample.image, scale16)
        gt = read_mask(sample.mask)
    except ImageReadError as err:
        failures.append(Failure("*", "*", sample.name, "read", str(err)))
        return None
    problem = None
    if gt.shape != image.shape[:2]:
        problem = f"mask is {gt.shape[1]}x{gt.shape[0]}, image {image.shape[1]}x{image.shape[0]}"
    else:
        bad = np.setdiff1d(np.unique(gt), [*range(num_classes), settings.ignore_index])
        if bad.size:
            problem = f"mask values {bad[:10].tolist()} are outside the class map"
    if problem:
        failures.append(Failure("*", "*", sample.name, "read", f"{sample.mask}: {problem}"))
        return None
    return image, gt


def gt_instances(
    sample: Sample, gt: np.ndarray, targets: InstanceTargets, settings: EvalSettings
) -> Instances:
    """Ground-truth instances from the sample's annotation (instance PNG, COCO, LabelMe),
    else the 8-connected regions of each class; ignored pixels belong to no instance."""
    try:
        found = targets.read(sample, gt)
    except (ValueError, ImageReadError) as err:
        log.warning("%s; its instances are taken from the class mask", err)
        found = semantic_instances(gt, len(targets.classes), targets.min_area)
    return mask_out(found, gt != settings.ignore_index)
