"""Textured part surfaces and uneven lighting for the harder synthetic data set.

Each background kind returns a ``size x size x 3`` float32 image in grey levels 0..255:
``noise`` (fractal value noise: cast or sand-blasted surfaces), ``weave`` (woven fabric or
carbon fibre), ``brushed`` (brushed metal: streaks along one direction) and ``photo``
(crops of the photographs scikit-image ships offline: grass, gravel, brick; rescaled,
rotated and tinted). :func:`lighting` is a multiplicative illumination field: a linear
gradient times a vignette. All draw from the given generator only, so a seed repeats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

PHOTOS = ("grass", "gravel", "brick")


def _rotate(image: np.ndarray, angle: float) -> np.ndarray:
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REFLECT)


def _to_rgb(grey: np.ndarray, rng: np.random.Generator, level: float, spread: float) -> np.ndarray:
    """Grey texture with zero mean and unit std -> RGB around ``level`` with a slight tint."""
    tint = rng.uniform(0.9, 1.1, size=3).astype(np.float32)
    return (level + spread * grey)[..., None] * tint[None, None, :]


def _standardise(x: np.ndarray) -> np.ndarray:
    return ((x - x.mean()) / max(float(x.std()), 1e-6)).astype(np.float32)


def noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """Fractal value noise: four octaves of upsampled random grids, coarse ones strongest."""
    grey = np.zeros((size, size), np.float32)
    for octave in range(4):
        cells = 4 * 2**octave
        grid = rng.normal(0, 1, (cells, cells)).astype(np.float32)
        grey += cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC) / 1.6**octave
    return _to_rgb(_standardise(grey), rng, rng.uniform(100, 160), rng.uniform(12, 22))


def weave(rng: np.random.Generator, size: int) -> np.ndarray:
    """Woven fabric: alternating over/under threads of a random period, slightly rotated."""
    period = rng.uniform(5, 12)
    big = int(size * 1.5)
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32)
    warp = np.sin(2 * math.pi * xx / period)
    weft = np.sin(2 * math.pi * yy / period)
    checker = np.sign(np.sin(math.pi * xx / period) * np.sin(math.pi * yy / period))
    grey = np.where(checker > 0, np.abs(warp), np.abs(weft))
    grey += rng.normal(0, 0.25, grey.shape).astype(np.float32)
    grey = _rotate(grey, rng.uniform(-20, 20))
    start = (big - size) // 2
    grey = grey[start : start + size, start : start + size]
    return _to_rgb(_standardise(grey), rng, rng.uniform(90, 150), rng.uniform(14, 24))


def brushed(rng: np.random.Generator, size: int) -> np.ndarray:
    """Brushed metal: noise smeared along one direction, fine grain on top."""
    big = int(size * 1.5) | 1
    grey = rng.normal(0, 1, (big, big)).astype(np.float32)
    grey = cv2.blur(grey, (max(3, int(big * 0.4)) | 1, 1))
    grey = _rotate(grey, rng.uniform(0, 180))
    start = (big - size) // 2
    grey = _standardise(grey[start : start + size, start : start + size])
    grey += rng.normal(0, 0.3, grey.shape).astype(np.float32)
    return _to_rgb(_standardise(grey), rng, rng.uniform(120, 170), rng.uniform(8, 16))


@lru_cache(maxsize=len(PHOTOS))
def _photo(name: str) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)().astype(np.float32)


def photo(rng: np.random.Generator, size: int) -> np.ndarray:
    """A crop of a scikit-image photograph, rescaled so that about a quarter to a half of
    its 512-pixel width fills the image, rotated and tinted."""
    source = _photo(str(rng.choice(PHOTOS)))
    span = rng.uniform(0.25, 0.5) * source.shape[0]
    scale = size / span
    grey = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = _rotate(grey, rng.uniform(0, 360))
    y, x = (int(rng.integers(0, max(1, n - size))) for n in grey.shape)
    grey = grey[y : y + size, x : x + size]
    return _to_rgb(_standardise(grey), rng, rng.uniform(100, 150), rng.uniform(25, 40))


BACKGROUNDS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "noise": noise,
    "weave": weave,
    "brushed": brushed,
    "photo": photo,
}


def lighting(
    rng: np.random.Generator, size: int, gradient: float, vignette: float
) -> np.ndarray:
    """``size x size x 1`` illumination gain around 1: a linear gradient in a random
    direction (peak-to-peak up to ``gradient``) times a vignette darkening the corners by
    up to ``vignette``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1) - 0.5
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(angle) * xx + math.sin(angle) * yy) * rng.uniform(0, gradient)
    cx, cy = rng.uniform(-0.2, 0.2, 2)
    radius2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / 0.5
    gain = (1.0 + ramp) * (1.0 - rng.uniform(0, vignette) * np.clip(radius2, 0, 1.5))
    return gain[..., None].astype(np.float32)
