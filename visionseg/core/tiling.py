"""Sliding-window inference with blended overlaps and bounded memory.

Tiles overlap by ``overlap`` pixels; each tile's probabilities are weighted by a window
that ramps down towards its edges, so seams do not show. Tiles are processed one row of
tiles at a time and finished rows are reduced to a class mask and its confidence at once:
memory holds one strip of ``C x tile x W`` floats, however tall the image, unless full
probabilities are asked for.

The blending runs in torch on the device the tile function answers on: with a GPU model
the probabilities never leave the GPU, and only the finished class mask and confidence
(5 bytes a pixel) are copied back, instead of ``4 x C`` bytes a pixel of every tile.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from visionseg.core.tile_settings import AUTO, TileSettings

__all__ = ["AUTO", "TileSettings", "blend_window", "predict_tiled", "tile_starts"]

TileFn = Callable[[np.ndarray], "np.ndarray | torch.Tensor"]
"""``N x h x w x 3`` uint8 tiles -> ``N x C x h x w`` float32 probabilities (a NumPy array,
or a tensor on any device)."""


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
    ramp = blend_window(th, tw, overlap if (len(ys) > 1 or len(xs) > 1) else 0)
    mask = np.empty((height, width), np.uint8)
    confidence = np.empty((height, width), np.float32)
    probs = np.empty((num_classes, height, width), np.float32) if keep_probs else None
    acc = weight = window = None
    with torch.inference_mode():
        for row, y in enumerate(ys):
            for start in range(0, len(xs), batch_size):
                chunk = xs[start : start + batch_size]
                out = torch.as_tensor(
                    tile_fn(np.stack([image[y : y + th, x : x + tw] for x in chunk]))
                ).float()
                if acc is None:
                    acc = torch.zeros((num_classes, th, width), device=out.device)
                    weight = torch.zeros((th, width), device=out.device)
                    window = torch.from_numpy(ramp).to(out.device)
                for x, p in zip(chunk, out, strict=True):
                    acc[:, :, x : x + tw] += p * window
                    weight[:, x : x + tw] += window
            done = (ys[row + 1] - y) if row + 1 < len(ys) else th
            _finish(acc[:, :done], weight[:done], y, mask, confidence, probs)
            acc = torch.roll(acc, -done, dims=1)
            weight = torch.roll(weight, -done, dims=0)
            acc[:, th - done :] = 0
            weight[th - done :] = 0
    return mask, confidence, probs


def _finish(acc: torch.Tensor, weight: torch.Tensor, y: int, mask: np.ndarray,
            confidence: np.ndarray, probs: np.ndarray | None) -> None:
    p = acc / weight[None]
    best, label = p.max(dim=0)
    rows = slice(y, y + p.shape[1])
    mask[rows] = label.to(torch.uint8).cpu().numpy()
    confidence[rows] = best.cpu().numpy()
    if probs is not None:
        probs[:, rows] = p.cpu().numpy()
