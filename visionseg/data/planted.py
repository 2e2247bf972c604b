"""Defects planted on unlabelled good images: the pretext task of self-supervised
pre-training (as DRAEM and CutPaste do for anomaly detection).

A factory line has many images of good parts and few labelled defects. Drawing generic
defects (thin curves of varying width, soft blobs, pasted patches of the same surface) at
contrasts measured in units of the image's own variation, and training the network to find
them, teaches the encoder what deviates from *this* surface before it sees a single label.
The shapes are generic on purpose: random-walk curves, not the shapes of any data set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from visionseg.core.errors import ConfigError, settings_from
from visionseg.data.settings import check_fraction, check_int, check_range

KINDS = ("curve", "blob", "patch")


@dataclass(frozen=True)
class PlantSettings:
    """What :func:`plant_defects` draws; every number is range-checked here.

    ``contrast``: amplitude range in standard deviations of the image's grey levels.
    ``curve_width``: curve thickness in pixels. ``curve_length``: fraction of the image's
    shorter side. ``blob_size``: blob half-axes, same unit. ``kinds``: relative frequency
    of curves, blobs and pasted patches. ``p_clean``: share of images left as they are.
    """

    max_defects: int = 3
    contrast: tuple[float, float] = (0.3, 4.0)
    curve_width: tuple[int, int] = (1, 4)
    curve_length: tuple[float, float] = (0.1, 0.7)
    blob_size: tuple[float, float] = (0.02, 0.12)
    kinds: tuple[float, float, float] = (0.6, 0.25, 0.15)
    p_clean: float = 0.2

    def __post_init__(self) -> None:
        check_int("data.planted.max_defects", self.max_defects, 1)
        check_range("data.planted.contrast", self.contrast, 0.0, 20.0)
        check_range("data.planted.curve_width", self.curve_width, 1, 64)
        check_range("data.planted.curve_length", self.curve_length, 0.0, 2.0)
        check_range("data.planted.blob_size", self.blob_size, 0.0, 0.5)
        weights = [float(w) for w in self.kinds]
        if len(weights) != len(KINDS) or min(weights) < 0 or sum(weights) <= 0:
            raise ConfigError(f"data.planted.kinds must be {len(KINDS)} weights >= 0 for "
                             f"{list(KINDS)} with a positive sum, got {list(self.kinds)}")
        check_fraction("data.planted.p_clean", self.p_clean, high_open=True)

    @classmethod
    def from_any(cls, value: PlantSettings | Mapping[str, Any] | None) -> PlantSettings:
        if isinstance(value, PlantSettings):
            return value
        options = {k: tuple(v) if isinstance(v, list | tuple) else v
                   for k, v in dict(value or {}).items()}
        return settings_from(cls, options, "data.planted")


def plant_defects(
    image: np.ndarray, rng: np.random.Generator, settings: PlantSettings | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (uint8 H x W x 3) with 0..``max_defects`` planted defects, and their mask
    (bool H x W). The input is not changed."""
    settings = settings or PlantSettings()
    out = image.astype(np.float32)
    mask = np.zeros(image.shape[:2], bool)
    if rng.random() < settings.p_clean:
        return image.copy(), mask
    scale = max(float(out.mean(axis=2).std()), 4.0)
    weights = np.asarray(settings.kinds, float) / sum(settings.kinds)
    for _ in range(int(rng.integers(1, settings.max_defects + 1))):
        kind = KINDS[int(rng.choice(len(KINDS), p=weights))]
        if kind == "patch":
            region = _patch(rng, out, image, settings)
        else:
            region, layer = (_curve if kind == "curve" else _blob)(rng, image.shape[:2], settings)
            amplitude = rng.uniform(*settings.contrast) * scale * rng.choice([-1.0, 1.0])
            out += layer[..., None] * (amplitude * _tint(rng))[None, None, :]
        mask |= region
    return np.clip(out, 0, 255).astype(np.uint8), mask


def _tint(rng: np.random.Generator) -> np.ndarray:
    """Grey half of the time, else a random colour direction (unit mean)."""
    if rng.random() < 0.5:
        return np.ones(3, np.float32)
    colour = rng.uniform(0.3, 1.7, 3).astype(np.float32)
    return colour / colour.mean()


def _curve(rng: np.random.Generator, shape: tuple[int, int], settings: PlantSettings
           ) -> tuple[np.ndarray, np.ndarray]:
    """A random-walk curve: heading changes by small random turns along its length."""
    height, width = shape
    length = rng.uniform(*settings.curve_length) * min(shape)
    steps = max(2, int(length / 4))
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.12, steps))
    start = rng.uniform((0, 0), (width, height))
    points = start + np.cumsum(4 * np.stack([np.cos(heading), np.sin(heading)], 1), 0)
    layer = np.zeros(shape, np.uint8)
    thickness = int(rng.integers(settings.curve_width[0], settings.curve_width[1] + 1))
    cv2.polylines(layer, [np.round(points).astype(np.int32)], False, 1, thickness=thickness)
    soft = layer.astype(np.float32)
    if rng.random() < 0.5:  # a softer edge half of the time
        soft = np.maximum(soft, cv2.GaussianBlur(soft, (0, 0), 0.7) * 0.8)
    return layer > 0, soft


def _blob(rng: np.random.Generator, shape: tuple[int, int], settings: PlantSettings
          ) -> tuple[np.ndarray, np.ndarray]:
    """A soft-edged, irregular blob: low-frequency noise thresholded inside an ellipse."""
    height, width = shape
    layer = np.zeros(shape, np.uint8)
    centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
    axes = tuple(max(1, int(rng.uniform(*settings.blob_size) * min(shape))) for _ in range(2))
    cv2.ellipse(layer, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0),
                             max(1.0, min(axes) / 2))
    inside = (layer > 0) & (noise > np.quantile(noise[layer > 0], 0.3))
    soft = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.5)
    return soft > 0.5, soft


def _patch(rng: np.random.Generator, out: np.ndarray, image: np.ndarray,
           settings: PlantSettings) -> np.ndarray:
    """CutPaste: a patch of the same surface, rotated by 90-degree steps, pasted elsewhere
    (in place, into ``out``); returns where it went."""
    height, width = image.shape[:2]
    side = max(4, int(rng.uniform(*settings.blob_size) * 2 * min(height, width)))
    side = min(side, height // 2, width // 2)
    mask = np.zeros((height, width), bool)
    if side < 4:
        return mask
    y0, x0 = rng.integers(0, height - side), rng.integers(0, width - side)
    patch = np.rot90(image[y0 : y0 + side, x0 : x0 + side], int(rng.integers(1, 4)))
    y1, x1 = rng.integers(0, height - side), rng.integers(0, width - side)
    out[y1 : y1 + side, x1 : x1 + side] = patch
    mask[y1 : y1 + side, x1 : x1 + side] = True
    return mask
