"""A seeded train/val/test split, stratified by the folder (class) each image came from.

Every group (a class folder, an MVTec defect type, the good parts) is split on its own:
its images, sorted by source path, are shuffled by a generator seeded with ``seed`` and
the group's name (so adding a class leaves the other classes' split unchanged) and cut
into ``round(n * fraction)`` pieces (largest remainder). A group with at least as many
images as splits of non-zero fraction gets at least one image in each of them.
Images whose split is already fixed (MVTec's ``train/good``) keep it.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from visionseg.data.folder import DatasetError

if TYPE_CHECKING:
    from visionseg.data.convert.layouts import MaskedImage

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.6,0.2,0.2"`` as train, val and test fractions; DatasetError if not three
    non-negative numbers summing to 1."""
    expected = "--split: expected three fractions train,val,test summing to 1, e.g. 0.6,0.2,0.2"
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise DatasetError(f"{expected} (got '{text}')") from None
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise DatasetError(f"{expected} (got '{text}')")
    if abs(sum(values) - 1.0) > 1e-6 or values[0] == 0:
        raise DatasetError(f"{expected}, train above 0 (got '{text}')")
    return values  # type: ignore[return-value]


def split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """How many of ``n`` images each split gets (see the module docstring)."""
    exact = [round(n * f, 9) for f in fractions]
    counts = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    wanted = [i for i, f in enumerate(fractions) if f > 0]
    if n >= len(wanted):
        for i in wanted:
            if counts[i] == 0:
                donor = max(wanted, key=lambda j: counts[j])
                counts[donor] -= 1
                counts[i] += 1
    return counts


def assign_splits(images: Sequence[MaskedImage], fractions: Sequence[float], seed: int) -> None:
    """Set ``split`` of every image that has none, group by group."""
    groups: dict[str, list[MaskedImage]] = {}
    for image in images:
        if image.split is None:
            groups.setdefault(image.group, []).append(image)
    for group, members in sorted(groups.items()):
        members = sorted(members, key=lambda m: m.key)
        rng = np.random.default_rng([seed, zlib.crc32(group.encode("utf-8"))])
        order = rng.permutation(len(members))
        start = 0
        for split, count in zip(SPLITS, split_counts(len(members), fractions), strict=True):
            for i in order[start:start + count]:
                members[i].split = split
            start += count
