"""Built-in synthetic defect data set in two modes, with three defect kinds.

Classes: 0 background, 1 scratch (thin bright or dark lines), 2 spot (small dark round
pits), 3 stain (soft, brownish blobs). About a fifth of the images are defect-free
(known-good parts).

- ``textured`` (the default demo): textured surfaces (fractal noise, weave, brushed metal,
  photographs shipped with scikit-image), lighting gradients and vignetting, scratches of
  1-3 px whose width varies along them and whose contrast is a fraction of the texture's
  own variation, spots and stains of several sizes (:class:`TexturedSettings`).
- ``easy``: one brushed metal-like surface, high-contrast defects; the data set of the first
  versions, where every method looks good.

Generation is deterministic for a seed and writes the folder layout of
:mod:`visionseg.data.folder` image by image; a marker file holds the fingerprint of every
setting (and the generator version), and a set generated with other settings is replaced.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from visionseg.core.checks import check_fraction, check_int
from visionseg.core.errors import ConfigError
from visionseg.data.textured import TexturedSettings, make_textured_sample
from visionseg.io.atomic import write_text
from visionseg.io.images import write_png

CLASSES = ["background", "scratch", "spot", "stain"]
MODES = ("textured", "easy")
#: Bumped whenever a mode draws different images for the same settings (regenerates sets).
GENERATOR_VERSION = 2
_MARKER = "synthetic.json"


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(110, 160)
    tint = rng.uniform(-8, 8, size=3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, 2 * math.pi)
    gradient = (np.cos(angle) * xx + np.sin(angle) * yy) * rng.uniform(20, 50)
    brushed = cv2.GaussianBlur(rng.normal(0, 12, (size, size)).astype(np.float32), (0, 0), 3)
    brushed = cv2.blur(brushed, (int(size * 0.3) | 1, 1))
    gray = base + gradient - gradient.mean() + brushed * 1.5
    image = gray[..., None] + tint[None, None, :]
    return image.astype(np.float32)


def _scratch(rng, size, image, mask):
    layer = np.zeros((size, size), np.uint8)
    x0, y0 = rng.uniform(0.1, 0.9, 2) * size
    length = rng.uniform(0.25, 0.6) * size
    angle = rng.uniform(0, math.pi)
    bend = rng.uniform(-0.15, 0.15) * length
    pts = []
    for t in np.linspace(0, 1, 12):
        px = x0 + math.cos(angle) * length * t - math.sin(angle) * bend * math.sin(math.pi * t)
        py = y0 + math.sin(angle) * length * t + math.cos(angle) * bend * math.sin(math.pi * t)
        pts.append((int(round(px)), int(round(py))))
    cv2.polylines(layer, [np.array(pts, np.int32)], False, 1, thickness=int(rng.integers(1, 3)))
    sign = rng.choice([-1.0, 1.0])
    image += (layer[..., None] * sign * rng.uniform(45, 70)).astype(np.float32)
    mask[layer > 0] = 1


def _spot(rng, size, image, mask):
    layer = np.zeros((size, size), np.uint8)
    cx, cy = (rng.uniform(0.08, 0.92, 2) * size).astype(int)
    r = int(rng.integers(max(2, size // 64), max(4, size // 20)))
    cv2.circle(layer, (int(cx), int(cy)), r, 1, thickness=-1)
    image -= (layer[..., None] * rng.uniform(55, 85)).astype(np.float32)
    mask[layer > 0] = 2


def _stain(rng, size, image, mask):
    layer = np.zeros((size, size), np.uint8)
    cx, cy = (rng.uniform(0.15, 0.85, 2) * size).astype(int)
    axes = (int(rng.uniform(0.06, 0.16) * size), int(rng.uniform(0.05, 0.12) * size))
    cv2.ellipse(layer, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    soft = cv2.GaussianBlur(layer.astype(np.float32), (0, 0), max(1.0, size / 100))
    colour = np.array([30.0, 10.0, -25.0]) * rng.uniform(0.9, 1.3)
    image += soft[..., None] * colour[None, None, :]
    mask[(layer > 0) & (mask == 0)] = 3


_DEFECTS = (_scratch, _spot, _stain)


def make_sample(rng: np.random.Generator, size: int, p_good: float = 0.2):
    """One easy-mode RGB image (uint8) and its class-id mask."""
    image = _background(rng, size)
    mask = np.zeros((size, size), np.uint8)
    if rng.random() >= p_good:
        for _ in range(int(rng.integers(1, 4))):
            _DEFECTS[int(rng.integers(0, 3))](rng, size, image, mask)
    image += rng.normal(0, 4, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def _check(splits: dict[str, int], size: int, p_good: float, mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"data.synthetic.mode must be one of {list(MODES)}, got {mode!r}")
    check_int("data.synthetic.size", size, 32, maximum=4096)
    check_fraction("data.synthetic.p_good", p_good)
    for split, count in splits.items():
        check_int(f"data.synthetic.splits.{split}", count, 0)


def generate(
    root: str | Path,
    splits: dict[str, int] | None = None,
    size: int = 128,
    seed: int = 0,
    p_good: float = 0.2,
    mode: str = "textured",
    textured: TexturedSettings | dict | None = None,
) -> Path:
    """Write the synthetic data set under ``root`` unless the same one is already there.

    ``mode`` is ``textured`` (default) or ``easy``; ``textured`` holds the settings of the
    textured mode (:class:`TexturedSettings` or a mapping of its fields). A marker file
    records every setting and :data:`GENERATOR_VERSION`; if it matches, nothing is
    regenerated, and a set generated with other settings is replaced. Folders without the
    marker (user data) are never deleted.
    """
    root = Path(root)
    splits = dict(splits or {"train": 128, "val": 32, "test": 32})
    _check(splits, size, p_good, mode)
    look = TexturedSettings.from_any(textured)
    settings = {"splits": splits, "size": size, "seed": seed, "p_good": p_good, "classes": CLASSES,
                "mode": mode, "version": GENERATOR_VERSION}
    if mode == "textured":
        settings["textured"] = json.loads(json.dumps(asdict(look)))
    marker = root / _MARKER
    if marker.is_file():
        if json.loads(marker.read_text()) == settings:
            return root
        # A generated set with other settings: replace it whole, so no stale file stays.
        marker.unlink()
        for split_dir in root.iterdir():
            if split_dir.is_dir() and (split_dir / "images").is_dir():
                shutil.rmtree(split_dir)
    for offset, (split, count) in enumerate(splits.items()):
        rng = np.random.default_rng([seed, offset])
        for i in range(count):
            if mode == "easy":
                image, mask = make_sample(rng, size, p_good)
            else:
                image, mask = make_textured_sample(rng, size, p_good, look)
            write_png(root / split / "images" / f"{split}_{i:04d}.png", image)
            write_png(root / split / "masks" / f"{split}_{i:04d}.png", mask, rgb=False)
    write_text(marker, json.dumps(settings, indent=2))
    return root
