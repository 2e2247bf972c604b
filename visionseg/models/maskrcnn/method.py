"""A trained Mask R-CNN as a :class:`Method`: instances, their class mask, tiled, batched.

Images no larger than ``tile_size`` are detected whole (same-sized ones batched);
larger images are cut into overlapping tiles whose detections are shifted into image
coordinates and merged across seams (:mod:`visionseg.inference.instance_merge`), so an
object cut by a seam is one instance. Only detections scoring at least
``score_threshold`` are kept; on CUDA the network runs in bf16 autocast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from visionseg.inference.instance_merge import (
    Detection,
    detections_from_arrays,
    merge_across_seams,
    rasterize,
)
from visionseg.inference.tiling import tile_starts
from visionseg.methods.base import Method
from visionseg.methods.prediction import Prediction
from visionseg.methods.segmenter import resolve_device
from visionseg.models.maskrcnn.network import InstanceSegmenter


def detections_from_output(
    output: dict[str, torch.Tensor], score_threshold: float, mask_threshold: float
) -> list[Detection]:
    """torchvision's detections of one image as :class:`Detection` objects (on the CPU)."""
    keep = output["scores"] >= score_threshold
    masks = output["masks"][keep, 0].float().cpu().numpy()
    return detections_from_arrays(
        masks,
        output["scores"][keep].float().cpu().numpy(),
        output["labels"][keep].cpu().numpy(),
        score_threshold,
        mask_threshold,
    )


class MaskRCNNMethod(Method):
    """Runs an :class:`InstanceSegmenter`; predictions carry ``instances`` with scores."""

    def __init__(
        self,
        net: InstanceSegmenter,
        classes: Sequence[str],
        name: str = "maskrcnn",
        device: str = "auto",
        tile_size: int | None = 512,
        tile_overlap: int = 64,
        batch_size: int = 4,
        score_threshold: float = 0.5,
        mask_threshold: float = 0.5,
        merge_overlap: float = 0.5,
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
        self.score_threshold = score_threshold
        self.mask_threshold = mask_threshold
        self.merge_overlap = merge_overlap

    @torch.inference_mode()
    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections of each ``h x w x 3`` uint8 image, in its own coordinates."""
        batch = [torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).to(self.device)
                 for image in images]
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            outputs = self.net(batch)
        return [detections_from_output(out, self.score_threshold, self.mask_threshold)
                for out in outputs]

    def _fits(self, image: np.ndarray) -> bool:
        return self.tile_size is None or max(image.shape[:2]) <= self.tile_size

    def _prediction(self, detections: list[Detection], shape: tuple[int, int]) -> Prediction:
        mask, confidence, instances = rasterize(detections, shape, self.mask_threshold)
        return Prediction(mask=mask, confidence=confidence, instances=instances,
                          meta={"score_threshold": self.score_threshold})

    def predict_tiled(self, image: np.ndarray) -> Prediction:
        """Detect tile by tile and merge objects cut by seams."""
        height, width = image.shape[:2]
        tile = int(self.tile_size or max(height, width))
        th, tw = min(tile, height), min(tile, width)
        windows = [(y, x) for y in tile_starts(height, th, self.tile_overlap)
                   for x in tile_starts(width, tw, self.tile_overlap)]
        detections: list[Detection] = []
        for start in range(0, len(windows), self.batch_size):
            chunk = windows[start : start + self.batch_size]
            found = self.detect([image[y : y + th, x : x + tw] for y, x in chunk])
            for (y, x), dets in zip(chunk, found, strict=True):
                detections += [d.shifted(y, x, (y, x, y + th, x + tw)) for d in dets]
        merged = merge_across_seams(detections, self.mask_threshold, self.merge_overlap)
        return self._prediction(merged, (height, width))

    def predict(self, image: np.ndarray) -> Prediction:
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        results: list[Prediction | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):
            if self._fits(image):
                groups.setdefault(image.shape, []).append(i)
            else:
                results[i] = self.predict_tiled(image)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                found = self.detect([images[i] for i in chunk])
                for i, dets in zip(chunk, found, strict=True):
                    results[i] = self._prediction(dets, images[i].shape[:2])
        return results  # type: ignore[return-value]
