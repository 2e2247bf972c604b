"""Classical responses computed inside the network as extra input channels.

A network trained from scratch for a few thousand CPU steps learns slowly what a classical
filter gives for free: a pit or a crack is darker (or brighter) than its *local*
surroundings, whatever the lighting and the part's grey level. ``LocalContrast`` appends
the grey image minus its Gaussian-blurred self, and the same divided by the local standard
deviation, to the normalised image channels; ``RidgeResponse`` appends a multi-scale
Hessian line detector (dark and bright 1-4 px lines, the ridge baseline's filter) over the
same local deviation. Being part of ``forward`` (fixed, separable convolutions), the
channels are the same in training, evaluation, tiled inference and the ONNX export.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from visionseg.core.errors import ConfigError

#: Names accepted by ``model.input_features`` and the channels each adds.
FEATURES = {"local_contrast": 2, "ridge": 2}


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


def gaussian_derivatives(sigma: float) -> torch.Tensor:
    """``3 x K`` 1-D kernels: the Gaussian, its first and its second derivative."""
    g = gaussian_kernel(sigma)
    r = g.numel() // 2
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    d2 = (t**2 - sigma**2) / sigma**4 * g
    d2 = d2 - g * d2.sum()  # zero sum: a flat or linearly lit surface has no curvature
    return torch.stack([g, -t / sigma**2 * g, d2])


def separable(x: torch.Tensor, kx: torch.Tensor, ky: torch.Tensor) -> torch.Tensor:
    """``x`` (``B x 1 x H x W``) convolved by ``kx`` along rows, ``ky`` along columns,
    replicated borders."""
    r = kx.numel() // 2
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), kx.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), ky.view(1, 1, -1, 1))


class RidgeResponse(nn.Module):
    """``B x C x H x W`` images in 0..255 -> 2 channels: dark-line and bright-line strength.

    Per scale ``s`` in ``sigmas`` the Hessian eigenvalues of the grey image smoothed at ``s``
    (scale-normalised by ``s^2``): across a dark line the larger one is strongly positive,
    across a bright line the smaller one strongly negative. Each channel is the maximum over
    scales, divided by the local deviation of :class:`LocalContrast` (``context_sigma``) so
    a faint scratch on a quiet surface and a strong one on a busy texture read alike.
    """

    channels = 2

    def __init__(self, sigmas: tuple[float, ...] = (1.0, 2.0), context_sigma: float = 8.0
                 ) -> None:
        super().__init__()
        self.context = LocalContrast(context_sigma)
        self.sigmas = tuple(float(s) for s in sigmas)
        for i, s in enumerate(self.sigmas):
            self.register_buffer(f"d{i}", gaussian_derivatives(s), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.float().mean(dim=1, keepdim=True)
        local = grey - self.context.blur(grey)
        spread = torch.sqrt(self.context.blur(local * local).clamp_min(0.0)) + 4.0
        dark, bright = [], []
        for i, s in enumerate(self.sigmas):
            g, d1, d2 = getattr(self, f"d{i}").to(grey.dtype)
            xx, yy, xy = separable(grey, d2, g), separable(grey, g, d2), separable(grey, d1, d1)
            root = torch.sqrt((xx - yy) ** 2 + 4 * xy * xy + 1e-6)
            dark.append(F.relu(xx + yy + root) * (s * s / 2))  # s^2 x eigenvalue
            bright.append(F.relu(root - xx - yy) * (s * s / 2))
        dark_max = torch.stack(dark).amax(0)
        bright_max = torch.stack(bright).amax(0)
        return torch.cat([dark_max, bright_max], dim=1) / spread


def input_channels(features: nn.ModuleList, x: torch.Tensor) -> list[torch.Tensor]:
    """Every feature's channels of ``x``, computed in fp32 also inside bf16 autocast: a
    pit 2 grey levels deep is below bf16's resolution at grey level 200 (8 mantissa bits),
    so a blurred image in bf16 would bury it in rounding noise."""
    if not features:
        return []
    if torch.is_autocast_enabled(x.device.type):
        with torch.autocast(x.device.type, enabled=False):
            return [feature(x.float()) for feature in features]
    return [feature(x) for feature in features]


def build_features(names: list[str] | tuple[str, ...], sigma: float) -> nn.ModuleList:
    """The feature modules named in ``model.input_features`` (each name once)."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown or len(set(names)) != len(names):
        raise ConfigError(
            f"model.input_features: unknown or repeated {unknown or names}; "
            f"choose from {sorted(FEATURES)}"
        )
    builders = {"local_contrast": lambda: LocalContrast(sigma),
                "ridge": lambda: RidgeResponse(context_sigma=sigma)}
    return nn.ModuleList([builders[name]() for name in names])
