"""The textured mode of the synthetic data set: defects planted on textured surfaces under
uneven lighting, at contrasts measured against the texture itself.

A defect changes the surface (its reflectance), so defects are drawn on the texture and the
illumination field multiplies both; sensor noise comes last. Contrasts are given in units of
the background texture's standard deviation: 1.0 means a scratch differs from its
surroundings by as much as the texture varies by itself, which is what makes real thin
defects hard and global thresholds useless.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import cv2
import numpy as np

from visionseg.core.errors import ConfigError, reject_unknown
from visionseg.data.settings import check_range
from visionseg.data.textures import BACKGROUNDS, lighting


def _pair(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    return check_range(f"data.synthetic.textured.{name}", value, low, high)


@dataclass(frozen=True)
class TexturedSettings:
    """Settings of the textured mode (``data.synthetic.textured`` in the config).

    ``backgrounds``: kinds drawn from, equally often (``noise``, ``weave``, ``brushed``,
    ``photo``). ``scratch_width``: [min, max] line width in pixels, varying along a scratch.
    ``scratch_contrast``, ``spot_contrast``, ``stain_contrast``: [min, max] in texture
    standard deviations. ``spot_radius``: [min, max] pits' radius in pixels.
    ``stain_radius``: [min, max] stains' half-axes as a fraction of the image size.
    ``gradient``: largest peak-to-peak illumination ramp (0.5 = +-25 %). ``vignette``:
    largest darkening of the corners. ``sensor_noise``: grey-level standard deviation.
    ``max_defects``: defects per defective image, 1..max_defects.
    """

    backgrounds: tuple[str, ...] = ("noise", "weave", "brushed", "photo")
    scratch_width: tuple[float, float] = (1, 3)
    scratch_contrast: tuple[float, float] = (0.6, 1.5)
    spot_radius: tuple[float, float] = (1.5, 7.0)
    spot_contrast: tuple[float, float] = (1.0, 2.5)
    stain_radius: tuple[float, float] = (0.04, 0.16)
    stain_contrast: tuple[float, float] = (0.6, 1.5)
    gradient: float = 0.5
    vignette: float = 0.4
    sensor_noise: float = 4.0
    max_defects: int = 4

    def __post_init__(self) -> None:
        kinds = tuple(str(k) for k in self.backgrounds)
        unknown = sorted(set(kinds) - set(BACKGROUNDS))
        if not kinds or unknown:
            raise ConfigError(
                f"data.synthetic.textured.backgrounds must name some of {sorted(BACKGROUNDS)}, "
                f"got {list(kinds)}"
            )
        object.__setattr__(self, "backgrounds", kinds)
        limits = {"scratch_width": (1, 16), "scratch_contrast": (0.05, 10),
                  "spot_radius": (1, 64), "spot_contrast": (0.05, 10),
                  "stain_radius": (0.01, 0.5), "stain_contrast": (0.05, 10)}
        for name, (low, high) in limits.items():
            object.__setattr__(self, name, _pair(name, getattr(self, name), low, high))
        for name, high in (("gradient", 1.5), ("vignette", 0.9), ("sensor_noise", 50.0)):
            if not 0.0 <= float(getattr(self, name)) <= high:
                raise ConfigError(f"data.synthetic.textured.{name} must be in [0, {high}], "
                                  f"got {getattr(self, name)}")
        if int(self.max_defects) != self.max_defects or not 1 <= self.max_defects <= 20:
            raise ConfigError(f"data.synthetic.textured.max_defects must be an integer in "
                              f"1..20, got {self.max_defects}")

    @classmethod
    def from_any(cls, value: TexturedSettings | Mapping[str, Any] | None) -> TexturedSettings:
        """From a config mapping (unknown keys are an error naming them) or None."""
        if value is None or isinstance(value, TexturedSettings):
            return value or cls()
        reject_unknown(value, (f.name for f in fields(cls)), "data.synthetic.textured")
        return cls(**{k: tuple(v) if isinstance(v, Sequence) and not isinstance(v, str) else v
                      for k, v in value.items()})


def _varying_line(
    rng: np.random.Generator, points: np.ndarray, widths: tuple[float, float], size: int
) -> np.ndarray:
    """0/1 float layer of a polyline whose width (pixels) wanders within ``widths`` from
    segment to segment: centre lines drawn 1 px thick, then grown by a square of the width
    (cv2's own ``thickness`` draws 3 px for 2 and 5 px for 3)."""
    low, high = widths
    width = rng.uniform(low, high)
    layer = np.zeros((size, size), np.float32)
    by_width: dict[int, np.ndarray] = {}
    for a, b in zip(points[:-1], points[1:], strict=True):
        width = float(np.clip(width + rng.uniform(-0.6, 0.6), low, high))
        w = max(1, round(width))
        centre = by_width.setdefault(w, np.zeros((size, size), np.uint8))
        cv2.line(centre, tuple(int(v) for v in a), tuple(int(v) for v in b), 1, thickness=1)
    for w, centre in by_width.items():
        grown = cv2.dilate(centre, np.ones((w, w), np.uint8)) if w > 1 else centre
        layer = np.maximum(layer, grown.astype(np.float32))
    return layer


def bent_path(rng: np.random.Generator, size: int, length: tuple[float, float],
              bend: float) -> np.ndarray:
    """16 points of a gently bent scratch path: a random start, ``length`` a fraction of
    ``size``, bowed sideways by up to ``bend`` of its length."""
    x0, y0 = rng.uniform(0.1, 0.9, 2) * size
    span = rng.uniform(*length) * size
    angle = rng.uniform(0, math.pi)
    bow = rng.uniform(-bend, bend) * span
    t = np.linspace(0, 1, 16)
    px = x0 + math.cos(angle) * span * t - math.sin(angle) * bow * np.sin(math.pi * t)
    py = y0 + math.sin(angle) * span * t + math.cos(angle) * bow * np.sin(math.pi * t)
    return np.stack([px, py], 1).round().astype(np.int32)


def _scratch(rng, image, mask, look: TexturedSettings, spread: float) -> None:
    size = image.shape[0]
    points = bent_path(rng, size, (0.2, 0.7), 0.15)
    layer = _varying_line(rng, points, look.scratch_width, size)
    contrast = rng.uniform(*look.scratch_contrast) * spread * rng.choice([-1.0, 1.0])
    fade = cv2.resize(rng.uniform(0.6, 1.0, (4, 4)).astype(np.float32), (size, size))
    image += (layer * fade * contrast)[..., None]
    mask[layer > 0] = 1


def _spot(rng, image, mask, look: TexturedSettings, spread: float) -> None:
    size = image.shape[0]
    layer = np.zeros((size, size), np.uint8)
    centre = tuple(int(v) for v in rng.uniform(0.08, 0.92, 2) * size)
    cv2.circle(layer, centre, max(1, round(rng.uniform(*look.spot_radius))), 1, thickness=-1)
    soft = cv2.GaussianBlur(layer.astype(np.float32), (0, 0), 0.7)
    image -= (soft * rng.uniform(*look.spot_contrast) * spread)[..., None]
    mask[layer > 0] = 2


def _stain(rng, image, mask, look: TexturedSettings, spread: float) -> None:
    size = image.shape[0]
    layer = np.zeros((size, size), np.uint8)
    centre = tuple(int(v) for v in rng.uniform(0.15, 0.85, 2) * size)
    axes = tuple(max(2, int(rng.uniform(*look.stain_radius) * size)) for _ in range(2))
    cv2.ellipse(layer, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    soft = cv2.GaussianBlur(layer.astype(np.float32), (0, 0), max(1.0, min(axes) / 4))
    colour = np.array([1.0, 0.3, -0.9], np.float32) * rng.uniform(*look.stain_contrast) * spread
    image += soft[..., None] * colour[None, None, :]
    mask[(layer > 0) & (mask == 0)] = 3


_DEFECTS = (_scratch, _spot, _stain)


def make_textured_sample(
    rng: np.random.Generator, size: int, p_good: float, look: TexturedSettings
) -> tuple[np.ndarray, np.ndarray]:
    """One textured-mode RGB image (uint8) and its class-id mask."""
    kind = look.backgrounds[int(rng.integers(0, len(look.backgrounds)))]
    image = BACKGROUNDS[kind](rng, size)
    spread = float(image.mean(axis=2).std())
    mask = np.zeros((size, size), np.uint8)
    if rng.random() >= p_good:
        for _ in range(int(rng.integers(1, look.max_defects + 1))):
            _DEFECTS[int(rng.integers(0, 3))](rng, image, mask, look, spread)
    image *= lighting(rng, size, look.gradient, look.vignette)
    image += rng.normal(0, look.sensor_noise, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), mask
