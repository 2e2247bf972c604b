"""Torch data set over folder samples: uint8 images and int64 masks, augmented on read.

Images stay uint8 until they reach the model, which normalises them on its own device:
a quarter of the bytes through the loader and pinned-memory copy, and the same
normalisation in training, evaluation and exported inference.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import Dataset

from visionseg.data.batch import SegmentationBatch
from visionseg.data.folder import IGNORE_INDEX, Sample
from visionseg.io.images import read_image, read_mask
from visionseg.io.scale16 import Scale16


class SegmentationDataset(Dataset):
    """``{"image": uint8 3xHxW, "mask": int64 HxW, "name": str}`` per sample; 16-bit
    images are read as ``scale16`` says.

    ``repeats`` > 1 serves every sample that many times a pass (index ``i`` is sample
    ``i % len(samples)``): with random crops smaller than the images, each pass then cuts
    several different crops of every image.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable | None = None,
        scale16: Scale16 | None = None,
        repeats: int = 1,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.scale16 = scale16
        self.repeats = repeats
        self.cache: list[tuple[np.ndarray, np.ndarray]] | None = None

    def __len__(self) -> int:
        return len(self.samples) * self.repeats

    def preload(self, max_bytes: int, threads: int | None = None) -> bool:
        """Decode every sample into memory once, if the whole set fits in ``max_bytes``.

        Called in the main process before loader workers start, so forked workers share
        the decoded arrays (copy-on-write) instead of each decoding PNGs every epoch.
        Decoding runs in ``threads`` threads (default: up to 8; OpenCV releases the GIL).
        Returns whether the cache is in use.
        """
        if not self.samples or max_bytes <= 0:
            return False
        image, mask = self._decode(0)
        if (image.nbytes + mask.nbytes) * len(self.samples) > max_bytes:
            return False
        cache = [(image, mask)]
        total = image.nbytes + mask.nbytes
        workers = threads or min(8, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for image, mask in pool.map(self._decode, range(1, len(self.samples))):
                total += image.nbytes + mask.nbytes
                if total > max_bytes:
                    pool.shutdown(cancel_futures=True)
                    return False
                cache.append((image, mask))
        self.cache = cache
        return True

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if self.cache is not None:
            return self.cache[index]
        return self._decode(index)

    def _decode(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        sample = self.samples[index]
        image = read_image(sample.image, self.scale16)
        if sample.mask is None:
            mask = np.full(image.shape[:2], IGNORE_INDEX, np.uint8)
        else:
            mask = read_mask(sample.mask)
        return image, mask

    def labels(self, index: int, image: np.ndarray, mask: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """The (augmented) image and mask a training step sees; subclasses that make their
        own labels (planted defects) change them here."""
        return image, mask

    def __getitem__(self, index: int) -> dict:
        index %= len(self.samples)
        image, mask = self.load(index)
        if self.transform is not None:
            out = self.transform(image=image, mask=mask)
            image, mask = out["image"], out["mask"]
        image, mask = self.labels(index, image, mask)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            "mask": torch.from_numpy(np.ascontiguousarray(mask)).long(),
            "name": self.samples[index].name,
        }


def pad_collate(batch: list[dict]) -> SegmentationBatch:
    """Stack samples, padding smaller ones (image with 0, mask with the ignore value)."""
    names = [item["name"] for item in batch]
    if len({tuple(item["image"].shape) for item in batch}) == 1:
        return SegmentationBatch(torch.stack([item["image"] for item in batch]),
                                 torch.stack([item["mask"] for item in batch]), names)
    height = max(item["image"].shape[1] for item in batch)
    width = max(item["image"].shape[2] for item in batch)
    images = torch.zeros((len(batch), 3, height, width), dtype=torch.uint8)
    masks = torch.full((len(batch), height, width), IGNORE_INDEX, dtype=torch.long)
    for i, item in enumerate(batch):
        _, h, w = item["image"].shape
        images[i, :, :h, :w] = item["image"]
        masks[i, :h, :w] = item["mask"]
    return SegmentationBatch(images, masks, names)
