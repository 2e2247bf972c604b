"""Batched device augmentation: exact flips, image/mask alignment under warps, seeding,
photometric ranges, and its place in the training loop."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from tests.conftest import ROOT, TINY_TRAIN
from visionseg.data.device_augment import DeviceAugment

OFF = dict(hflip=0.0, vflip=0.0, rot90=0.0, affine=0.0, photometric=0.0)


def _batch(n: int = 6, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks of 8x8 blocks of classes 0-3 and images whose first channel is 60 x class."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, 4, (n, size // 8, size // 8), generator=g)
    masks = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
    images = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    images[:, 0] = (60 * masks).to(torch.uint8)
    return images, masks


def test_all_probabilities_zero_is_the_identity():
    images, masks = _batch()
    out_images, out_masks = DeviceAugment(**OFF)(images, masks)
    assert torch.equal(out_images, images) and torch.equal(out_masks, masks)


def test_certain_flips_and_turns_are_exact():
    images, masks = _batch()
    out_images, out_masks = DeviceAugment(**{**OFF, "hflip": 1.0, "vflip": 1.0})(images, masks)
    assert torch.equal(out_images, images.flip(-1).flip(-2))
    assert torch.equal(out_masks, masks.flip(-1).flip(-2))
    out_images, out_masks = DeviceAugment(**{**OFF, "rot90": 1.0}, seed=3)(images, masks)
    for i in range(len(images)):
        assert any(
            torch.equal(out_images[i], images[i].rot90(k, (-2, -1)))
            and torch.equal(out_masks[i], masks[i].rot90(k, (-2, -1)))
            for k in range(4)
        )


def test_warped_masks_stay_aligned_with_their_images():
    images, masks = _batch(n=16, size=64)
    augment = DeviceAugment(**{**OFF, "affine": 1.0}, scale=(0.8, 1.2),
                            translate=(-0.1, 0.1), rotate=(-30, 30), seed=1)
    out_images, out_masks = augment(images, masks)
    assert not torch.equal(out_masks, masks)
    valid = out_masks != 255
    assert 0.5 < valid.float().mean() < 1.0
    # Inside uniform 3x3 neighbourhoods (beyond the crop counts as ignored) the bilinear
    # image agrees with the nearest-neighbour mask.
    labels = F.pad(out_masks.float().unsqueeze(1), (1, 1, 1, 1), value=255.0)
    uniform = (F.max_pool2d(labels, 3, 1) == -F.max_pool2d(-labels, 3, 1)).squeeze(1)
    inside = uniform & valid
    diff = (out_images[:, 0].int() - 60 * out_masks.int()).abs()
    assert inside.sum() > 1000 and diff[inside].max() <= 1
    # Pixels from outside the crop are black and ignored, never background.
    outside = ~valid
    assert out_images[:, 0][outside].float().mean() < 5


def test_brightness_shifts_each_image_by_one_bounded_offset():
    images = torch.full((8, 3, 16, 16), 128, dtype=torch.uint8)
    masks = torch.zeros((8, 16, 16), dtype=torch.long)
    augment = DeviceAugment(**{**OFF, "photometric": 1.0}, brightness=0.1, contrast=0.0)
    out, out_masks = augment(images, masks)
    offsets = out.int() - 128
    per_image = offsets.flatten(1)
    assert torch.equal(per_image.min(1).values, per_image.max(1).values)
    assert per_image.abs().max() <= 26 and len(set(per_image[:, 0].tolist())) > 1
    assert torch.equal(out_masks, masks)


def test_seed_and_rank_decide_the_stream():
    images, masks = _batch()
    first = DeviceAugment(seed=5)(images, masks)
    again = DeviceAugment(seed=5)(images, masks)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    other = DeviceAugment(seed=5)
    other.set_rank(1)
    assert not torch.equal(other(images, masks)[1], first[1])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="uint8"):
        DeviceAugment()(torch.zeros((2, 3, 8, 8)), torch.zeros((2, 8, 8), dtype=torch.long))
    with pytest.raises(ValueError, match="hflip"):
        DeviceAugment(hflip=1.5)


def test_training_with_device_augment_lowers_the_loss(tiny_data, tmp_path, monkeypatch):
    from visionseg.training.run import train

    calls: list[bool] = []
    forward = DeviceAugment.forward

    def spy(self, images, masks):
        calls.append(True)
        return forward(self, images, masks)

    monkeypatch.setattr(DeviceAugment, "forward", spy)
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "data/augment=device",
                f"data.root={tiny_data}",
                "data.synthetic=null",
                *TINY_TRAIN,
                "logger=csv",
                f"paths.output_dir={tmp_path}",
            ],
        )
    train(cfg)
    metrics = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    epoch_loss = metrics.dropna(subset=["train/loss_epoch"])["train/loss_epoch"].to_numpy()
    assert len(epoch_loss) == 3 and epoch_loss[-1] < epoch_loss[0]
    # Three training batches an epoch (24 images, batch 8); validation is never augmented.
    assert len(calls) == 9
