"""Batched augmentation on the training device: flips, rot90, affine, brightness/contrast.

The loader workers then only decode (or read from the RAM cache) and crop, so a handful of
CPU cores can feed a fast GPU: the geometric and photometric work runs once per batch on
the device instead of once per image in Python. Every sample draws its own parameters, as
albumentations does per image. Masks are warped with nearest-neighbour sampling and pixels
that come from outside the crop get the ignore value, so they add nothing to the loss.

torchvision's v2 transforms draw one set of parameters per call (the whole batch turns
alike), which is why this is written with ``affine_grid``/``grid_sample`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from visionseg.data.folder import IGNORE_INDEX


class DeviceAugment(torch.nn.Module):
    """Random per-sample augmentation of ``uint8 B x C x H x W`` images and ``B x H x W`` masks.

    Probabilities and ranges mean what albumentations' ``HorizontalFlip``, ``VerticalFlip``,
    ``RandomRotate90`` (square crops only), ``Affine(scale, translate_percent, rotate)`` and
    ``RandomBrightnessContrast`` mean by them. ``seed`` plus the process rank
    (:meth:`set_rank`) seeds a generator on the batch's device, so runs repeat. Choices
    are made with ``torch.where``, never with data-dependent indexing, so a CUDA batch is
    augmented without a device-to-host synchronisation.
    """

    def __init__(
        self,
        hflip: float = 0.5,
        vflip: float = 0.5,
        rot90: float = 0.5,
        affine: float = 0.3,
        scale: Sequence[float] = (0.9, 1.1),
        translate: Sequence[float] = (-0.05, 0.05),
        rotate: Sequence[float] = (-10.0, 10.0),
        photometric: float = 0.5,
        brightness: float = 0.15,
        contrast: float = 0.15,
        ignore_index: int = IGNORE_INDEX,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, p in (("hflip", hflip), ("vflip", vflip), ("rot90", rot90),
                        ("affine", affine), ("photometric", photometric)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"DeviceAugment: {name} probability {p} is not in [0, 1]")
        self.hflip, self.vflip, self.rot90 = hflip, vflip, rot90
        self.affine, self.photometric = affine, photometric
        self.scale = tuple(float(v) for v in scale)
        self.translate = tuple(float(v) for v in translate)
        self.rotate = tuple(float(v) for v in rotate)
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.ignore_index = ignore_index
        self.seed = int(seed)
        self.rank = 0
        self._generator: torch.Generator | None = None

    def set_rank(self, rank: int) -> None:
        """Give each distributed process its own random stream."""
        if rank != self.rank:
            self.rank, self._generator = rank, None

    def _rand(self, n: int, device: torch.device, low: float = 0.0, high: float = 1.0):
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(self.seed + 1_000_003 * self.rank)
        values = torch.rand(n, device=device, generator=self._generator)
        return low + (high - low) * values

    @torch.no_grad()
    def forward(
        self, images: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if images.dtype != torch.uint8 or images.ndim != 4 or masks.shape != (
            images.shape[0], *images.shape[2:]
        ):
            raise ValueError(
                "DeviceAugment expects uint8 B x C x H x W images and B x H x W masks, got "
                f"{images.dtype} {tuple(images.shape)} and {tuple(masks.shape)}"
            )
        n, device = images.shape[0], images.device
        for p, dims in ((self.hflip, (-1,)), (self.vflip, (-2,))):
            chosen = self._rand(n, device) < p
            images = _pick(chosen, images.flip(dims), images)
            masks = _pick(chosen, masks.flip(dims), masks)
        chosen = self._rand(n, device) < self.rot90
        turns = (self._rand(n, device) * 4).long().clamp_(max=3)
        if images.shape[-1] == images.shape[-2]:
            for k in (1, 2, 3):
                pick = chosen & (turns == k)
                images = _pick(pick, images.rot90(k, (-2, -1)), images)
                masks = _pick(pick, masks.rot90(k, (-2, -1)), masks)
        chosen = self._rand(n, device) < self.affine
        if self.affine > 0:
            warped_images, warped_masks = self._warp(images, masks, chosen)
            images = _pick(chosen, warped_images, images)
            masks = _pick(chosen, warped_masks, masks)
        chosen = self._rand(n, device) < self.photometric
        alpha = 1.0 + self._rand(n, device, -self.contrast, self.contrast)
        beta = 255.0 * self._rand(n, device, -self.brightness, self.brightness)
        if self.photometric > 0:
            alpha = torch.where(chosen, alpha, 1.0)[:, None, None, None]
            beta = torch.where(chosen, beta, 0.0)[:, None, None, None]
            images = (images.float() * alpha + beta).round_().clamp_(0, 255).to(torch.uint8)
        return images, masks

    def _warp(
        self, images: torch.Tensor, masks: torch.Tensor, chosen: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate, scale and shift the ``chosen`` samples about the centre (the others get
        the identity); outside pixels become 0 / ignore."""
        n, _, height, width = images.shape
        device = images.device
        angle = self._rand(n, device, *self.rotate) * (math.pi / 180.0) * chosen
        scale = torch.where(chosen, self._rand(n, device, *self.scale), 1.0)
        shift_x = self._rand(n, device, *self.translate) * width * chosen
        shift_y = self._rand(n, device, *self.translate) * height * chosen
        # Pixel-space forward map p_out = s R p_in + t, inverted for affine_grid (which maps
        # output to input) and expressed in its normalised [-1, 1] coordinates.
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        half_w, half_h = width / 2.0, height / 2.0
        theta = torch.zeros(n, 2, 3, device=device)
        theta[:, 0, 0] = cos
        theta[:, 0, 1] = sin * half_h / half_w
        theta[:, 1, 0] = -sin * half_w / half_h
        theta[:, 1, 1] = cos
        theta[:, 0, 2] = -(cos * shift_x + sin * shift_y) / half_w
        theta[:, 1, 2] = -(-sin * shift_x + cos * shift_y) / half_h
        grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
        warped = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros",
                               align_corners=False)
        labels = F.grid_sample((masks + 1).unsqueeze(1).float(), grid, mode="nearest",
                               padding_mode="zeros", align_corners=False)
        labels = labels.squeeze(1).long() - 1
        labels = labels.masked_fill_(labels < 0, self.ignore_index).to(masks.dtype)
        return warped.round_().clamp_(0, 255).to(torch.uint8), labels


def _pick(chosen: torch.Tensor, changed: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Per-sample choice without a device-to-host sync (boolean indexing would sync)."""
    return torch.where(chosen.view(-1, *([1] * (changed.ndim - 1))), changed, kept)
