"""When and how images are cut into tiles (``configs/tile/``): the settings alone, without
torch, so that the model card and the apps' settings can name them anywhere."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from visionseg.core.checks import check_number
from visionseg.core.errors import ConfigError, settings_from

AUTO = "auto"
"""``tile.size=auto``: run an image whole when it fits the pixel budget, else tile it."""


@dataclass(frozen=True)
class TileSettings:
    """When and how images are cut into tiles; one node (``configs/tile/``) shared by
    infer.py, serve.py, evaluate.py and train.py's evaluation.

    ``size=auto`` (the default) predicts an image whole when it has at most
    ``max_megapixels`` million pixels: a 1024 px image cut into 512 px tiles with 64 px
    overlap runs 2.25x its own pixels, and whole it needs no blending. Larger images are
    tiled with at most the largest square tile of that budget (a multiple of 32), balanced
    to the image (:func:`balanced_tile`: a 2048 px image runs as four 1056 px tiles, not
    four of 1984 px), so memory stays bounded whatever the image size. An integer ``size``
    (``>= 16``) tiles every image with a side above it, as before. ``0 <= overlap < tile side``.
    """

    size: int | str = AUTO
    overlap: int = 64
    max_megapixels: float = 4.0

    def __post_init__(self) -> None:
        check_number("tile.max_megapixels", self.max_megapixels, 0.0, above=True)
        if self.size != AUTO and (isinstance(self.size, str) or int(self.size) != self.size
                                  or self.size < 16):
            raise ConfigError(f"tile.size must be 'auto' or an integer >= 16, got {self.size!r}")
        if int(self.overlap) != self.overlap or not 0 <= self.overlap < self.tile_side:
            raise ConfigError(
                f"0 <= tile.overlap < tile.size must hold, got overlap {self.overlap} "
                f"and size {self.tile_side}" + (" (tile.size=auto)" if self.size == AUTO else "")
            )

    @property
    def tile_side(self) -> int:
        """The side of a tile when an image is tiled."""
        if self.size != AUTO:
            return int(self.size)
        return max(64, int(math.sqrt(self.max_megapixels * 1e6)) // 32 * 32)

    @property
    def whole_pixels(self) -> int | None:
        """Images with at most this many pixels run whole (None: decided by side)."""
        return int(self.max_megapixels * 1e6) if self.size == AUTO else None

    def method_kwargs(self) -> dict[str, int | None]:
        """The tiling arguments every network Method takes."""
        return {"tile_size": self.tile_side, "tile_overlap": int(self.overlap),
                "max_whole_pixels": self.whole_pixels}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> TileSettings:
        return settings_from(cls, value, "tile")


def balanced_tile(height: int, width: int, tile: int, overlap: int, multiple: int = 32) -> int:
    """The smallest square tile (a multiple of ``multiple``, at most ``tile``) that covers
    each side of a ``height x width`` image with as few tiles as ``tile`` does.

    The largest tile of a budget over-covers an image just above it: 2048 px at 1984 px
    tiles with 64 px overlap is four tiles of 3.9 Mpx each, 3.8x the image's pixels;
    balanced, the same four tiles are 1056 px, 1.06x.
    """
    side = 0
    for length in (height, width):
        if length <= tile:
            side = max(side, min(length, tile))
            continue
        count = math.ceil((length - overlap) / (tile - overlap))
        need = math.ceil((length + (count - 1) * overlap) / count)
        side = max(side, min(tile, math.ceil(need / multiple) * multiple))
    return side
