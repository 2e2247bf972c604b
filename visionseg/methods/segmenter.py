"""A trained segmentation network as a :class:`Method`: tiled, batched, on any device."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from visionseg.inference.tiling import predict_tiled
from visionseg.methods.base import Method
from visionseg.methods.prediction import Prediction


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; an unavailable CUDA is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device} was asked for, but no CUDA GPU is available")
    return torch.device(device)


class SegmenterMethod(Method):
    """Runs a network returning logits on ``B x 3 x h x w`` uint8 tensors.

    Images no larger than ``tile_size`` (or any image when ``tile_size`` is None) are
    predicted whole, same-sized ones batched together; larger ones go through
    :func:`predict_tiled`. Full probabilities are kept only while they take at most
    ``max_probs_bytes``; beyond that the prediction carries mask and confidence only.
    On CUDA the network runs in bf16 autocast with channels-last memory.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        classes: Sequence[str],
        name: str = "model",
        device: str = "auto",
        tile_size: int | None = 512,
        tile_overlap: int = 64,
        batch_size: int = 4,
        max_probs_bytes: int = 1 << 30,
        amp: bool = True,
    ) -> None:
        self.name = name
        self.classes = list(classes)
        self.device = resolve_device(device)
        self.net = net.to(self.device).eval()
        self.amp = amp and self.device.type == "cuda"
        if self.device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.batch_size = batch_size
        self.max_probs_bytes = max_probs_bytes

    @torch.inference_mode()
    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """``N x h x w x 3`` uint8 -> ``N x C x h x w`` float32 softmax probabilities."""
        batch = torch.from_numpy(np.ascontiguousarray(images)).to(self.device, non_blocking=True)
        batch = batch.permute(0, 3, 1, 2)
        if self.device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            logits = self.net(batch)
        return torch.softmax(logits.float(), dim=1).cpu().numpy()

    def _fits(self, image: np.ndarray) -> bool:
        return self.tile_size is None or max(image.shape[:2]) <= self.tile_size

    def _keep_probs(self, image: np.ndarray) -> bool:
        return image.shape[0] * image.shape[1] * self.num_classes * 4 <= self.max_probs_bytes

    def predict(self, image: np.ndarray) -> Prediction:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        results: list[Prediction | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):
            if self._fits(image):
                groups.setdefault(image.shape, []).append(i)
            else:
                mask, conf, probs = predict_tiled(
                    image,
                    self.probabilities,
                    self.num_classes,
                    tile=self.tile_size,
                    overlap=self.tile_overlap,
                    batch_size=self.batch_size,
                    keep_probs=self._keep_probs(image),
                )
                results[i] = Prediction(mask=mask, probs=probs, confidence=conf)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                probs = self.probabilities(np.stack([images[i] for i in chunk]))
                for i, p in zip(chunk, probs, strict=True):
                    results[i] = Prediction.from_probs(p)
        return results  # type: ignore[return-value]
