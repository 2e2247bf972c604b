"""Unlabelled good images with planted defects: the data of self-supervised pre-training.

    python train.py experiment=pretrain_planted data.root=GOOD_IMAGES
    python train.py ... model.init_from=outputs/.../checkpoints/best.ckpt

``GOOD_IMAGES/train/images`` (and optionally ``GOOD_IMAGES/val/images``; otherwise a
``val_fraction`` of train) holds images of good parts; masks, if any, are not read. Every
training read plants fresh defects (:mod:`visionseg.data.planted`) after the usual crop
and flips; validation plants the same defects on every pass (seeded by the image's
index), so its IoU is comparable between epochs. Classes: ``[good, planted]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from visionseg.core.errors import ConfigError
from visionseg.data.datamodule import SegmentationDataModule
from visionseg.data.dataset import SegmentationDataset
from visionseg.data.folder import IGNORE_INDEX
from visionseg.data.planted import PlantSettings, plant_defects
from visionseg.io.images import read_image


class PlantedDataset(SegmentationDataset):
    """Images of good parts; each read returns one with defects planted and their mask.

    ``fixed_seed``: plant the same defects on every read of an image (validation);
    ``None`` draws new ones each time from torch's generator (seeded per worker by
    Lightning, so runs repeat).
    """

    def __init__(self, *args: Any, planted: PlantSettings, fixed_seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planted = planted
        self.fixed_seed = fixed_seed

    def _decode(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The image and an all-good mask (padding added by transforms stays ignored)."""
        image = read_image(self.samples[index].image, self.scale16)
        return image, np.zeros(image.shape[:2], np.uint8)

    def labels(self, index: int, image: np.ndarray, mask: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        seed = ([self.fixed_seed, index] if self.fixed_seed is not None
                else int(torch.randint(2**62, ())))
        image, region = plant_defects(image, np.random.default_rng(seed), self.planted)
        mask = mask.copy()
        mask[region & (mask != IGNORE_INDEX)] = 1
        return image, mask


class PlantedDataModule(SegmentationDataModule):
    """:class:`SegmentationDataModule` over unlabelled good images; the labels are the
    planted defects. ``planted``: :class:`~visionseg.data.planted.PlantSettings` fields."""

    labelled = False

    def __init__(self, *args: Any, planted: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planted = PlantSettings.from_any(planted)
        if len(self.classes) != 2:
            raise ConfigError(f"data.classes must be two names (good, planted) for planted "
                               f"pre-training, got {self.classes}")

    def new_dataset(self, split: str, train: bool) -> SegmentationDataset:
        return PlantedDataset(
            self.splits[split], self.train_transform if train else self.eval_transform,
            scale16=self.scale16, repeats=self.crops_per_image if train else 1,
            planted=self.planted, fixed_seed=None if train else self.seed,
        )
