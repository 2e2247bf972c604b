"""What every network shares as a :class:`Method`: batching and the tiling choice, and for
torch networks the device."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
import torch

from visionseg.core.errors import ConfigError
from visionseg.core.method import Method
from visionseg.core.prediction import Prediction
from visionseg.core.tile_settings import balanced_tile


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; an unavailable CUDA is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device} was asked for, but no CUDA GPU is available")
    return torch.device(device)


class BatchedMethod(Method):
    """Batching and the whole-or-tiled choice every network shares (torch or ONNX Runtime).

    With ``max_whole_pixels`` set (``tile.size=auto``), images of at most that many pixels
    are predicted whole; else images no larger than ``tile_size`` (or any image when it is
    None). Same-sized whole images go ``batch_size`` at a time, fewer when the batch would
    pass the pixel budget (:meth:`predict_whole`); larger ones tile by tile
    (:meth:`predict_large`).
    """

    tile_size: int | None = 512
    tile_overlap: int = 64
    batch_size: int = 4
    max_whole_pixels: int | None = None

    @abstractmethod
    def predict_whole(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        """Predictions of same-sized images that each fit in one tile."""

    @abstractmethod
    def predict_large(self, image: np.ndarray) -> Prediction:
        """Prediction of one image larger than a tile."""

    def _fits(self, image: np.ndarray) -> bool:
        if self.max_whole_pixels is not None:
            return image.shape[0] * image.shape[1] <= self.max_whole_pixels
        return self.tile_size is None or max(image.shape[:2]) <= self.tile_size

    def tile_for(self, image: np.ndarray) -> int:
        """The tile side for an image too large to run whole: ``tile_size`` as set, or
        (``tile.size=auto``) balanced to the image, no larger than ``tile_size``."""
        height, width = image.shape[:2]
        if self.tile_size is None:
            return max(height, width)
        if self.max_whole_pixels is None:
            return int(self.tile_size)
        return balanced_tile(height, width, int(self.tile_size), int(self.tile_overlap))

    def _chunk(self, image: np.ndarray) -> int:
        """How many whole images of this shape go in one batch."""
        if self.max_whole_pixels is None:
            return self.batch_size
        return max(1, min(self.batch_size,
                          self.max_whole_pixels // (image.shape[0] * image.shape[1])))

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
            step = self._chunk(images[indices[0]])
            for start in range(0, len(indices), step):
                chunk = indices[start : start + step]
                preds = self.predict_whole([images[i] for i in chunk])
                for i, pred in zip(chunk, preds, strict=True):
                    results[i] = pred
        return results  # type: ignore[return-value]


PRECISIONS = ("auto", "fp32", "bf16")


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether a network runs in bf16 autocast: ``auto`` on CUDA only, ``bf16`` anywhere.

    On CPU ``auto`` stays fp32 although bf16 is faster where the CPU has AVX512-BF16 or
    AMX (benchmarks/latency.py: 1.8x on an AMD EPYC with AVX512-BF16): the verdict on the
    line must be the one the fp32 ONNX export and the report give, so CPU bf16 is asked
    for by name (``precision=bf16``).
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


class NetworkMethod(BatchedMethod):
    """A torch network on a device, in eval mode, in bf16 autocast where :func:`use_bf16`
    says so."""

    def __init__(
        self,
        net: torch.nn.Module,
        classes: Sequence[str],
        name: str,
        device: str = "auto",
        tile_size: int | None = 512,
        tile_overlap: int = 64,
        batch_size: int = 4,
        precision: str = "auto",
        max_whole_pixels: int | None = None,
    ) -> None:
        self.name = name
        self.classes = list(classes)
        self.device = resolve_device(device)
        self.net = net.to(self.device).eval()
        self.amp = use_bf16(precision, self.device)
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.batch_size = batch_size
        self.max_whole_pixels = max_whole_pixels
