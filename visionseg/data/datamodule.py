"""LightningDataModule over the folder layout, with the built-in synthetic set on demand."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, get_worker_info

from visionseg.core.errors import ConfigError
from visionseg.data import synthetic
from visionseg.data.batch import SegmentationBatch
from visionseg.data.dataset import SegmentationDataset, pad_collate
from visionseg.data.folder import DatasetError, Sample, Survey16, audit_samples, list_split
from visionseg.data.sampling import (
    BalancedSampler,
    auto_epoch_steps,
    balanced_weights,
    class_presence,
)
from visionseg.data.settings import check_fraction, check_int
from visionseg.io.scale16 import Scale16

log = logging.getLogger(__name__)


def _worker_init(worker_id: int) -> None:
    """One thread per worker (OpenCV and torch pools otherwise oversubscribe the cores) and
    a distinct, repeatable augmentation seed per worker (albumentations ignores
    seed_everything)."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    info = get_worker_info()
    transform = getattr(info.dataset, "transform", None) if info else None
    if transform is not None and hasattr(transform, "set_random_seed"):
        transform.set_random_seed(int(info.seed % 2**31))


class SegmentationDataModule(L.LightningDataModule):
    """Train/val/test loaders for ``ROOT/<split>/{images,masks}``.

    ``val`` falls back to a seeded ``val_fraction`` of train when ``ROOT/val`` is missing;
    ``test`` is optional. ``crop_size`` is the training crop the transforms produce.
    ``cache_bytes`` > 0 keeps the decoded training set in memory when it fits that bound.
    ``crops_per_image`` > 1 cuts that many training crops of every image per epoch (each
    with its own random, defect-seeking position): with ``crop_size`` smaller than the
    images, e.g. 4 crops of 128 px from 256 px images, an epoch costs about the same
    pixels as one whole-image pass but takes 4x the optimiser steps, each nearer a defect.
    ``sampler``: ``uniform`` (every image once a pass) or ``balanced`` (each defect class
    drawn equally often, good images ``good_share`` of the draws;
    :mod:`~visionseg.data.sampling`). ``epoch_steps``: optimiser steps a training pass
    (an "epoch", validated at its end) draws; ``None`` = one draw of every image crop (the
    classic epoch), ``"auto"`` = as many steps as cost about ``VALIDATION_RATIO`` times one
    validation (:func:`~visionseg.data.sampling.auto_epoch_steps`), so a large validation
    split is validated less often. ``max_steps``: this data set's default training budget
    in optimiser steps (``trainer.max_steps`` reads it from the config; -1 = none), and
    ``max_time`` its budget in wall time (``trainer.max_time`` reads it; kept for the record,
    checked by the trainer).
    ``device_transform`` (e.g. :class:`~visionseg.data.device_augment.DeviceAugment`)
    augments each training batch on the training device, after ``train_transform``.
    Every split used is audited before training starts, so a bad file stops the run with
    one message listing the offending files. When ``root`` equals ``synthetic.root`` the
    built-in synthetic set is generated there first (once).
    """

    collate_fn = staticmethod(pad_collate)
    #: False for unlabelled data (e.g. planted defects): masks are neither needed nor read.
    labelled = True

    def __init__(
        self,
        root: str,
        classes: Sequence[str],
        crop_size: int | None = None,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        prefetch_factor: int | None = None,
        val_fraction: float = 0.2,
        seed: int = 0,
        train_transform: Callable | None = None,
        eval_transform: Callable | None = None,
        device_transform: Callable | None = None,
        image16: Mapping[str, Any] | None = None,
        cache_bytes: int = 0,
        crops_per_image: int = 1,
        sampler: str = "uniform",
        good_share: float = 0.25,
        epoch_steps: int | str | None = None,
        max_steps: int | None = None,
        max_time: str | None = None,
        audit: bool = True,
        synthetic: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.root = Path(root)
        self.classes = list(classes)
        self.crop_size = check_int("data.crop_size", crop_size, 16, optional=True)
        self.batch_size = check_int("data.batch_size", batch_size, 1)
        self.eval_batch_size = check_int("data.eval_batch_size", eval_batch_size, 1,
                                         optional=True) or batch_size
        self.num_workers = check_int("data.num_workers", num_workers, 0)
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers and num_workers > 0
        check_int("data.prefetch_factor", prefetch_factor, 1, optional=True)
        self.prefetch_factor = prefetch_factor if num_workers > 0 else None
        self.val_fraction = check_fraction("data.val_fraction", val_fraction, True, True)
        self.seed = seed
        self.train_transform = train_transform
        self.eval_transform = eval_transform
        self.device_transform = device_transform
        self.scale16 = Scale16.from_dict(image16)
        self.cache_bytes = check_int("data.cache_bytes", cache_bytes, 0)
        self.crops_per_image = check_int("data.crops_per_image", crops_per_image, 1)
        if sampler not in ("uniform", "balanced"):
            raise ConfigError(f"data.sampler must be uniform or balanced, got {sampler!r}")
        self.sampler = sampler
        self.good_share = check_fraction("data.good_share", good_share)
        if epoch_steps != "auto":
            check_int("data.epoch_steps", epoch_steps, 1, optional=True)
        self.epoch_steps = epoch_steps
        # The data set's default training budget; the trainer config reads it.
        self.max_steps = (max_steps if max_steps == -1
                          else check_int("data.max_steps", max_steps, 1, optional=True))
        self.max_time = max_time
        self.audit = audit
        self.synthetic = dict(synthetic) if synthetic else None
        self.splits: dict[str, list[Sample]] = {}
        self.audit_report: dict[str, Any] = {}

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def prepare_data(self) -> None:
        if self.synthetic and Path(self.synthetic.get("root", "")).resolve() == self.root.resolve():
            options = {k: v for k, v in self.synthetic.items() if k != "root"}
            before = _top_level_state(self.root)
            if not before:
                log.info("Generating the built-in synthetic defect data set in %s", self.root)
            synthetic.generate(self.root, **options)
            if before and _top_level_state(self.root) == before:
                log.info("Using the built-in synthetic defect data set in %s", self.root)
            elif before:
                log.info("Regenerated the built-in synthetic defect data set in %s (its "
                         "settings changed)", self.root)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        if not self.root.is_dir():
            raise DatasetError(
                f"{self.root}: data root not found. Set data.root to a folder laid out as "
                "ROOT/train/images + ROOT/train/masks (see README)."
            )
        train = self._list("train")
        if (self.root / "val").is_dir():
            val = self._list("val")
        else:
            train, val = self._split_off_val(train)
        self.splits = {"train": train, "val": val}
        if (self.root / "test").is_dir():
            self.splits["test"] = self._list("test")
        if self.audit:
            self._audit()

    def _list(self, split: str) -> list[Sample]:
        return list_split(self.root, split, self.labelled, read_masks=self.labelled)

    def _audit(self) -> None:
        """Audit every split (one error listing every bad file) and fix ``image16: auto``
        to one range for the whole data set, from what the training images hold."""
        problems: list[str] = []
        survey = Survey16()
        for name, samples in self.splits.items():
            try:
                self.audit_report[name] = audit_samples(
                    samples, self.num_classes, survey if name == "train" else None
                )
            except DatasetError as err:
                problems.extend(err.problems)
        if problems:
            raise DatasetError(
                f"{self.root}: {len(problems)} file(s) cannot be used for training "
                f"(classes {self.classes})",
                problems,
            )
        if survey.images:
            self.scale16 = self.scale16.resolved(survey.max_value, survey.bits)
            log.info("16-bit images (%d in train) are read as %s", survey.images,
                     self.scale16.to_dict())

    def _split_off_val(self, train: list[Sample]) -> tuple[list[Sample], list[Sample]]:
        if len(train) < 2:
            raise DatasetError(
                f"{self.root / 'train'}: needs at least 2 images to split off validation "
                "(or provide ROOT/val)"
            )
        order = np.random.default_rng(self.seed).permutation(len(train))
        n_val = min(max(1, round(len(train) * self.val_fraction)), len(train) - 1)
        val_idx = set(order[:n_val].tolist())
        return (
            [s for i, s in enumerate(train) if i not in val_idx],
            [s for i, s in enumerate(train) if i in val_idx],
        )

    def new_dataset(self, split: str, train: bool) -> SegmentationDataset:
        """The torch data set of one split (subclasses build their own kind)."""
        return SegmentationDataset(
            self.splits[split], self.train_transform if train else self.eval_transform,
            scale16=self.scale16, repeats=self.crops_per_image if train else 1,
        )

    def dataset(self, split: str, train: bool = False) -> SegmentationDataset:
        dataset = self.new_dataset(split, train)
        if train and self.cache_bytes and dataset.preload(self.cache_bytes):
            log.info("%s: %d decoded images cached in memory", split, len(dataset.samples))
        return dataset

    def steps_per_epoch(self) -> int | None:
        """Optimiser steps a training pass takes (None: one draw of every image crop)."""
        if self.epoch_steps != "auto":
            return self.epoch_steps
        if not self.audit_report.get("val"):
            return None
        trainer = getattr(self, "trainer", None)
        budget = trainer.max_steps if trainer is not None and trainer.max_steps > 0 else None
        if budget is None and self.max_steps is not None and self.max_steps > 0:
            budget = self.max_steps
        return auto_epoch_steps(self.audit_report["val"]["pixels"], self.batch_size,
                                self.crop_size or 256, budget=budget)

    def _train_sampler(self, dataset: SegmentationDataset) -> BalancedSampler | None:
        """The sampler of the training loader: balanced or uniform draws with replacement,
        ``steps_per_epoch`` batches a pass; None for plain shuffling (uniform, no
        ``epoch_steps``)."""
        steps = self.steps_per_epoch()
        balanced = self.sampler == "balanced" and self.labelled
        if not balanced and steps is None:
            return None
        length = steps * self.batch_size if steps else len(dataset)
        if not balanced:
            weights = np.full(len(dataset.samples), 1.0 / len(dataset.samples))
            return BalancedSampler(weights, length, self.seed)
        presence = [class_presence(dataset.load(i)[1], self.num_classes)
                    for i in range(len(dataset.samples))]
        held = {self.classes[c]: sum(c in p for p in presence)
                for c in range(1, self.num_classes)}
        log.info("balanced sampling: images per defect class %s, %d good, good share %.2f, "
                 "%d steps a pass", held, sum(not p for p in presence), self.good_share,
                 length // self.batch_size)
        return BalancedSampler(balanced_weights(presence, self.good_share), length, self.seed)

    def _loader(self, split: str, train: bool) -> DataLoader:
        dataset = self.dataset(split, train)
        sampler = self._train_sampler(dataset) if train else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train and sampler is None,
            sampler=sampler,
            drop_last=train and len(dataset) > self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
            prefetch_factor=self.prefetch_factor,
            worker_init_fn=_worker_init if self.num_workers > 0 else None,
            collate_fn=self.collate_fn,
        )

    def on_after_batch_transfer(self, batch: SegmentationBatch, dataloader_idx: int
                                ) -> SegmentationBatch:
        trainer = self.trainer
        if self.device_transform is not None and trainer is not None and trainer.training:
            if hasattr(self.device_transform, "set_rank"):
                self.device_transform.set_rank(trainer.global_rank)
            batch.image, batch.mask = self.device_transform(batch.image, batch.mask)
        return batch

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        if "test" not in self.splits:
            raise DatasetError(f"{self.root / 'test'}: no test split")
        return self._loader("test", train=False)


def _top_level_state(root: Path) -> dict[str, int]:
    """Names and modification times of the entries of ``root`` (empty when it is absent):
    tells whether the synthetic generator wrote anything."""
    if not root.is_dir():
        return {}
    return {p.name: p.stat().st_mtime_ns for p in root.iterdir()}
