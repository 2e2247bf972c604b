"""The exported graph: uint8 image to class-id mask, confidence and probabilities.

Everything between the camera image and the answer is inside, so the line PC needs no
torch code: channels-last uint8 to float, normalisation, replicate padding to the
encoder's stride (always emitted, possibly of zero pixels, so no size is baked into the
graph), the network, the crop back, softmax, and the part rule's per-class pixel
thresholds (a class wins a pixel when its probability reaches its threshold, as
:meth:`visionseg.core.prediction.Prediction.from_probs_thresholded` decides).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

INPUT = "image"
OUTPUTS = ("mask", "confidence", "probs")


class ExportGraph(nn.Module):
    """``B x H x W x 3`` uint8 -> ``mask`` (B x H x W uint8), ``confidence`` (B x H x W
    float32, probability of the chosen class), ``probs`` (B x C x H x W float32).

    ``net`` is a :class:`visionseg.models.smp.network.Segmenter` (its ``padded_logits``
    and ``stride``); ``thresholds`` maps class ids to pixel thresholds.
    """

    def __init__(self, net: nn.Module, num_classes: int,
                 thresholds: Mapping[int, float] | None = None) -> None:
        super().__init__()
        self.net = net
        self.stride = int(net.stride)
        value = torch.full((num_classes,), 2.0)  # never reached: argmax decides
        for class_id, threshold in (thresholds or {}).items():
            value[int(class_id)] = float(threshold)
        self.register_buffer("thresholds", value.view(1, -1, 1, 1))
        self.register_buffer("thresholded", (value <= 1.0).view(1, -1, 1, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = image.permute(0, 3, 1, 2).float()
        height, width = x.shape[-2], x.shape[-1]
        pad_h = (self.stride - height % self.stride) % self.stride
        pad_w = (self.stride - width % self.stride) % self.stride
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        logits = self.net.padded_logits(x)[:, :, :height, :width]
        probs = torch.softmax(logits, dim=1)
        reached = torch.where(probs >= self.thresholds, probs + 2.0, -1.0)
        scores = torch.where(self.thresholded, reached, probs)
        mask = scores.argmax(dim=1, keepdim=True)
        confidence = torch.gather(probs, 1, mask)[:, 0]
        return mask[:, 0].to(torch.uint8), confidence, probs
