"""Classical responses computed inside the network as extra input channels.

A network trained from scratch for a few thousand CPU steps learns slowly what a classical
filter gives for free: a pit or a crack is darker (or brighter) than its *local*
surroundings, whatever the lighting and the part's grey level. ``LocalContrast`` appends
the grey image minus its Gaussian-blurred self, and the same divided by the local standard
deviation, to the normalised image channels. Being part of ``forward`` (fixed, separable
convolutions), the channels are the same in training, evaluation, tiled inference and the
ONNX export.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from visionseg.core.errors import ConfigError

#: Names accepted by ``model.input_features`` and the channels each adds.
FEATURES = {"local_contrast": 2}


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """1-D Gaussian of radius ``3 sigma``, summing to one."""
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    return kernel / kernel.sum()


class LocalContrast(nn.Module):
    """``B x C x H x W`` images in 0..255 -> the 2 channels ``(g - blur(g)) / 16`` and
    ``(g - blur(g)) / (local std + 4)`` of the grey image ``g`` (channel mean).

    ``sigma`` (pixels) sets what "local" means: larger than the defects to find, smaller
    than the lighting's variation (8 px suits pits and cracks of 1-30 px).
    """

    channels = 2

    def __init__(self, sigma: float = 8.0) -> None:
        super().__init__()
        if not 0.5 <= float(sigma) <= 64.0:
            raise ConfigError(f"model.contrast_sigma must be in [0.5, 64] pixels, got {sigma}")
        self.sigma = float(sigma)
        self.register_buffer("kernel", gaussian_kernel(self.sigma), persistent=False)

    def blur(self, x: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian blur with replicated borders (``B x 1 x H x W``)."""
        k = self.kernel.to(x.dtype)
        r = k.numel() // 2
        x = F.pad(x, (r, r, 0, 0), mode="replicate")
        x = F.conv2d(x, k.view(1, 1, 1, -1))
        x = F.pad(x, (0, 0, r, r), mode="replicate")
        return F.conv2d(x, k.view(1, 1, -1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.float().mean(dim=1, keepdim=True)
        local = grey - self.blur(grey)
        spread = torch.sqrt(self.blur(local * local).clamp_min(0.0)) + 4.0
        return torch.cat([local / 16.0, local / spread], dim=1)


def build_features(names: list[str] | tuple[str, ...], sigma: float) -> nn.ModuleList:
    """The feature modules named in ``model.input_features`` (each name once)."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown or len(set(names)) != len(names):
        raise ConfigError(
            f"model.input_features: unknown or repeated {unknown or names}; "
            f"choose from {sorted(FEATURES)}"
        )
    return nn.ModuleList([LocalContrast(sigma) for _ in names])
