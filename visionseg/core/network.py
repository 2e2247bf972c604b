"""What every network shares as a :class:`Method`: batching and the tiling choice, and for
torch networks the device."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
import torch

from visionseg.core.method import Method
from visionseg.core.prediction import Prediction


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; an unavailable CUDA is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device} was asked for, but no CUDA GPU is available")
    return torch.device(device)


class BatchedMethod(Method):
    """Batching and the whole-or-tiled choice every network shares (torch or ONNX Runtime).

    Images no larger than ``tile_size`` (or any image when it is None) are predicted whole,
    same-sized ones ``batch_size`` at a time (:meth:`predict_whole`); larger ones tile by
    tile (:meth:`predict_large`).
    """

    tile_size: int | None = 512
    tile_overlap: int = 64
    batch_size: int = 4

    @abstractmethod
    def predict_whole(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        """Predictions of same-sized images that each fit in one tile."""

    @abstractmethod
    def predict_large(self, image: np.ndarray) -> Prediction:
        """Prediction of one image larger than a tile."""

    def _fits(self, image: np.ndarray) -> bool:
        return self.tile_size is None or max(image.shape[:2]) <= self.tile_size

    def predict(self, image: np.ndarray) -> Prediction:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        results: list[Prediction | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):
            if self._fits(image):
                groups.setdefault(image.shape, []).append(i)
            else:
                results[i] = self.predict_large(image)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                preds = self.predict_whole([images[i] for i in chunk])
                for i, pred in zip(chunk, preds, strict=True):
                    results[i] = pred
        return results  # type: ignore[return-value]


class NetworkMethod(BatchedMethod):
    """A torch network on a device, in eval mode, bf16 autocast on CUDA."""

    def __init__(
        self,
        net: torch.nn.Module,
        classes: Sequence[str],
        name: str,
        device: str = "auto",
        tile_size: int | None = 512,
        tile_overlap: int = 64,
        batch_size: int = 4,
        amp: bool = True,
    ) -> None:
        self.name = name
        self.classes = list(classes)
        self.device = resolve_device(device)
        self.net = net.to(self.device).eval()
        self.amp = amp and self.device.type == "cuda"
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.batch_size = batch_size
