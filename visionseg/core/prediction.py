"""What any method returns for one image, trained model or classical baseline alike."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class Instances:
    """Labelled objects in one image.

    ``labels`` is an ``H x W`` int32 label image (0 = no object, ``i`` = object ``i``);
    ``classes[i - 1]`` and ``scores[i - 1]`` are object ``i``'s class id and score.
    A label image keeps memory at one integer per pixel however many objects there are;
    where detectors overlap, the higher-scoring object owns the pixel.
    """

    labels: np.ndarray
    classes: np.ndarray
    scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int32)
        self.classes = np.asarray(self.classes, dtype=np.int64).reshape(-1)
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
            if len(self.scores) != len(self.classes):
                raise ValueError("Instances: scores and classes differ in length")

    def __len__(self) -> int:
        return len(self.classes)

    def masks(self) -> list[np.ndarray]:
        """Boolean mask of each object, in id order."""
        return [self.labels == i for i in range(1, len(self) + 1)]

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> Instances:
        return cls(np.zeros(shape, np.int32), np.zeros(0, np.int64), np.zeros(0, np.float64))


@dataclass
class Prediction:
    """A method's answer for one image.

    ``mask``: ``H x W`` uint8 class ids at the image's own resolution (always present).
    ``probs``: ``C x H x W`` float32 class probabilities, when the method has them.
    ``confidence``: ``H x W`` float32 probability of the chosen class, when known.
    ``instances``: labelled objects, for methods that separate them.
    ``meta``: free-form facts a method wants to report (e.g. a chosen threshold).
    """

    mask: np.ndarray
    probs: np.ndarray | None = None
    confidence: np.ndarray | None = None
    instances: Instances | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mask = np.asarray(self.mask, dtype=np.uint8)
        if self.mask.ndim != 2:
            raise ValueError(f"Prediction.mask must be 2-D, got shape {self.mask.shape}")
        shape = self.mask.shape
        if self.probs is not None and self.probs.shape[1:] != shape:
            raise ValueError(f"Prediction.probs {self.probs.shape} does not match mask {shape}")
        if self.confidence is not None and self.confidence.shape != shape:
            raise ValueError("Prediction.confidence does not match the mask")
        if self.instances is not None and self.instances.labels.shape != shape:
            raise ValueError("Prediction.instances.labels does not match the mask")

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    def with_(self, **changes) -> Prediction:
        """A copy with some fields replaced (post-processing builds on this)."""
        return replace(self, **changes)

    @classmethod
    def from_probs(cls, probs: np.ndarray, **kwargs) -> Prediction:
        """Build from ``C x H x W`` probabilities: argmax mask and its confidence."""
        probs = np.asarray(probs, dtype=np.float32)
        mask = probs.argmax(axis=0).astype(np.uint8)
        confidence = np.take_along_axis(probs, mask[None].astype(np.int64), axis=0)[0]
        return cls(mask=mask, probs=probs, confidence=confidence, **kwargs)

    @classmethod
    def from_probs_thresholded(
        cls, probs: np.ndarray, thresholds: dict[int, float], like: Prediction | None = None
    ) -> Prediction:
        """Mask from ``C x H x W`` probabilities where class ``c`` of ``thresholds`` wins a
        pixel when ``P(c) >= thresholds[c]`` (the most probable such class), else argmax
        of the other classes. Instances and meta are kept from ``like``."""
        probs = np.asarray(probs, dtype=np.float32)
        scores = probs.copy()
        for c, t in thresholds.items():
            scores[c] = np.where(probs[c] >= t, probs[c] + 2.0, -1.0)
        mask = scores.argmax(axis=0).astype(np.uint8)
        confidence = np.take_along_axis(probs, mask[None].astype(np.int64), axis=0)[0]
        extra = {} if like is None else {"instances": like.instances, "meta": dict(like.meta)}
        return cls(mask=mask, probs=probs, confidence=confidence, **extra)

