"""Shared machinery of the classical baselines: detect regions, name them, build a Prediction.

A :class:`RegionBaseline` works in three steps. ``_prepare`` turns the image into whatever
the detector needs (e.g. a grey image and its noise level); ``_segment`` finds defect
regions as a label image (connected components of a foreground mask by default; watershed
splits them into instances); the :class:`~visionseg.baselines.region_rule.RegionClassRule`
gives each region a class (or drops it) and :mod:`visionseg.baselines.scores` a score.

Without a train split every baseline is the textbook method (the ``fallback`` of each
setting). ``fit`` may move away from it only where the train split says so: settings left
open (``None``) are chosen by the best class-balanced detection IoU over the train pairs,
ties (within :data:`~visionseg.baselines.region_rule.TIE`) going to the candidate closest
to the textbook one; the region class rule is kept only when it wins a cross-validation
on the train images (:func:`~visionseg.baselines.region_rule.rule_helps`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import cv2
import numpy as np
from sklearn.base import ClassifierMixin

from visionseg.baselines.features import (
    FEATURE_NAMES,
    majority_of,
    region_features,
    region_pixels,
    region_truth_counts,
)
from visionseg.baselines.region_rule import TIE, RegionClassRule, TrainRegions, rule_helps
from visionseg.baselines.scores import instance_scores
from visionseg.core.checks import check_int
from visionseg.core.errors import ConfigError
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


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """ConfigError naming the setting unless ``value`` is ``None`` or one of ``choices``."""
    if value is not None and value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)} or null, got {value!r}")


def check_image(image: np.ndarray) -> np.ndarray:
    """The ``H x W x 3`` uint8 RGB image baselines expect, or a BaselineError saying why not."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BaselineError(
            f"expected an H x W x 3 uint8 RGB image, got shape {image.shape} dtype {image.dtype}"
        )
    return image


class FitPairs:
    """Re-iterable, checked view of at most ``limit`` of the ``(image, mask)`` pairs a
    baseline's ``fit`` gets (e.g. a :class:`visionseg.data.pairs.TrainPairs`).

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
    """A baseline that finds defect regions, names and scores each.

    Subclasses declare ``tunable``: setting name -> ``(textbook, candidates)``. A setting
    given as ``None`` is chosen in ``fit`` among its candidates; before ``fit`` (or when
    the train split has no usable image) the textbook value applies. ``classify`` turns
    the region class rule on (``True``), off (``False``) or leaves it to ``fit``
    (``None``: cross-validated on train; off without train data).
    """

    tunable: ClassVar[dict[str, tuple[Any, tuple]]] = {}

    def __init__(
        self,
        classes: Sequence[str],
        name: str,
        settings: dict[str, Any],
        min_area: int = 4,
        classify: bool | None = None,
        classifier: ClassifierMixin | None = None,
        max_fit_images: int | None = 500,
    ) -> None:
        self.classes = list(classes)
        if len(self.classes) < 2:
            raise ConfigError(f"{name}: needs background and at least one defect class")
        check_int("min_area", min_area, 1, optional=True)
        check_int("max_fit_images", max_fit_images, 1, optional=True)
        check_choice("classify", classify, (True, False))
        self.name = name
        self.given = dict(settings)
        self.initial_settings = {
            key: self.tunable[key][0] if value is None else value for key, value in settings.items()
        }
        self.settings = dict(self.initial_settings)
        self.min_area = int(min_area)
        self.classify = classify
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
        """Choose open settings, then whether and how to name regions, from train pairs.

        Train images the detector cannot handle (BaselineError) are skipped and counted in
        ``fit_report``. At most ``max_fit_images`` pairs are used.
        """
        pairs = FitPairs(samples, self.max_fit_images, self.name)
        self.settings = dict(self.initial_settings)
        self.fit_report = {"train_images": len(pairs)}
        self._fit_detector(pairs)
        self._fit_rule(pairs)
        self.fit_report["settings"] = dict(self.settings)
        return self

    def _prepared(self, pairs: FitPairs) -> Iterator[tuple[np.ndarray, np.ndarray, State]]:
        skipped = 0
        for image, mask in pairs:
            try:
                state = self._prepare(image)
            except BaselineError:
                skipped += 1
                continue
            yield image, mask, state
        self.fit_report["skipped_images"] = skipped

    def _candidates(self) -> list[dict[str, Any]]:
        """Every combination of the open settings' candidates, closest to textbook first."""
        free = [key for key, value in self.given.items() if value is None]
        combos = [
            {**self.settings, **dict(zip(free, values, strict=True))}
            for values in itertools.product(*(self.tunable[key][1] for key in free))
        ]
        changed = [sum(c[k] != self.tunable[k][0] for k in free) for c in combos]
        return [combos[i] for i in sorted(range(len(combos)), key=lambda i: changed[i])]

    def _fit_detector(self, pairs: FitPairs) -> None:
        """Choose open settings by the best class-balanced detection IoU on train pairs.

        For each defect class ``c`` present in the train masks, ``IoU_c = |found & c| /
        (|c| + |found & background|)``: the IoU class ``c`` would get if every detection
        were named correctly (pixels of other defect classes count for neither side). The
        score is the mean over classes, so thin scratches weigh as much as large stains,
        as in mIoU. Among candidates within ``TIE`` of the best, the one changing fewest
        settings from the textbook values wins; with no defect pixel in the split, the one
        with the fewest false detections.
        """
        if not any(value is None for value in self.given.values()) or not len(pairs):
            return
        combos = self._candidates()
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
        present = np.flatnonzero(truth[1 : self.num_classes]) + 1
        false = hits[:, 0]
        if len(present):
            score = (hits[:, present] / (truth[present] + false[:, None])).mean(axis=1)
            best = next(i for i in range(len(combos)) if score[i] >= score.max() - TIE)
        else:
            score = np.zeros(len(combos))
            best = int(np.argmin(false))
        self.settings = combos[best]
        self.fit_report["train_detection_iou"] = float(score[best])

    def _train_regions(self, pairs: FitPairs) -> TrainRegions:
        features, counts, images = [], [], []
        truth = np.zeros(self.num_classes, np.int64)
        for index, (image, mask, state) in enumerate(self._prepared(pairs)):
            regions, count = self._segment(state)
            table = region_truth_counts(regions, count, mask, self.num_classes, IGNORE_INDEX)
            keep = table.sum(axis=1) > 0
            features.append(region_features(image, regions, count, FEATURE_SIGMA)[keep])
            counts.append(table[keep])
            images.append(np.full(int(keep.sum()), index))
            truth += np.bincount(mask.ravel(), minlength=256)[: self.num_classes]
        if not features:
            features = [np.zeros((0, len(FEATURE_NAMES)))]
            counts = [np.zeros((0, self.num_classes), np.int64)]
            images = [np.zeros(0, np.int64)]
        counts_all = np.concatenate(counts)
        return TrainRegions(
            np.concatenate(features),
            majority_of(counts_all),
            counts_all,
            np.concatenate(images),
            truth,
        )

    def _fit_rule(self, pairs: FitPairs) -> None:
        """Name regions with the learned rule when ``classify`` (or cross-validation) says so;
        otherwise every region gets the defect class with most train pixels."""
        if not len(pairs):
            self.rule.clear()
            return
        regions = self._train_regions(pairs)
        use = self.classify
        if use is None:
            use, rule_iou, plain_iou = rule_helps(regions, self.rule.template)
            self.fit_report["rule_cv_iou"] = {"rule": rule_iou, "plain": plain_iou}
        self.rule.clear(regions.plain_class)
        if use:
            self.rule.fit(regions.features, regions.labels)
        self.fit_report["train_regions"] = len(regions.labels)
        self.fit_report["region_rule"] = bool(self.rule.fitted)

    # -- prediction ----------------------------------------------------------------------
    def predict(self, image: np.ndarray) -> Prediction:
        """Segment one image; raises BaselineError for an image this baseline cannot handle."""
        image = check_image(image)
        state = self._prepare(image)
        regions, count = self._segment(state)
        meta = {"settings": dict(self.settings), **state.get("meta", {})}
        return self._name_regions(image, regions, count, meta, state.get("gray"))

    def _name_regions(
        self,
        image: np.ndarray,
        regions: np.ndarray,
        count: int,
        meta: dict,
        gray: np.ndarray | None = None,
    ) -> Prediction:
        shape = regions.shape
        if count == 0:
            empty = np.zeros(shape, np.uint8)
            return Prediction(empty, instances=Instances.empty(shape), meta=meta)
        pixels = region_pixels(regions)
        if self.rule.fitted:
            features = region_features(image, regions, count, FEATURE_SIGMA, pixels)
            classes, probability = self.rule.predict(features)
        else:
            classes, probability = self.rule.predict(np.zeros((count, 0)))
        classes = np.clip(classes, 0, self.num_classes - 1)
        if gray is None:
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        scores = instance_scores(gray, regions, count, probability)
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
        meta["region_rule"] = self.rule.fitted
        return Prediction(mask, instances=Instances(ids, classes[keep], scores[keep]), meta=meta)
