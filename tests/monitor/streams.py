"""Seeded streams of small line-like images: a lit part with a random gradient and noise."""

from __future__ import annotations

import numpy as np


def line_image(rng: np.random.Generator, shift: float = 0.0, size: int = 48) -> np.ndarray:
    """One ``size x size`` RGB uint8 image; ``shift`` adds to its brightness."""
    base = rng.normal(120.0, 8.0) + shift
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0.0, 2.0 * np.pi)
    gradient = rng.normal(0.0, 10.0) * (np.cos(angle) * xx + np.sin(angle) * yy)
    noise = rng.normal(0.0, rng.uniform(6.0, 14.0), (size, size, 3))
    image = base + gradient[..., None] + noise + rng.normal(0.0, 3.0, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def line_images(seed: int, n: int, shift_from: int | None = None, shift: float = 0.0
                ) -> list[np.ndarray]:
    """``n`` images; from index ``shift_from`` on, brightness is shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    return [
        line_image(rng, shift if shift_from is not None and i >= shift_from else 0.0)
        for i in range(n)
    ]
