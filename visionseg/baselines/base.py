"""Shared machinery of the classical baselines: detect regions, name them, build a Prediction.

A :class:`RegionBaseline` works in three steps. ``_prepare`` turns the image into whatever
the detector needs (e.g. a flattened deviation map); ``_segment`` finds defect regions as a
label image (connected components of a foreground mask by default; watershed splits them
into instances); the learned :class:`~visionseg.baselines.region_rule.RegionClassRule`
gives each region a class or drops it. ``fit`` learns, from the train split only, the
settings left open in the config (``None``: chosen by the best class-balanced detection IoU
over the train pairs) and then the region class rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin

from visionseg.baselines.features import (
    FEATURE_NAMES,
    region_features,
    region_majority,
    region_pixels,
)
from visionseg.baselines.region_rule import RegionClassRule
from visionseg.core.method import Method
from visionseg.core.prediction import Instances, Prediction
from visionseg.core.regions import connected_regions

IGNORE_INDEX = 255
FEATURE_SIGMA = 0.1  # background blur for region colour features, fraction of shorter side

State = dict[str, Any]
Pair = tuple[np.ndarray, np.ndarray]


class BaselineError(ValueError):
    """An image a baseline cannot segment, e.g. one with a single grey level or colour.

    Every baseline raises it for such images rather than guess; evaluation records it as
    that method's failure on that image and carries on.
    """


def check_image(image: np.ndarray) -> np.ndarray:
    """The ``H x W x 3`` uint8 RGB image baselines expect, or a BaselineError saying why not."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BaselineError(
            f"expected an H x W x 3 uint8 RGB image, got shape {image.shape} dtype {image.dtype}"
        )
    return image


class TrainPairs:
    """Re-iterable view of at most ``limit`` train ``(image, mask)`` pairs.

    From a sequence (a list or a lazily loading data set) it takes evenly spaced items and
    loads them on each pass, so nothing is held in memory; any other iterable is read once
    (its first ``limit`` pairs) and kept.
    """

    def __init__(self, samples: Iterable[Pair], limit: int | None, owner: str) -> None:
        self.owner = owner
        if isinstance(samples, Sequence):
            self.source: Sequence[Pair] = samples
            count = len(samples)
            if limit is not None and count > limit:
                self.indices = [int(i) for i in np.linspace(0, count - 1, limit).round()]
            else:
                self.indices = list(range(count))
        else:
            self.source = list(itertools.islice(samples, limit) if limit else samples)
            self.indices = list(range(len(self.source)))

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Pair]:
        for index in self.indices:
            image, mask = self.source[index]
            image, mask = check_image(image), np.asarray(mask)
            if mask.shape != image.shape[:2]:
                raise ValueError(
                    f"{self.owner}: train pair {index}: mask {mask.shape} differs from image "
                    f"{image.shape[:2]}"
                )
            yield image, mask


class RegionBaseline(Method):
    """A baseline that finds defect regions and names each with a rule learned in ``fit``.

    Subclasses declare ``tunable``: setting name -> ``(fallback, candidates)``. A setting
    given as ``None`` is chosen in ``fit`` among its candidates; before ``fit`` (or when
    the train split has no usable image) the fallback applies.
    """

    tunable: ClassVar[dict[str, tuple[Any, tuple]]] = {}

    def __init__(
        self,
        classes: Sequence[str],
        name: str,
        settings: dict[str, Any],
        min_area: int = 4,
        classifier: ClassifierMixin | None = None,
        max_fit_images: int | None = 500,
    ) -> None:
        self.classes = list(classes)
        if len(self.classes) < 2:
            raise ValueError(f"{name}: needs background and at least one defect class")
        self.name = name
        self.given = dict(settings)
        self.initial_settings = {
            key: self.tunable[key][0] if value is None else value for key, value in settings.items()
        }
        self.settings = dict(self.initial_settings)
        self.min_area = int(min_area)
        self.rule = RegionClassRule(classifier)
        self.max_fit_images = max_fit_images
        self.fit_report: dict[str, Any] = {}

    # -- detector hooks ------------------------------------------------------------------
    def _prepare(self, image: np.ndarray) -> State:
        """Per-image work shared by every setting (raises BaselineError if impossible)."""
        raise NotImplementedError

    def _foreground(self, state: State, settings: dict[str, Any]) -> np.ndarray:
        """Boolean defect mask of a prepared image under the given settings."""
        raise NotImplementedError

    def _segment(self, state: State) -> tuple[np.ndarray, int]:
        """Defect regions as a label image and their count."""
        return connected_regions(self._foreground(state, self.settings), self.min_area)

    # -- fitting -------------------------------------------------------------------------
    def fit(self, samples: Iterable[Pair]) -> RegionBaseline:
        """Learn open settings, then the region class rule, from train ``(image, mask)`` pairs.

        Train images the detector cannot handle (BaselineError) are skipped and counted in
        ``fit_report``. At most ``max_fit_images`` pairs are used.
        """
        pairs = TrainPairs(samples, self.max_fit_images, self.name)
        self.settings = dict(self.initial_settings)
        self.fit_report = {"train_images": len(pairs)}
        self._fit_detector(pairs)
        self._fit_rule(pairs)
        self.fit_report["settings"] = dict(self.settings)
        return self

    def _prepared(self, pairs: TrainPairs) -> Iterator[tuple[np.ndarray, np.ndarray, State]]:
        skipped = 0
        for image, mask in pairs:
            try:
                state = self._prepare(image)
            except BaselineError:
                skipped += 1
                continue
            yield image, mask, state
        self.fit_report["skipped_images"] = skipped

    def _fit_detector(self, pairs: TrainPairs) -> None:
        """Choose open settings by the best class-balanced detection IoU on train pairs.

        For each defect class ``c`` present in the train masks, ``IoU_c = |found & c| /
        (|c| + |found & background|)``: the IoU class ``c`` would get if the region rule named
        every detection correctly (pixels of other defect classes count for neither side).
        The score is the mean over classes, so thin scratches weigh as much as large stains,
        as in mIoU. Ties go to the candidate listed first; with no defect pixel in the split
        the candidate with the fewest false detections wins.
        """
        free = [key for key, value in self.given.items() if value is None]
        if not free or not len(pairs):
            return
        combos = [
            {**self.settings, **dict(zip(free, values, strict=True))}
            for values in itertools.product(*(self.tunable[key][1] for key in free))
        ]
        classes = self.num_classes
        hits = np.zeros((len(combos), 256), np.int64)
        truth = np.zeros(256, np.int64)
        used = 0
        for _, mask, state in self._prepared(pairs):
            used += 1
            truth += np.bincount(mask.ravel(), minlength=256)
            for i, combo in enumerate(combos):
                hits[i] += np.bincount(mask[self._foreground(state, combo)], minlength=256)
        if not used:
            return
        present = np.flatnonzero(truth[1:classes]) + 1
        false = hits[:, 0]
        if len(present):
            iou = hits[:, present] / (truth[present] + false[:, None])
            score = iou.mean(axis=1)
        else:
            score = np.zeros(len(combos))
        best = max(range(len(combos)), key=lambda i: (score[i], -false[i], -i))
        self.settings = combos[best]
        self.fit_report["train_detection_iou"] = float(score[best])

    def _fit_rule(self, pairs: TrainPairs) -> None:
        features, labels = [], []
        for image, mask, state in self._prepared(pairs):
            regions, count = self._segment(state)
            majority = region_majority(regions, count, mask, self.num_classes, IGNORE_INDEX)
            keep = majority >= 0
            features.append(region_features(image, regions, count, FEATURE_SIGMA)[keep])
            labels.append(majority[keep])
        if not features:
            features, labels = [np.zeros((0, len(FEATURE_NAMES)))], [np.zeros(0, np.int64)]
        self.rule.fit(np.concatenate(features), np.concatenate(labels))
        self.fit_report["train_regions"] = int(sum(len(x) for x in labels))

    # -- prediction ----------------------------------------------------------------------
    def predict(self, image: np.ndarray) -> Prediction:
        """Segment one image; raises BaselineError for an image this baseline cannot handle."""
        image = check_image(image)
        state = self._prepare(image)
        regions, count = self._segment(state)
        meta = {"settings": dict(self.settings), **state.get("meta", {})}
        return self._name_regions(image, regions, count, meta)

    def _name_regions(
        self, image: np.ndarray, regions: np.ndarray, count: int, meta: dict
    ) -> Prediction:
        shape = regions.shape
        if count == 0:
            empty = np.zeros(shape, np.uint8)
            return Prediction(empty, instances=Instances.empty(shape), meta=meta)
        pixels = region_pixels(regions)
        features = region_features(image, regions, count, FEATURE_SIGMA, pixels)
        classes, scores = self.rule.predict(features)
        classes = np.clip(classes, 0, self.num_classes - 1)
        keep = classes > 0
        rows, cols, region_ids = pixels
        class_lut = np.zeros(count + 1, np.uint8)
        class_lut[1:] = classes
        mask = np.zeros(shape, np.uint8)
        mask[rows, cols] = class_lut[region_ids]
        if keep.all():
            ids = regions
        else:
            id_lut = np.zeros(count + 1, np.int32)
            id_lut[1:][keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
            ids = np.zeros(shape, np.int32)
            ids[rows, cols] = id_lut[region_ids]
        meta["regions_found"] = count
        instances = Instances(ids, classes[keep], None if scores is None else scores[keep])
        return Prediction(mask, instances=instances, meta=meta)
