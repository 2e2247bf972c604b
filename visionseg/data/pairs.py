"""``(image, mask)`` pairs of a split, read on demand: what ``Method.fit`` consumes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from visionseg.data.folder import Sample
from visionseg.io.images import read_image, read_mask


class TrainPairs(Sequence):
    """``(image, mask)`` pairs of training samples, read on demand (re-iterable, no caching)."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = [s for s in samples if s.mask is not None]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        sample = self.samples[index]
        return read_image(sample.image), read_mask(sample.mask)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in range(len(self)):
            yield self[i]
