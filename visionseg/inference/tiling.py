"""Sliding-window inference with blended overlaps and bounded memory.

Tiles overlap by ``overlap`` pixels; each tile's probabilities are weighted by a window
that ramps down towards its edges, so seams do not show. Tiles are processed one row of
tiles at a time and finished rows are reduced to a class mask and its confidence at once:
memory holds one strip of ``C x tile x W`` floats, however tall the image, unless full
probabilities are asked for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TileFn = Callable[[np.ndarray], np.ndarray]
"""``N x h x w x 3`` uint8 tiles -> ``N x C x h x w`` float32 probabilities."""


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``0..length`` with tiles of ``tile``, the last flush with the end."""
    if length <= tile:
        return [0]
    stride = max(tile - overlap, 1)
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def blend_window(height: int, width: int, overlap: int) -> np.ndarray:
    """``height x width`` weights: 1 inside, a linear ramp over ``overlap`` pixels at edges."""

    def ramp(n: int) -> np.ndarray:
        w = np.ones(n, np.float32)
        r = min(overlap, n // 2)
        if r > 0:
            edge = (np.arange(r, dtype=np.float32) + 1) / (r + 1)
            w[:r] = edge
            w[n - r :] = edge[::-1]
        return w

    return np.outer(ramp(height), ramp(width))


def predict_tiled(
    image: np.ndarray,
    tile_fn: TileFn,
    num_classes: int,
    tile: int,
    overlap: int,
    batch_size: int = 4,
    keep_probs: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Segment ``image`` (``H x W x 3`` uint8) tile by tile.

    Returns ``(mask uint8 H x W, confidence float32 H x W, probs C x H x W or None)``.
    """
    height, width = image.shape[:2]
    th, tw = min(tile, height), min(tile, width)
    ys = tile_starts(height, th, overlap)
    xs = tile_starts(width, tw, overlap)
    window = blend_window(th, tw, overlap if (len(ys) > 1 or len(xs) > 1) else 0)
    mask = np.empty((height, width), np.uint8)
    confidence = np.empty((height, width), np.float32)
    probs = np.empty((num_classes, height, width), np.float32) if keep_probs else None
    acc = np.zeros((num_classes, th, width), np.float32)
    weight = np.zeros((th, width), np.float32)
    for row, y in enumerate(ys):
        for start in range(0, len(xs), batch_size):
            chunk = xs[start : start + batch_size]
            tiles = np.stack([image[y : y + th, x : x + tw] for x in chunk])
            out = tile_fn(tiles)
            for x, p in zip(chunk, out, strict=True):
                acc[:, :, x : x + tw] += p * window
                weight[:, x : x + tw] += window
        done = (ys[row + 1] - y) if row + 1 < len(ys) else th
        _finish(acc[:, :done], weight[:done], y, mask, confidence, probs)
        acc = np.roll(acc, -done, axis=1)
        weight = np.roll(weight, -done, axis=0)
        acc[:, th - done :] = 0
        weight[th - done :] = 0
    return mask, confidence, probs


def _finish(acc, weight, y, mask, confidence, probs) -> None:
    p = acc / weight[None]
    rows = slice(y, y + p.shape[1])
    mask[rows] = p.argmax(axis=0)
    confidence[rows] = p.max(axis=0)
    if probs is not None:
        probs[:, rows] = p
