"""16-bit images: real sensor data that fills only part of the range stays visible."""

import zlib

import cv2
import numpy as np
import pytest
import tifffile
from skimage import data

from visionseg.core.errors import ConfigError
from visionseg.core.model_card import ModelCard
from visionseg.io import Scale16, read_image
from visionseg.io.scale16 import bits_holding, png_significant_bits, reading_policy


def _camera(bits: int) -> np.ndarray:
    """skimage's camera photograph as a ``bits``-bit sensor writes it into uint16."""
    return (data.camera().astype(np.uint32) * (2**bits - 1) // 255).astype(np.uint16)


def _with_sbit(png: bytes, bits: int) -> bytes:
    """A PNG with an sBIT chunk (as a camera writing 12 significant bits would add)."""
    chunk = b"sBIT" + bytes([bits])
    block = (1).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    return png[:33] + block + png[33:]  # right after the IHDR chunk


@pytest.mark.parametrize("bits,suffix", [(12, ".png"), (12, ".tif"), (10, ".png"), (8, ".tif")])
def test_a_partial_range_sensor_image_keeps_its_contrast(tmp_path, bits, suffix):
    path = tmp_path / f"camera{suffix}"
    if suffix == ".tif":
        tifffile.imwrite(path, _camera(bits))
    else:
        cv2.imwrite(str(path), _camera(bits))
    image = read_image(path)
    reference = data.camera().astype(int)
    assert image.dtype == np.uint8 and image.shape == (512, 512, 3)
    assert np.abs(image[..., 0].astype(int) - reference).max() <= 1
    # The old linear 0..65535 mapping made it almost black; still available on request.
    assert read_image(path, Scale16("full")).max() <= 2**bits // 256 + 1


def test_small_values_in_a_16_bit_file_are_not_black(tmp_path):
    small = (data.coins().astype(np.float32) * 235 / 255).astype(np.uint16)  # 0..235
    path = tmp_path / "microscope.png"
    cv2.imwrite(str(path), small)
    image = read_image(path)[..., 0]
    assert np.array_equal(image, small.astype(np.uint8))  # 8 significant bits: unchanged
    assert image.std() > 30


def test_the_files_own_bit_depth_wins_over_its_largest_value(tmp_path):
    dark = _camera(12) // 4  # a dark 12-bit exposure: largest value below 1024
    ok, png = cv2.imencode(".png", dark)
    assert ok and png_significant_bits(png) is None
    path = tmp_path / "dark.png"
    path.write_bytes(_with_sbit(png.tobytes(), 12))
    assert png_significant_bits(path.read_bytes()) == 12
    image = read_image(path)[..., 0]
    expected = Scale16("range", 0, 4095).apply(dark)
    assert np.array_equal(image, expected) and image.max() < 70


def test_forced_range_and_stretch(tmp_path):
    path = tmp_path / "c.png"
    cv2.imwrite(str(path), _camera(12))
    forced = read_image(path, Scale16("range", 0, 1023))[..., 0]
    assert forced.max() == 255 and (forced == 255).mean() > 0.5  # 12-bit read as 10-bit
    stretched = read_image(path, Scale16("stretch"))[..., 0]
    assert stretched.min() == 0 and stretched.max() == 255


def test_auto_resolves_to_one_fixed_range():
    assert bits_holding(0) == 8 and bits_holding(255) == 8 and bits_holding(256) == 10
    assert bits_holding(4095) == 12 and bits_holding(65535) == 16
    assert Scale16().resolved(3000) == Scale16("range", 0, 4095)
    assert Scale16().resolved(200, bits=12) == Scale16("range", 0, 4095)
    assert Scale16("stretch").resolved(3000) == Scale16("stretch")


@pytest.mark.parametrize(
    "value,message",
    [
        ({"mode": "linear"}, "image16.mode must be one of"),
        ({"mode": "range", "low": 10, "high": 5}, "0 <= low < high <= 65535"),
        ({"mode": "range", "high": 70000}, "0 <= low < high <= 65535"),
        ({"mode": "auto", "bits": 12}, "unknown image16 setting"),
    ],
)
def test_bad_policies_are_one_line(value, message):
    with pytest.raises(ConfigError, match=message):
        Scale16.from_dict(value)


def test_no_mode_means_the_given_default():
    assert Scale16.from_dict(None) == Scale16()
    assert Scale16.from_dict({"mode": None}, default=Scale16("full")) == Scale16("full")


def test_methods_evaluated_together_share_one_policy():
    class Model:
        def __init__(self, scale16=None):
            self.card = None if scale16 is None else ModelCard("x.Y", ["a"],
                                                               image16=scale16.to_dict())

    twelve = Scale16("range", 0, 4095)
    assert reading_policy([Model(), Model(twelve), Model(twelve)]) == twelve
    assert reading_policy([Model()]) == Scale16()
    with pytest.raises(ConfigError, match="read 16-bit images differently"):
        reading_policy([Model(twelve), Model(Scale16("full"))])
    trained = Scale16("range", 0, 4095)
    assert Scale16.from_dict({"mode": "full"}, default=trained) == Scale16("full")
