"""A tiny folder data set with known defects, written with the project's writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from visionseg.data.folder import list_split
from visionseg.io import write_png


def make_split(root: Path, split: str, count: int, size=(24, 32), seed=0, markers=()):
    """Images: grey, a dark square (spot) and a bright bar (scratch) at random places.

    ``markers[i]`` sets image i's top-left pixel value (toy methods react to it).
    """
    rng = np.random.default_rng(seed)
    h, w = size
    for i in range(count):
        image = np.full((h, w, 3), 128, np.uint8)
        mask = np.zeros((h, w), np.uint8)
        if i % 3 != 2:
            y, x = rng.integers(2, h - 8), rng.integers(2, w - 8)
            image[y : y + 5, x : x + 5] = 30
            mask[y : y + 5, x : x + 5] = 2
        if i % 2 == 0:
            y = int(rng.integers(0, h - 2))
            image[y : y + 2, 4 : w - 4] = 230
            mask[y : y + 2, 4 : w - 4] = 1
            mask[y : y + 2, w - 6 : w - 4] = 255
        image[0, 0] = markers[i] if i < len(markers) else 128
        write_png(root / split / "images" / f"{split}_{i}.png", image)
        write_png(root / split / "masks" / f"{split}_{i}.png", mask, rgb=False)
    return list_split(root, split)
