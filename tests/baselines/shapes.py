"""Small synthetic images with known answers for the baseline and post-processing tests."""

from __future__ import annotations

import cv2
import numpy as np


def disc(shape: tuple[int, int], centre: tuple[int, int], radius: int) -> np.ndarray:
    """Boolean filled disc; ``centre`` is (x, y)."""
    out = np.zeros(shape, np.uint8)
    cv2.circle(out, centre, radius, 1, thickness=-1)
    return out > 0


def line(shape: tuple[int, int], start: tuple[int, int], end: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.line(out, start, end, 1, thickness=1)
    return out > 0


def lit_part(
    shape: tuple[int, int], rng: np.random.Generator, level: float = 140.0, noise: float = 3.0
) -> np.ndarray:
    """Float grey part with a left-to-right illumination gradient of 50 levels and noise."""
    h, w = shape
    gradient = np.linspace(-25.0, 25.0, w, dtype=np.float32)[None, :].repeat(h, axis=0)
    return level + gradient + rng.normal(0.0, noise, shape).astype(np.float32)


def to_rgb(gray: np.ndarray) -> np.ndarray:
    """Grey float image -> H x W x 3 uint8 RGB."""
    g = np.clip(np.round(gray), 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0
