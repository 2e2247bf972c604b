"""Morphological clean-up of a class mask, class by class.

For every defect class present, in this order: opening (removes specks and thin spurs),
closing (bridges small gaps), removal of 8-connected regions smaller than ``min_area``,
and filling of holes (4-connected background areas enclosed by the class, not touching the
image border) of at most ``max_hole_area`` pixels. Each setting is either one number for
every class or a mapping ``{class_id: value}`` (classes not listed: 0 = off). Radii are in
pixels (elliptical structuring element of side ``2r + 1``).

Pixels a class gains are taken from background only, never from another class. Where
the prediction has probabilities, each changed pixel swaps the probabilities of its old and
new class, so the mask stays the argmax and the CRF after it sees the cleaned labels.
Instances follow the mask (:func:`~visionseg.postprocess.instances.sync_instances`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from visionseg.core.checks import check_int
from visionseg.core.prediction import Prediction
from visionseg.core.regions import label_components, remove_small_regions
from visionseg.postprocess.base import PostProcess, check_shapes
from visionseg.postprocess.instances import sync_instances

PerClass = int | Mapping[int, int]


def _per_class(value: PerClass, class_id: int) -> int:
    if isinstance(value, Mapping):
        return int(value.get(class_id, 0))
    return int(value)


def check_per_class(setting: str, value: Any) -> PerClass:
    """A per-class size (an int ``>= 0``, or a mapping of class ids to such ints), checked
    where the step is built: a negative radius or area would silently do nothing."""
    if isinstance(value, Mapping):
        return {check_int("class id in " + setting, k, 0): check_int(f"{setting}[{k}]", v, 0)
                for k, v in value.items()}
    return check_int(setting, value, 0)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def fill_small_holes(binary: np.ndarray, max_area: int) -> np.ndarray:
    """Fill 4-connected holes of at most ``max_area`` pixels that do not touch the border."""
    labels, areas = label_components(~binary, connectivity=4)
    fill = np.zeros(len(areas) + 1, bool)
    fill[1:] = areas <= max_area
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    fill[border] = False
    return binary | fill[labels]


class Morphology(PostProcess):
    """Opening, closing, small-region removal and small-hole filling, per class."""

    def __init__(
        self,
        open_radius: PerClass = 0,
        close_radius: PerClass = 0,
        min_area: PerClass = 0,
        max_hole_area: PerClass = 0,
        name: str = "morphology",
    ) -> None:
        where = f"postprocess.{name}"
        self.open_radius = check_per_class(f"{where}.open_radius", open_radius)
        self.close_radius = check_per_class(f"{where}.close_radius", close_radius)
        self.min_area = check_per_class(f"{where}.min_area", min_area)
        self.max_hole_area = check_per_class(f"{where}.max_hole_area", max_hole_area)
        self.name = name

    def clean(self, binary: np.ndarray, class_id: int) -> np.ndarray:
        """The cleaned boolean mask of one class."""
        radius = _per_class(self.open_radius, class_id)
        if radius > 0:
            binary = cv2.morphologyEx(binary.astype(np.uint8), cv2.MORPH_OPEN, _disk(radius)) > 0
        radius = _per_class(self.close_radius, class_id)
        if radius > 0:
            binary = cv2.morphologyEx(binary.astype(np.uint8), cv2.MORPH_CLOSE, _disk(radius)) > 0
        area = _per_class(self.min_area, class_id)
        if area > 1:
            binary = remove_small_regions(binary, area)
        area = _per_class(self.max_hole_area, class_id)
        if area > 0:
            binary = fill_small_holes(binary, area)
        return binary

    def __call__(self, image: np.ndarray, pred: Prediction) -> Prediction:
        check_shapes(image, pred, self.name)
        old = pred.mask
        new = np.zeros_like(old)
        present = np.flatnonzero(np.bincount(old.ravel(), minlength=2)[1:]) + 1
        for class_id in present:
            cleaned = self.clean(old == class_id, int(class_id))
            new[cleaned & ((old == class_id) | (old == 0))] = class_id
        changed = np.flatnonzero(new.ravel() != old.ravel())
        if changed.size == 0:
            return pred.with_(meta=dict(pred.meta))
        probs, confidence = pred.probs, pred.confidence
        if probs is not None:
            probs = probs.copy()
            flat = probs.reshape(probs.shape[0], -1)
            was, now = old.ravel()[changed], new.ravel()[changed]
            flat[was, changed], flat[now, changed] = flat[now, changed], flat[was, changed]
            confidence = np.take_along_axis(probs, new[None].astype(np.int64), axis=0)[0]
        return pred.with_(
            mask=new,
            probs=probs,
            confidence=confidence,
            instances=sync_instances(pred.instances, new),
            meta=dict(pred.meta),
        )
