"""A full-resolution path for 1-3 px defects.

smp's encoders halve the image in their first layer, so no skip connection of a U-Net
carries the input's own resolution: a 1-px crack reaches the head only through features
of half the resolution, and its predicted mask comes out blurred and too wide or not at
all. ``FullResHead`` adds a small two-convolution branch on the input at full resolution
and a head that sees it beside the decoder's output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class FullResHead(nn.Module):
    """``head(concat(decoder output at full size, stem(input)))`` -> logits.

    ``decoder_channels``: channels of the smp decoder's output (what its own head takes);
    ``channels``: width of the full-resolution branch.
    """

    def __init__(self, in_channels: int, decoder_channels: int, channels: int,
                 num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(in_channels, channels),
                                  conv_bn_relu(channels, channels))
        width = max(16, channels)
        self.head = nn.Sequential(conv_bn_relu(decoder_channels + channels, width),
                                  nn.Conv2d(width, num_classes, 1))

    def forward(self, x: torch.Tensor, decoded: torch.Tensor) -> torch.Tensor:
        if decoded.shape[-2:] != x.shape[-2:]:
            decoded = F.interpolate(decoded, size=x.shape[-2:], mode="bilinear",
                                    align_corners=False)
        return self.head(torch.cat([decoded, self.stem(x)], dim=1))


def decoder_out_channels(model: nn.Module) -> int:
    """Channels the smp model's segmentation head takes (its first convolution's input)."""
    for layer in model.segmentation_head.modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
    raise ValueError("model: the smp segmentation head has no convolution")
