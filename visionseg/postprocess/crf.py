"""Fully connected CRF (Krähenbühl & Koltun) refinement with pydensecrf2.

The unary term is ``-log p`` of the method's class probabilities. Methods with hard labels
only get probabilities derived from their mask: ``hard_confidence`` for the predicted class,
the rest shared evenly among the other classes. Two pairwise terms follow: a Gaussian
(``gaussian_sxy``, ``gaussian_compat``) that removes isolated pixels, and a bilateral one
(``bilateral_sxy`` position scale, ``bilateral_srgb`` colour scale, ``bilateral_compat``)
that pulls labels onto colour edges. The output has the refined mask and confidence, and
its probabilities where the input had them; instances follow the mask.

Inference time grows with the pixel count (about 20 s for a 2048 x 2048 image on one CPU
core). ``max_pixels`` bounds it: larger images are refined at a reduced resolution, with the
spatial scales ``*_sxy`` shrunk alike, and the refined probabilities are resized back.
Structures thinner than the reduction factor can be lost, so it is off by default.

pydensecrf2 is an optional extra: ``pip install -e ".[crf]"``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from visionseg.core.checks import check_fraction, check_int, check_number
from visionseg.core.prediction import Prediction
from visionseg.postprocess.base import PostProcess, check_shapes
from visionseg.postprocess.instances import sync_instances

INSTALL_HINT = 'pip install -e ".[crf]"'
MIN_PROB = 1e-6


def _load_densecrf() -> Any:
    try:
        import pydensecrf.densecrf as densecrf
    except ImportError as err:
        raise ImportError(
            f"dense CRF post-processing needs the pydensecrf2 package: {INSTALL_HINT}"
        ) from err
    return densecrf


def hard_probabilities(mask: np.ndarray, num_classes: int, confidence: float) -> np.ndarray:
    """``C x H x W`` probabilities from class ids: ``confidence`` on the predicted class."""
    rest = (1.0 - confidence) / (num_classes - 1)
    probs = np.full((num_classes, *mask.shape), rest, np.float32)
    np.put_along_axis(probs, mask[None].astype(np.int64), np.float32(confidence), axis=0)
    return probs


class DenseCRF(PostProcess):
    """Dense CRF refinement; raises ImportError naming the extra when pydensecrf2 is missing."""

    def __init__(
        self,
        iterations: int = 5,
        gaussian_sxy: float = 3.0,
        gaussian_compat: float = 3.0,
        bilateral_sxy: float = 10.0,
        bilateral_srgb: float = 10.0,
        bilateral_compat: float = 10.0,
        hard_confidence: float = 0.7,
        max_pixels: int | None = None,
        name: str = "crf",
    ) -> None:
        where = f"postprocess.{name}"  # checked before pydensecrf2 is imported
        self.iterations = check_int(f"{where}.iterations", iterations, 1)
        self.gaussian_sxy = check_number(f"{where}.gaussian_sxy", gaussian_sxy, above=True)
        self.gaussian_compat = check_number(f"{where}.gaussian_compat", gaussian_compat)
        self.bilateral_sxy = check_number(f"{where}.bilateral_sxy", bilateral_sxy, above=True)
        self.bilateral_srgb = check_number(f"{where}.bilateral_srgb", bilateral_srgb,
                                           above=True)
        self.bilateral_compat = check_number(f"{where}.bilateral_compat", bilateral_compat)
        self.hard_confidence = check_fraction(f"{where}.hard_confidence", hard_confidence,
                                              low_open=True, high_open=True)
        self.max_pixels = check_int(f"{where}.max_pixels", max_pixels, 1024, optional=True)
        self.name = name
        self.densecrf = _load_densecrf()

    def refine(self, image: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Mean-field CRF inference: ``C x H x W`` probabilities in, refined ones out."""
        num_classes, height, width = probs.shape
        if self.max_pixels is None or height * width <= self.max_pixels:
            return self._refine(image, probs, 1.0)
        factor = (self.max_pixels / (height * width)) ** 0.5
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        small_probs = _resize_probs(probs, size, cv2.INTER_AREA)
        refined = self._refine(small_image, small_probs, factor)
        refined = _resize_probs(refined, (width, height), cv2.INTER_LINEAR)
        return refined / np.maximum(refined.sum(axis=0, keepdims=True), MIN_PROB)

    def _refine(self, image: np.ndarray, probs: np.ndarray, scale: float) -> np.ndarray:
        num_classes, height, width = probs.shape
        unary = -np.log(np.clip(probs, MIN_PROB, 1.0)).reshape(num_classes, -1)
        crf = self.densecrf.DenseCRF2D(width, height, num_classes)
        crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
        crf.addPairwiseGaussian(sxy=self.gaussian_sxy * scale, compat=self.gaussian_compat)
        crf.addPairwiseBilateral(
            sxy=self.bilateral_sxy * scale,
            srgb=self.bilateral_srgb,
            rgbim=np.ascontiguousarray(image),
            compat=self.bilateral_compat,
        )
        refined = crf.inference(self.iterations)
        return np.asarray(refined, dtype=np.float32).reshape(num_classes, height, width)

    def __call__(self, image: np.ndarray, pred: Prediction) -> Prediction:
        check_shapes(image, pred, self.name)
        if pred.probs is not None:
            refined = self.refine(image, pred.probs)
            out = Prediction.from_probs(refined, meta=dict(pred.meta))
        else:
            num_classes = int(pred.mask.max()) + 1
            if num_classes < 2:
                return pred.with_(meta=dict(pred.meta))
            probs = hard_probabilities(pred.mask, num_classes, self.hard_confidence)
            full = Prediction.from_probs(self.refine(image, probs))
            out = Prediction(full.mask, confidence=full.confidence, meta=dict(pred.meta))
        return out.with_(instances=sync_instances(pred.instances, out.mask))


def _resize_probs(probs: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """``C x H x W`` probabilities resized to ``size`` (width, height), channel by channel."""
    return np.stack([cv2.resize(channel, size, interpolation=interpolation) for channel in probs])
