"""Planted defects for self-supervised pre-training, and several crops per image an epoch."""

import numpy as np
import pytest
import torch
from skimage import data as samples

from visionseg.core.errors import ConfigError
from visionseg.data.datamodule import SegmentationDataModule
from visionseg.data.planted import PlantSettings, plant_defects
from visionseg.data.planted_datamodule import PlantedDataModule
from visionseg.io.images import write_png


def _surface() -> np.ndarray:
    """A real photographed surface (scikit-image's gravel), 128 px RGB."""
    grey = samples.gravel()[:128, :128]
    return np.repeat(grey[..., None], 3, axis=2)


def test_planted_defects_are_where_the_mask_says():
    image = _surface()
    settings = PlantSettings(p_clean=0.0, kinds=(1.0, 1.0, 0.0))
    inside = []
    for seed in range(20):
        out, mask = plant_defects(image, np.random.default_rng(seed), settings)
        assert out.shape == image.shape and out.dtype == np.uint8 and mask.any()
        change = np.abs(out.astype(int) - image.astype(int)).max(axis=2)
        assert (change[mask] > 0).mean() > 0.9  # masked pixels changed (bar clipping)
        inside.append(change[mask].sum() / change.sum())
    # Most of the change is inside the mask; soft edges spill a little around it.
    assert min(inside) > 0.3 and np.median(inside) > 0.7
    assert np.array_equal(image, _surface())  # the input is untouched


def test_contrast_is_in_units_of_the_surface_variation():
    image = _surface()
    settings = PlantSettings(p_clean=0.0, kinds=(1.0, 0.0, 0.0), contrast=(1.0, 1.0),
                             curve_width=(3, 3))
    std = image[..., 0].astype(float).std()
    steps = []
    for seed in range(10):
        out, mask = plant_defects(image, np.random.default_rng(seed), settings)
        diff = out.astype(float).mean(axis=2) - image.astype(float).mean(axis=2)
        steps.append(np.median(np.abs(diff[mask])))
    assert 0.5 * std < np.median(steps) <= 1.05 * std


def test_clean_share_and_seeds_repeat():
    image = _surface()
    settings = PlantSettings(p_clean=0.5)
    clean = [not plant_defects(image, np.random.default_rng(s), settings)[1].any()
             for s in range(200)]
    assert 0.35 < np.mean(clean) < 0.65
    a = plant_defects(image, np.random.default_rng(7), settings)
    b = plant_defects(image, np.random.default_rng(7), settings)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("options,message", [
    ({"contrast": [2.0, 1.0]}, r"data.planted.contrast must be \[min, max\]"),
    ({"curve_width": [0, 3]}, r"data.planted.curve_width must be \[min, max\] with 1"),
    ({"max_defects": 0}, "data.planted.max_defects must be an integer >= 1"),
    ({"p_clean": 1.0}, r"data.planted.p_clean must be a number in \[0, 1\)"),
    ({"kinds": [0, 0, 0]}, "data.planted.kinds must be 3 weights"),
    ({"colour": 3}, r"unknown data.planted setting\(s\) \['colour'\]"),
])
def test_bad_settings_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        PlantSettings.from_any(options)


def _good_images(root, count: int = 6) -> None:
    image = _surface()
    for i in range(count):
        write_png(root / "train" / "images" / f"good_{i}.png", np.roll(image, 9 * i, axis=1))


def test_planted_module_reads_unlabelled_images(tmp_path):
    _good_images(tmp_path)
    # A masks folder from another use of the images is not read (values 7: no class here).
    write_png(tmp_path / "train" / "masks" / "good_0.png", np.full((128, 128), 7, np.uint8),
              rgb=False)
    module = PlantedDataModule(str(tmp_path), ["good", "planted"], crop_size=64,
                               batch_size=2, val_fraction=0.34, cache_bytes=0,
                               planted={"p_clean": 0.0})
    module.setup("fit")
    assert len(module.splits["train"]) == 4 and len(module.splits["val"]) == 2
    val = module.dataset("val")
    first, again = val[0], val[0]
    assert torch.equal(first["image"], again["image"]) and torch.equal(first["mask"], again["mask"])
    assert set(first["mask"].unique().tolist()) == {0, 1}
    train = module.dataset("train", train=True)
    masks = [train[0]["mask"] for _ in range(4)]
    assert any(not torch.equal(masks[0], m) for m in masks[1:])  # fresh defects each read


def test_planted_module_needs_two_classes(tmp_path):
    with pytest.raises(ConfigError, match="two names"):
        PlantedDataModule(str(tmp_path), ["background", "scratch", "stain"])


def test_crops_per_image_multiplies_the_epoch(tmp_path):
    _good_images(tmp_path)
    for i in range(6):
        write_png(tmp_path / "train" / "masks" / f"good_{i}.png", np.zeros((128, 128), np.uint8),
                  rgb=False)
    module = SegmentationDataModule(str(tmp_path), ["background", "defect"], batch_size=2,
                                    val_fraction=0.34, crops_per_image=3, cache_bytes=0)
    module.setup("fit")
    assert len(module.dataset("train", train=True)) == 12
    assert len(module.train_dataloader()) == 6
    assert len(module.dataset("val")) == 2  # evaluation sees every image once
    with pytest.raises(ConfigError, match="data.crops_per_image must be an integer >= 1"):
        SegmentationDataModule(str(tmp_path), ["background", "defect"], crops_per_image=0)


def test_balanced_crops_centre_on_thin_defects_as_often_as_on_large_ones():
    import albumentations as A

    from visionseg.data.crops import BalancedDefectCrop

    mask = np.zeros((256, 256), np.uint8)
    mask[100:160, 100:160] = 2  # a stain of 3600 pixels
    mask[20, :] = 1  # a 1-pixel scratch of 256 pixels
    mask[200:, 200:] = 255  # ignored: never a centre
    image = np.zeros((256, 256, 3), np.uint8)

    def share(transform) -> float:
        compose = A.Compose([transform(64, 64, ignore_values=[255])], seed=0)
        return np.mean([(compose(image=image, mask=mask)["mask"] == 1).any()
                        for _ in range(300)])

    pixel_share, balanced_share = share(A.CropNonEmptyMaskIfExists), share(BalancedDefectCrop)
    assert pixel_share < 0.2 and 0.4 < balanced_share < 0.6
    empty = A.Compose([BalancedDefectCrop(64, 64)], seed=0)(image=image, mask=mask * 0)
    assert empty["mask"].shape == (64, 64)
