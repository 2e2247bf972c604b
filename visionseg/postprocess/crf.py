"""Fully connected CRF (Krähenbühl & Koltun) refinement with pydensecrf2.

The unary term is ``-log p`` of the method's class probabilities. Methods with hard labels
only get probabilities derived from their mask: ``hard_confidence`` for the predicted class,
the rest shared evenly among the other classes. Two pairwise terms follow: a Gaussian
(``gaussian_sxy``, ``gaussian_compat``) that removes isolated pixels, and a bilateral one
(``bilateral_sxy`` position scale, ``bilateral_srgb`` colour scale, ``bilateral_compat``)
that pulls labels onto colour edges. The output has the refined mask and confidence, and
its probabilities where the input had them; instances follow the mask.

pydensecrf2 is an optional extra: ``pip install -e ".[crf]"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visionseg.methods.prediction import Prediction
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
        name: str = "crf",
    ) -> None:
        if not 0.0 < hard_confidence < 1.0:
            raise ValueError(f"hard_confidence must be in (0, 1), got {hard_confidence}")
        self.densecrf = _load_densecrf()
        self.iterations = int(iterations)
        self.gaussian_sxy = float(gaussian_sxy)
        self.gaussian_compat = float(gaussian_compat)
        self.bilateral_sxy = float(bilateral_sxy)
        self.bilateral_srgb = float(bilateral_srgb)
        self.bilateral_compat = float(bilateral_compat)
        self.hard_confidence = float(hard_confidence)
        self.name = name

    def refine(self, image: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Mean-field CRF inference: ``C x H x W`` probabilities in, refined ones out."""
        num_classes, height, width = probs.shape
        unary = -np.log(np.clip(probs, MIN_PROB, 1.0)).reshape(num_classes, -1)
        crf = self.densecrf.DenseCRF2D(width, height, num_classes)
        crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
        crf.addPairwiseGaussian(sxy=self.gaussian_sxy, compat=self.gaussian_compat)
        crf.addPairwiseBilateral(
            sxy=self.bilateral_sxy,
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
