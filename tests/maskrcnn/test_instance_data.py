"""Instance targets: sources, boxes and masks, augmentation consistency, empty images."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.conftest import ROOT
from tests.maskrcnn.annotations import coco_file
from visionseg.data.convert.__main__ import main as convert
from visionseg.data.folder import DatasetError
from visionseg.data.instance_datamodule import (
    InstanceDataModule,
    instance_collate,
    instance_target,
)
from visionseg.io.images import write_png


def test_target_boxes_and_masks_match_an_independent_computation():
    rng = np.random.default_rng(3)
    labels = np.zeros((40, 50), np.uint16)
    boxes = []
    for i, (y, x, h, w) in enumerate([(2, 3, 5, 9), (20, 30, 12, 4), (35, 0, 1, 1)], start=1):
        labels[y : y + h, x : x + w] = i
        boxes.append([x, y, x + w, y + h])
    labels[21, 31] = 0  # a hole does not change the box
    classes = rng.integers(1, 4, 3)
    target = instance_target(labels, classes)
    assert target["boxes"].tolist() == boxes
    assert target["labels"].tolist() == classes.tolist()
    for k, mask in enumerate(target["masks"].numpy(), start=1):
        assert np.array_equal(mask.astype(bool), labels == k)
    # The 1-pixel instance is left out when smaller than min_area; an id never used is too.
    small = instance_target(labels, np.array([*classes, 1]), min_area=2)
    assert small["labels"].tolist() == classes[:2].tolist() and len(small["masks"]) == 2
    empty = instance_target(np.zeros((8, 9), np.uint16), np.zeros(0, np.int64))
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 8, 9)
    assert empty["labels"].dtype == torch.int64


@pytest.fixture(scope="module")
def instance_cfg():
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=["model=maskrcnn", "data.crop_size=32"])


def test_augmentations_keep_image_masks_and_boxes_consistent(instance_cfg, tmp_path):
    """Geometric transforms move image and instances together; instances stay whole ids."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # albumentations drops renamed arguments with a warning
        transform = instantiate(instance_cfg.data.train_transform)
    transform.transforms = [t for t in transform.transforms
                            if type(t).__name__ != "RandomBrightnessContrast"]
    transform.set_random_seed(0)
    size = 48
    labels = np.zeros((size, size), np.uint16)
    labels[5:15, 6:30] = 1
    labels[25:40, 30:36] = 2
    labels[30:34, 8:12] = 3
    image = np.zeros((size, size, 3), np.uint8)
    image[..., 0] = np.where(labels > 0, 255, 0)
    image[..., 1] = labels * 60
    checked = 0
    for _ in range(40):
        out = transform(image=image, mask=labels)
        target = instance_target(out["mask"], np.array([1, 2, 3]))
        assert out["image"].shape[:2] == (32, 32) == out["mask"].shape
        assert set(np.unique(out["mask"])) <= {0, 1, 2, 3}
        union = target["masks"].sum(0).numpy() > 0
        bright = out["image"][..., 0] > 127
        if union.sum() >= 20:
            assert (union & bright).sum() / (union | bright).sum() > 0.9
            checked += 1
        for box, mask in zip(target["boxes"].numpy(), target["masks"].numpy(), strict=True):
            ys, xs = np.nonzero(mask)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert checked >= 20


def _datamodule(cfg, root, **overrides) -> InstanceDataModule:
    data = {**OmegaConf.to_container(cfg.data, resolve=True), "root": str(root),
            "synthetic": None, "batch_size": 2, "eval_batch_size": 2, **overrides}
    return instantiate(data)


def test_sources_in_order_of_preference_and_empty_images(instance_cfg, tmp_path):
    root = tmp_path / "data"
    assert convert(["coco", str(coco_file(tmp_path / "src")), str(root),
                    "--classes", "background,scratch,spot,stain"]) == 0
    # A second split without instance masks: connected regions of the class mask.
    val = root / "val"
    mask = np.zeros((48, 64), np.uint8)
    mask[2:10, 2:10] = 1
    mask[20:30, 20:24] = 1
    mask[40, 40] = 2  # a 1-pixel region, below components_min_area
    write_png(val / "masks/v0.png", mask, rgb=False)
    write_png(val / "images/v0.png", np.zeros((48, 64, 3), np.uint8))
    write_png(val / "masks/v1.png", np.zeros((48, 64), np.uint8), rgb=False)
    write_png(val / "images/v1.png", np.zeros((48, 64, 3), np.uint8))
    dm = _datamodule(instance_cfg, root)
    dm.setup("fit")
    assert dm.audit_report["instance_sources"] == {"train": {"instances": 3},
                                                   "val": {"components": 2}}
    batch = next(iter(dm.val_dataloader()))
    counts = [len(t["labels"]) for t in batch.targets]
    assert counts == [2, 0]
    assert batch.targets[1]["boxes"].shape == (0, 4)
    assert batch.targets[1]["masks"].shape == (0, 48, 64)
    train_batch = next(iter(dm.train_dataloader()))
    assert train_batch.image.dtype == torch.uint8
    assert train_batch.image.shape == (2, 3, 32, 32)
    for target in train_batch.targets:
        assert target["masks"].shape[-2:] == (32, 32)


def test_bad_instance_files_stop_setup_with_the_file_list(instance_cfg, tmp_path):
    root = tmp_path / "data"
    assert convert(["coco", str(coco_file(tmp_path / "src")), str(root)]) == 0
    write_png(root / "train/instances/part_a.png", np.zeros((10, 10), np.uint16), rgb=False)
    (root / "train/instances/part_b.png").write_bytes(b"junk")
    (root / "train/instances/part_c.png").unlink()
    (root / "train/labelme").mkdir()
    (root / "train/labelme/part_c.json").write_text(json.dumps(
        {"shapes": [{"label": "dent", "points": [[1, 1], [5, 1], [5, 5]]}], "imagePath": "x.png",
         "imageHeight": 48, "imageWidth": 64}))
    with pytest.raises(DatasetError) as err:
        _datamodule(instance_cfg, root).setup("fit")
    message = str(err.value)
    assert "part_a.png: instance mask is 10x10 but its class mask is 64x48" in message
    assert "part_b.png: not a single-channel instance-id image" in message
    assert "part_c.json: shape 0 ('dent'): unknown category name 'dent'" in message


def test_collate_pads_targets_to_the_batch(instance_cfg):
    items = []
    for h, w in ((20, 30), (24, 16)):
        labels = np.zeros((h, w), np.uint16)
        labels[2:6, 3:9] = 1
        items.append({"image": torch.zeros(3, h, w, dtype=torch.uint8),
                      "mask": torch.zeros(h, w, dtype=torch.long),
                      "target": instance_target(labels, np.array([2])), "name": "x",
                      "size": (h, w)})
    batch = instance_collate(items)
    assert batch.image.shape == (2, 3, 24, 30) and batch.sizes == [(20, 30), (24, 16)]
    for target in batch.targets:
        assert target["masks"].shape == (1, 24, 30)
        assert target["masks"][0, 2:6, 3:9].all() and target["masks"].sum() == 24
