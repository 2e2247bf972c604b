"""Colour rendering of class masks, shared by infer.py overlays and report galleries."""

from __future__ import annotations

import cv2
import numpy as np

_BASE = np.array(
    [
        (0, 0, 0),
        (230, 25, 75),
        (60, 180, 75),
        (255, 225, 25),
        (0, 130, 200),
        (245, 130, 48),
        (145, 30, 180),
        (70, 240, 240),
        (240, 50, 230),
        (210, 245, 60),
        (250, 190, 212),
        (0, 128, 128),
    ],
    dtype=np.uint8,
)


def palette(num_classes: int) -> np.ndarray:
    """``num_classes x 3`` uint8 RGB colours; class 0 (background) is black."""
    if num_classes <= len(_BASE):
        return _BASE[:num_classes].copy()
    rng = np.random.default_rng(0)
    extra = rng.integers(40, 256, size=(num_classes - len(_BASE), 3), dtype=np.uint8)
    return np.concatenate([_BASE, extra])


def colorize(
    mask: np.ndarray, num_classes: int, ignore_color: tuple = (128, 128, 128)
) -> np.ndarray:
    """Class-id mask -> RGB image; ids outside the palette (255 = ignore) are grey."""
    lut = np.tile(np.array(ignore_color, np.uint8), (256, 1))
    lut[:num_classes] = palette(num_classes)
    return lut[mask]


def overlay(
    image: np.ndarray, mask: np.ndarray, num_classes: int, alpha: float = 0.5
) -> np.ndarray:
    """Blend class colours over an RGB image where the mask is not background.

    Works in uint8 throughout, so a 10000 x 8000 image costs three image-sized buffers.
    """
    colours = colorize(mask, num_classes)
    blended = cv2.addWeighted(image, 1.0 - alpha, colours, alpha, 0.0)
    out = image.copy()
    foreground = mask > 0
    out[foreground] = blended[foreground]
    return out
