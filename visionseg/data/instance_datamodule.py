"""LightningDataModule for Mask R-CNN: the folder data sets with instance targets.

Splits, validation hold-out, audit and the built-in synthetic set are those of
:class:`SegmentationDataModule`; each sample also gets its instance source
(:mod:`visionseg.data.instances`). Augmentation transforms the instance-id image as the
albumentations ``mask`` (nearest-neighbour, so ids survive rotation and scaling), and
boxes and per-instance masks are derived from it afterwards: they cannot disagree with
the image. Instances cut down below ``min_instance_area`` pixels by a crop are left out,
and images without any defect are valid samples with empty targets.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from visionseg.core.errors import ConfigError
from visionseg.data.batch import SegmentationBatch
from visionseg.data.datamodule import SegmentationDataModule
from visionseg.data.dataset import pad_collate
from visionseg.data.folder import IGNORE_INDEX, DatasetError, Sample
from visionseg.data.instances import InstanceTargets
from visionseg.data.settings import check_int
from visionseg.io.images import read_image, read_mask
from visionseg.io.scale16 import Scale16

log = logging.getLogger(__name__)


def instance_target(
    labels: np.ndarray, classes: np.ndarray, min_area: int = 1
) -> dict[str, torch.Tensor]:
    """torchvision target of an instance-id image: ``boxes`` (x0, y0, x1, y1; x1/y1 one past
    the last pixel), ``labels`` (class ids) and ``masks`` (N x H x W uint8)."""
    height, width = labels.shape
    areas = np.bincount(labels.ravel(), minlength=len(classes) + 1)
    ids = [i for i in range(1, len(classes) + 1) if areas[i] >= max(min_area, 1)]
    masks = (labels[None] == np.array(ids, labels.dtype).reshape(-1, 1, 1)).astype(np.uint8)
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    boxes = np.stack([cols.argmax(1), rows.argmax(1), width - cols[:, ::-1].argmax(1),
                      height - rows[:, ::-1].argmax(1)], axis=1).astype(np.float32)
    return {
        "boxes": torch.from_numpy(boxes),
        "labels": torch.as_tensor(classes[np.array(ids, np.int64) - 1] if ids else [],
                                  dtype=torch.int64),
        "masks": torch.from_numpy(masks.reshape(len(ids), height, width)),
    }


class InstanceDataset(Dataset):
    """``{"image": uint8 3xHxW, "mask": int64 HxW, "target": {...}, "name", "size"}``.

    ``mask`` is the class mask: read from disk when not augmented, else painted from the
    augmented instances (training does not use it). ``repeats``: as in
    :class:`~visionseg.data.dataset.SegmentationDataset`.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        targets: InstanceTargets,
        transform: Callable | None = None,
        scale16: Scale16 | None = None,
        min_instance_area: int = 1,
        repeats: int = 1,
    ) -> None:
        self.samples = list(samples)
        self.targets = targets
        self.transform = transform
        self.scale16 = scale16
        self.min_instance_area = min_instance_area
        self.repeats = repeats

    def __len__(self) -> int:
        return len(self.samples) * self.repeats

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index % len(self.samples)]
        image = read_image(sample.image, self.scale16)
        semantic = (read_mask(sample.mask) if sample.mask is not None
                    else np.full(image.shape[:2], IGNORE_INDEX, np.uint8))
        instances = self.targets.read(sample, semantic)
        labels = instances.labels.astype(np.uint16)
        if self.transform is not None:
            out = self.transform(image=image, mask=labels)
            image, labels = out["image"], out["mask"]
            semantic = np.concatenate([[0], instances.classes]).astype(np.uint8)[labels]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            "mask": torch.from_numpy(np.ascontiguousarray(semantic)).long(),
            "target": instance_target(labels, instances.classes, self.min_instance_area),
            "name": sample.name,
            "size": tuple(image.shape[:2]),
        }


def instance_collate(batch: list[dict]) -> SegmentationBatch:
    """:func:`pad_collate` plus ``targets`` (masks padded to the batch's size) and ``sizes``."""
    out = pad_collate(batch)
    height, width = out.image.shape[-2:]
    targets = []
    for item in batch:
        target = dict(item["target"])
        masks = target["masks"]
        if masks.shape[-2:] != (height, width):
            padded = torch.zeros((len(masks), height, width), dtype=masks.dtype)
            padded[:, : masks.shape[1], : masks.shape[2]] = masks
            target["masks"] = padded
        targets.append(target)
    out.targets = targets
    out.sizes = [item["size"] for item in batch]
    return out


class InstanceDataModule(SegmentationDataModule):
    """:class:`SegmentationDataModule` whose batches also carry Mask R-CNN targets.

    ``components_min_area``: smallest connected region taken as an instance when the class
    mask is the only source. ``min_instance_area``: smallest (augmented) instance trained on.
    """

    provides_instances = True
    collate_fn = staticmethod(instance_collate)

    def __init__(
        self,
        *args: Any,
        components_min_area: int = 4,
        min_instance_area: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        check_int("data.components_min_area", components_min_area, 1)
        check_int("data.min_instance_area", min_instance_area, 0)
        if self.device_transform is not None:
            raise ConfigError(
                "data.device_transform warps semantic masks only; Mask R-CNN targets (boxes, "
                "instance masks) need train_transform (albumentations): set "
                "data.device_transform=null"
            )
        self.components_min_area = components_min_area
        self.min_instance_area = min_instance_area
        self.targets = InstanceTargets(self.classes, components_min_area)
        self._attached = False

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self._attached:
            return
        problems: list[str] = []
        sources: dict[str, dict[str, int]] = {}
        for split, samples in self.splits.items():
            attached, found = self.targets.attach(samples, audit=self.audit)
            self.splits[split] = attached  # type: ignore[assignment]
            problems.extend(found)
            sources[split] = dict(Counter(s.source for s in attached))
        if problems:
            raise DatasetError(
                f"{self.root}: {len(problems)} instance annotation problem(s)", problems
            )
        self.audit_report["instance_sources"] = sources
        log.info("instance sources per split: %s", sources)
        self._attached = True

    def dataset(self, split: str, train: bool = False) -> InstanceDataset:
        transform = self.train_transform if train else self.eval_transform
        return InstanceDataset(self.splits[split], self.targets, transform,
                               scale16=self.scale16,
                               min_instance_area=self.min_instance_area if train else 1,
                               repeats=self.crops_per_image if train else 1)
