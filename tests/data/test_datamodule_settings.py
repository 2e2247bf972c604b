"""The data settings of train.py: range-checked when built, 16-bit policy fixed once for
the whole data set, and an honest log line about the synthetic set."""

import logging

import cv2
import numpy as np
import pytest
from skimage import data as samples

from visionseg.core.errors import ConfigError
from visionseg.data.datamodule import SegmentationDataModule
from visionseg.data.instance_datamodule import InstanceDataModule
from visionseg.io import Scale16

CLASSES = ["background", "defect"]


@pytest.mark.parametrize(
    "setting,value,message",
    [
        ("batch_size", 0, "data.batch_size must be an integer >= 1, got 0"),
        ("batch_size", 2.5, "data.batch_size must be an integer >= 1"),
        ("eval_batch_size", -1, "data.eval_batch_size must be an integer >= 1"),
        ("crop_size", 8, "data.crop_size must be an integer >= 16, got 8"),
        ("num_workers", -2, "data.num_workers must be an integer >= 0"),
        ("prefetch_factor", 0, "data.prefetch_factor must be an integer >= 1"),
        ("val_fraction", 1.0, r"data.val_fraction must be a number in \(0, 1\), got 1.0"),
        ("val_fraction", 0, r"data.val_fraction must be a number in \(0, 1\)"),
        ("cache_bytes", -1, "data.cache_bytes must be an integer >= 0"),
        ("image16", {"mode": "range", "high": 0}, "image16.low and image16.high"),
    ],
)
def test_out_of_range_settings_are_one_line(tmp_path, setting, value, message):
    with pytest.raises(ConfigError, match=message):
        SegmentationDataModule(str(tmp_path), CLASSES, **{setting: value})


def test_instance_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="data.components_min_area must be an integer >= 1"):
        InstanceDataModule(str(tmp_path), CLASSES, components_min_area=0)


def _sixteen_bit_set(root, bits: int) -> None:
    """Two training images of a ``bits``-bit camera, one of them dark, and a validation one."""
    photo = samples.camera()[::8, ::8].astype(np.uint32)  # 64 x 64
    for split, scale in (("train", 1.0), ("train", 0.2), ("val", 1.0)):
        (root / split / "images").mkdir(parents=True, exist_ok=True)
        (root / split / "masks").mkdir(parents=True, exist_ok=True)
        name = f"{split}_{int(scale * 10)}"
        image = (photo * scale * (2**bits - 1) / 255).astype(np.uint16)
        cv2.imwrite(str(root / split / "images" / f"{name}.png"), image)
        cv2.imwrite(str(root / split / "masks" / f"{name}.png"), np.zeros((64, 64), np.uint8))


def test_auto_is_fixed_to_the_training_sets_bit_depth(tmp_path):
    _sixteen_bit_set(tmp_path, bits=12)
    module = SegmentationDataModule(str(tmp_path), CLASSES, cache_bytes=0)
    module.setup("fit")
    assert module.scale16 == Scale16("range", 0, 4095)
    dark = module.dataset("train")[1]["image"]  # read with the data set's range, not its own
    assert int(dark.max()) == round(255 * 0.2 * samples.camera()[::8, ::8].max() / 255)
    forced = SegmentationDataModule(str(tmp_path), CLASSES, image16={"mode": "full"})
    forced.setup("fit")
    assert forced.scale16 == Scale16("full")


def test_reusing_the_synthetic_set_says_so(tmp_path, caplog):
    settings = {"root": str(tmp_path), "splits": {"train": 2}, "size": 32, "seed": 0}
    module = SegmentationDataModule(str(tmp_path), ["background", "scratch", "spot", "stain"],
                                    synthetic=settings)
    with caplog.at_level(logging.INFO, logger="visionseg.data.datamodule"):
        module.prepare_data()
        module.prepare_data()
    lines = [r.getMessage().split(" the ")[0] for r in caplog.records]
    assert lines == ["Generating", "Using"]
