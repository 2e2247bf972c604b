"""Random masks with blob-shaped defects, shared by the metric tests."""

from __future__ import annotations

import cv2
import numpy as np


def blob_mask(rng: np.random.Generator, shape=(64, 64), num_classes=4, blobs=6, ignore=True):
    """A class mask with a few random ellipses and rectangles, and (optionally) an ignore patch."""
    mask = np.zeros(shape, np.uint8)
    for _ in range(int(rng.integers(0, blobs + 1))):
        c = int(rng.integers(1, num_classes))
        cx, cy = int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0]))
        if rng.random() < 0.5:
            axes = (int(rng.integers(1, 12)), int(rng.integers(1, 12)))
            cv2.ellipse(mask, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, c, -1)
        else:
            w, h = int(rng.integers(1, 15)), int(rng.integers(1, 15))
            mask[cy : cy + h, cx : cx + w] = c
    if ignore and rng.random() < 0.5:
        y, x = int(rng.integers(0, shape[0] - 6)), int(rng.integers(0, shape[1] - 6))
        mask[y : y + 6, x : x + 6] = 255
    return mask


def perturb(rng: np.random.Generator, mask: np.ndarray, num_classes=4) -> np.ndarray:
    """A plausible prediction: shifted, dilated or eroded, with some blobs relabelled or added."""
    pred = np.where(mask == 255, 0, mask).astype(np.uint8)
    dx, dy = rng.integers(-2, 3, size=2)
    pred = np.roll(pred, (int(dy), int(dx)), axis=(0, 1))
    kernel = np.ones((3, 3), np.uint8)
    op = rng.integers(0, 3)
    if op == 1:
        pred = cv2.dilate(pred, kernel)
    elif op == 2:
        pred = cv2.erode(pred, kernel)
    extra = blob_mask(rng, mask.shape, num_classes, blobs=2, ignore=False)
    return np.where(extra > 0, extra, pred).astype(np.uint8)
