"""A trained Mask R-CNN as a :class:`Method`: instances, their class mask, tiled, batched.

Images no larger than ``tile_size`` are detected whole (same-sized ones batched);
larger images are cut into overlapping tiles whose detections are shifted into image
coordinates and merged across seams (:mod:`visionseg.core.instance_merge`), so an
object cut by a seam is one instance. Only detections scoring at least
``score_threshold`` are kept; on CUDA the network runs in bf16 autocast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from visionseg.core.checks import check_fraction
from visionseg.core.instance_merge import (
    Detection,
    detections_from_arrays,
    merge_across_seams,
    paint_instances,
)
from visionseg.core.model_card import ModelCard
from visionseg.core.network import NetworkMethod
from visionseg.core.prediction import Prediction
from visionseg.core.tiling import tile_starts
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


class MaskRCNNMethod(NetworkMethod):
    """Runs an :class:`InstanceSegmenter`; predictions carry ``instances`` with scores."""

    def __init__(
        self,
        net: InstanceSegmenter,
        classes: Sequence[str],
        name: str = "maskrcnn",
        device: str = "auto",
        tile_size: int | None = 512,
        tile_overlap: int = 64,
        max_whole_pixels: int | None = None,
        batch_size: int = 4,
        score_threshold: float = 0.5,
        mask_threshold: float = 0.5,
        merge_overlap: float = 0.5,
        precision: str = "auto",
        card: ModelCard | None = None,
    ) -> None:
        super().__init__(net, classes, name, device, tile_size, tile_overlap, batch_size, precision,
                         max_whole_pixels)
        self.card = card
        self.score_threshold = check_fraction("score_threshold", score_threshold)
        self.mask_threshold = check_fraction("mask_threshold", mask_threshold)
        self.merge_overlap = merge_overlap

    def output_settings(self) -> dict[str, Any]:
        """The detection thresholds, for infer.py's ``summary.json``."""
        return {"score_threshold": self.score_threshold, "mask_threshold": self.mask_threshold}

    @torch.inference_mode()
    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections of each ``h x w x 3`` uint8 image, in its own coordinates."""
        batch = [torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).to(self.device)
                 for image in images]
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            outputs = self.net(batch)
        return [detections_from_output(out, self.score_threshold, self.mask_threshold)
                for out in outputs]

    def _prediction(self, detections: list[Detection], shape: tuple[int, int]) -> Prediction:
        mask, confidence, instances = paint_instances(detections, shape, self.mask_threshold)
        return Prediction(mask=mask, confidence=confidence, instances=instances,
                          meta={"score_threshold": self.score_threshold})

    def predict_large(self, image: np.ndarray) -> Prediction:
        """Detect tile by tile and merge objects cut by seams."""
        height, width = image.shape[:2]
        tile = self.tile_for(image)
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

    def predict_whole(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        found = self.detect(images)
        return [self._prediction(dets, image.shape[:2]) for dets, image in
                zip(found, images, strict=True)]
