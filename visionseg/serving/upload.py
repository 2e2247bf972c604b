"""Decode an uploaded image the way :func:`visionseg.io.images.read_image` reads a file,
but answer bad uploads with an HTTP status and a reason instead of an error."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from visionseg.io.images import to_uint8
from visionseg.io.scale16 import Scale16, png_significant_bits


class UploadError(Exception):
    """An upload the service refuses: ``status`` (4xx) and a reason for the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _check_size(data: bytes, max_pixels: int) -> None:
    """Refuse huge images from their header, before decoding (decompression bombs)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return  # not for PIL to judge: OpenCV decides below
    if width * height > max_pixels:
        raise UploadError(
            413, f"image is {width} x {height} pixels, more than the {max_pixels:,} allowed"
        )


def decode_upload(data: bytes, max_pixels: int, scale16: Scale16 | None = None) -> np.ndarray:
    """``H x W x 3`` uint8 RGB from encoded image bytes (8 or 16 bit, grey, RGB or RGBA);
    16-bit images become 8-bit as ``scale16`` says (read_image's default: ``auto``)."""
    if not data:
        raise UploadError(400, "the upload is empty")
    _check_size(data, max_pixels)
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise UploadError(400, "the JPEG is truncated (no end-of-image marker)")
    array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise UploadError(
            415, "cannot be decoded as an image (PNG, JPEG, BMP or TIFF expected; corrupt or "
            "truncated file?)"
        )
    if array.dtype not in (np.uint8, np.uint16):
        raise UploadError(422, f"pixel type {array.dtype} is not supported (8 or 16 bit integer)")
    if array.shape[0] * array.shape[1] > max_pixels:
        raise UploadError(413, f"image is {array.shape[1]} x {array.shape[0]} pixels, more than "
                               f"the {max_pixels:,} allowed")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] not in (3, 4):
        raise UploadError(422, f"{array.shape[2]} channels are not supported (1, 3 or 4)")
    if array.ndim not in (2, 3):
        raise UploadError(422, f"image shape {array.shape} is not supported")
    array = to_uint8(array, scale16, png_significant_bits(data))
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    code = cv2.COLOR_BGRA2RGB if array.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(array, code)
