"""tile.size=auto: whole images when they fit the pixel budget, tiles of that budget else."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visionseg.core.errors import ConfigError
from visionseg.core.network import BatchedMethod
from visionseg.core.prediction import Prediction
from visionseg.core.tiling import TileSettings


class _Recorder(BatchedMethod):
    """Records which path each image took and the batch sizes of whole predictions."""

    name = "recorder"
    classes = ["background", "defect"]

    def __init__(self, **kwargs) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.whole_batches: list[int] = []
        self.large: list[tuple[int, int]] = []

    def predict_whole(self, images):
        self.whole_batches.append(len(images))
        return [Prediction(mask=np.zeros(im.shape[:2], np.uint8)) for im in images]

    def predict_large(self, image):
        self.large.append(image.shape[:2])
        return Prediction(mask=np.zeros(image.shape[:2], np.uint8))


def test_auto_tile_side_is_the_largest_square_of_the_budget():
    tile = TileSettings("auto", 64, max_megapixels=4.0)
    assert tile.tile_side == 1984 and tile.whole_pixels == 4_000_000
    assert tile.method_kwargs() == {"tile_size": 1984, "tile_overlap": 64,
                                    "max_whole_pixels": 4_000_000}
    fixed = TileSettings(512, 64)
    assert fixed.method_kwargs() == {"tile_size": 512, "tile_overlap": 64,
                                     "max_whole_pixels": None}


@pytest.mark.parametrize("value", [{"size": "big"}, {"size": 8}, {"max_megapixels": 0},
                                   {"max_megapixels": float("nan")},
                                   {"size": 64, "overlap": 64}])
def test_bad_tile_settings_are_one_error_naming_the_setting(value):
    with pytest.raises(ConfigError, match="tile"):
        TileSettings.from_dict(value)


def test_auto_runs_images_whole_under_the_budget_and_tiles_above():
    method = _Recorder(**TileSettings("auto", 16, max_megapixels=0.02).method_kwargs(),
                       batch_size=4)
    small = [np.zeros((100, 150, 3), np.uint8)] * 3  # 15,000 px each
    big = np.zeros((200, 150, 3), np.uint8)  # 30,000 px > 20,000
    method.predict_batch([*small, big])
    assert method.large == [(200, 150)]
    # Batches are cut so that one batch stays within the pixel budget (one 15,000 px image).
    assert method.whole_batches == [1, 1, 1]


def test_fixed_size_keeps_the_old_rule():
    method = _Recorder(**TileSettings(128, 16).method_kwargs(), batch_size=4)
    method.predict_batch([np.zeros((128, 128, 3), np.uint8)] * 2
                         + [np.zeros((129, 64, 3), np.uint8)])
    assert method.whole_batches == [2] and method.large == [(129, 64)]


def test_whole_image_matches_tiled_within_tolerance():
    """The same network whole and tiled (128 px tiles, 32 px overlap) on a 256 x 320 image:
    the masks differ only where a tile edge cut the receptive field (>= 97 % equal)."""
    from visionseg.models.smp.method import SegmenterMethod
    from visionseg.models.smp.network import Segmenter

    torch.manual_seed(0)
    net = Segmenter("Unet", "resnet18", num_classes=3)
    rng = np.random.default_rng(0)
    image = (rng.normal(128, 30, (256, 320, 3)).clip(0, 255)).astype(np.uint8)
    image[100:140, 50:250] = 30  # structure the network answers to
    whole = SegmenterMethod(net, ["a", "b", "c"], device="cpu",
                            **TileSettings("auto", 32, max_megapixels=1.0).method_kwargs())
    tiled = SegmenterMethod(net, ["a", "b", "c"], device="cpu",
                            **TileSettings(128, 32).method_kwargs())
    a, b = whole.predict(image), tiled.predict(image)
    assert a.mask.shape == b.mask.shape == image.shape[:2]
    assert (a.mask == b.mask).mean() >= 0.97


@pytest.mark.parametrize(("shape", "expected"), [
    ((2048, 2048), 1056),   # 2 x 2 tiles of 1056 px, not of 1984 px
    ((10000, 8000), 1728),  # 6 x 5 tiles
    ((1990, 100), 1056),    # just above the tile: two halves
    ((1984, 900), 1984),    # one tile already covers it
])
def test_balanced_tile_covers_with_as_few_tiles_and_fewer_pixels(shape, expected):
    from visionseg.core.tile_settings import balanced_tile
    from visionseg.core.tiling import tile_starts

    side = balanced_tile(*shape, tile=1984, overlap=64)
    assert side == expected and side % 32 == 0
    for length in shape:
        th = min(side, length)
        old = len(tile_starts(length, min(1984, length), 64))
        starts = tile_starts(length, th, 64)
        assert len(starts) == old  # as few tiles as the largest tile needs
        assert starts[-1] + th == length and starts[0] == 0  # the whole side is covered


def test_auto_tiles_large_images_with_the_balanced_side_and_fixed_sizes_keep_theirs():
    auto = _Recorder(**TileSettings("auto", 64, max_megapixels=4.0).method_kwargs())
    fixed = _Recorder(**TileSettings(512, 64).method_kwargs())
    image = np.zeros((2048, 2048, 3), np.uint8)
    assert auto.tile_for(image) == 1056 and fixed.tile_for(image) == 512
