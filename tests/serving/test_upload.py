"""Uploads decode like files read by read_image; bad ones get a 4xx status and a reason."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.serving.conftest import encode_png, part_image
from visionseg.io.images import read_image
from visionseg.serving.upload import UploadError, decode_upload

MAX = 10_000_000


@pytest.mark.parametrize("kind", ["rgb", "grey", "rgba", "grey16"])
def test_uploads_decode_like_files(tmp_path, kind):
    rgb = part_image(0)
    array = {"rgb": rgb[:, :, ::-1], "grey": rgb[:, :, 0],
             "rgba": np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)]),
             "grey16": rgb[:, :, 0].astype(np.uint16) * 257}[kind]
    path = tmp_path / "x.png"
    assert cv2.imwrite(str(path), array)
    np.testing.assert_array_equal(decode_upload(path.read_bytes(), MAX), read_image(path))


def _status(data: bytes, max_pixels: int = MAX) -> int:
    with pytest.raises(UploadError) as info:
        decode_upload(data, max_pixels)
    assert info.value.reason
    return info.value.status


def test_bad_uploads_get_a_reason():
    assert _status(b"") == 400
    assert _status(b"this is not an image") == 415
    png = encode_png(part_image(1))
    assert _status(png[: len(png) // 2]) == 415
    ok, jpeg = cv2.imencode(".jpg", part_image(1))
    assert _status(jpeg.tobytes()[:-200]) == 400
    assert _status(png, max_pixels=1000) == 413


def test_float_images_are_refused(tmp_path):
    path = tmp_path / "f.tiff"
    assert cv2.imwrite(str(path), np.random.default_rng(0).random((16, 16), dtype=np.float32))
    assert _status(path.read_bytes()) == 422
