"""Tiny methods and post-processing steps for evaluation tests (also built by Hydra there)."""

from __future__ import annotations

import numpy as np

from visionseg.core import Instances, Method, Prediction
from visionseg.metrics.instances import semantic_instances
from visionseg.postprocess.base import PostProcess

CLASSES = ["background", "scratch", "spot", "stain"]


class DarkSpots(Method):
    """Pixels darker than ``level`` are spots; counts its calls and what it was fitted on."""

    name = "dark"

    def __init__(self, classes=CLASSES, level: int = 60, name: str | None = None) -> None:
        self.classes = list(classes)
        self.level = level
        self.name = name or self.name
        self.calls = 0
        self.fitted_on: list[int] = []

    def fit(self, samples):
        self.fitted_on = [int(mask.sum()) for _, mask in samples]
        return self

    def predict(self, image):
        self.calls += 1
        return Prediction(np.where(image[..., 0] < self.level, 2, 0).astype(np.uint8))


class BrightScratches(DarkSpots):
    """Pixels brighter than 200 are scratches; its instances are the connected regions."""

    name = "bright"

    def predict(self, image):
        self.calls += 1
        mask = np.where(image[..., 0] > 200, 1, 0).astype(np.uint8)
        inst = semantic_instances(mask, len(self.classes))
        inst.scores = np.full(len(inst), 0.9)
        return Prediction(mask, instances=inst)


class FailsOn(DarkSpots):
    """Like DarkSpots, but raises on images whose top-left pixel has value ``marker``."""

    name = "fragile"

    def __init__(self, classes=CLASSES, marker: int = 7) -> None:
        super().__init__(classes)
        self.marker = marker

    def predict(self, image):
        if image[0, 0, 0] == self.marker:
            raise RuntimeError("single-colour image, no threshold")
        return super().predict(image)


class BadOutput(DarkSpots):
    name = "bad"

    def predict(self, image):
        return Prediction(np.full(image.shape[:2], 9, np.uint8))


class FitFails(DarkSpots):
    name = "unfit"

    def fit(self, samples):
        raise ValueError("train split has no defects")


class Erase(PostProcess):
    """A post-processing step that clears class ``class_id`` (and counts its calls)."""

    def __init__(self, class_id: int = 2, name: str = "erase") -> None:
        self.class_id = class_id
        self.name = name
        self.calls = 0

    def __call__(self, image, pred):
        self.calls += 1
        pred.mask[pred.mask == self.class_id] = 0  # in place on purpose
        return pred.with_(instances=None if pred.instances is None else Instances(
            pred.instances.labels, pred.instances.classes, pred.instances.scores))


class Explodes(PostProcess):
    name = "explodes"

    def __call__(self, image, pred):
        if image[0, 0, 0] == 3:
            raise RuntimeError("CRF out of memory")
        return pred


class ClearClass(PostProcess):
    """A post-processing step (as configs/postprocess/ builds them) that clears one class."""

    name = "clear"

    def __init__(self, class_id: int) -> None:
        self.class_id = class_id

    def __call__(self, image, pred):
        return pred.with_(mask=np.where(pred.mask == self.class_id, 0, pred.mask))


class TwoBars(DarkSpots):
    """Scratch instances told apart by brightness: 225-235 is one bar, 236-245 the other."""

    name = "bars"

    def predict(self, image):
        value = image[..., 0].astype(int)
        labels = np.where((value >= 225) & (value <= 235), 1, 0)
        labels = np.where((value >= 236) & (value <= 245), 2, labels).astype(np.int32)
        present = [i for i in (1, 2) if (labels == i).any()]
        labels = np.searchsorted([0, *present], labels).astype(np.int32) * (labels > 0)
        inst = Instances(labels, np.ones(len(present), np.int64), np.full(len(present), 0.9))
        return Prediction((labels > 0).astype(np.uint8), instances=inst)


class FlatScores(DarkSpots):
    """Bright bars and dark squares both called scratch instances, every one scoring 1.0:
    scores that cannot rank right detections above wrong ones."""

    name = "flat"

    def predict(self, image):
        self.calls += 1
        value = image[..., 0]
        mask = np.where((value > 200) | (value < 60), 1, 0).astype(np.uint8)
        inst = semantic_instances(mask, len(self.classes))
        inst.scores = np.ones(len(inst))
        return Prediction(mask, instances=inst)
