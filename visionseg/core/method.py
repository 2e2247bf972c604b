"""The Method interface: what evaluation, inference and the report rely on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from visionseg.core.model_card import ModelCard
from visionseg.core.prediction import Prediction


class Method(ABC):
    """Turns an ``H x W x 3`` uint8 RGB image into a :class:`Prediction`.

    Subclasses set ``name`` (shown in reports) and ``classes`` (class names, index = id,
    0 = background). A trained model's ``card`` is what it carries to the line (its 16-bit
    reading policy, calibrated rule, line reference); None for a baseline. ``fit`` learns
    whatever the method learns from a training split (a trained model has nothing to learn
    here); it must never see the evaluated split.
    """

    name: str = "method"
    classes: list[str]
    card: ModelCard | None = None

    def fit(self, samples: Iterable[tuple[np.ndarray, np.ndarray]]) -> Method:
        """Learn settings from ``(image, mask)`` pairs of the train split. Default: nothing."""
        return self

    @abstractmethod
    def predict(self, image: np.ndarray) -> Prediction:
        """Segment one image at its own resolution."""

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        """Segment several images; models override this to batch on the device."""
        return [self.predict(image) for image in images]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def output_settings(self) -> dict[str, Any]:
        """Settings of this method a user may change that change its output (Mask R-CNN's
        ``score_threshold``), written into infer.py's ``summary.json`` so a result says
        how it was made. Default: none."""
        return {}
