"""The post-processing interface: a Prediction (and its image) in, a cleaned Prediction out."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from visionseg.core.prediction import Prediction


class PostProcess(ABC):
    """One post-processing step, chainable after any method.

    ``name`` labels the step in reports ("morphology", "crf"). A step never changes its
    input; it returns a new Prediction whose mask, probabilities (when present),
    confidence and instances agree with each other.
    """

    name: str = "postprocess"

    @abstractmethod
    def __call__(self, image: np.ndarray, pred: Prediction) -> Prediction:
        """Post-process ``pred``, the prediction for the ``H x W x 3`` uint8 RGB ``image``."""


def check_shapes(image: np.ndarray, pred: Prediction, step: str) -> None:
    """A clear error when the image and the prediction do not belong together."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"{step}: expected an H x W x 3 uint8 RGB image, got {image.shape} {image.dtype}"
        )
    if image.shape[:2] != pred.shape:
        raise ValueError(f"{step}: image is {image.shape[:2]} but the prediction is {pred.shape}")
