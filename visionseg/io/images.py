"""One image reader for training, evaluation and inference.

Every image becomes an ``H x W x 3`` uint8 RGB array:

- grayscale (8 or 16 bit) is replicated to three channels;
- RGBA drops its alpha channel (factory cameras do not use transparency);
- 16-bit data is mapped to 8 bit as its :class:`~visionseg.io.scale16.Scale16` policy says
  (by default from its real bit depth, so a 12-bit camera's 0..4095 fills 0..255);
- float TIFFs are clipped to [0, 1] and scaled to 0..255.

Masks are read unchanged as ``H x W`` uint8 class ids.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from visionseg.core.errors import UserError
from visionseg.io.atomic import write_bytes
from visionseg.io.scale16 import Scale16, png_significant_bits

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class ImageReadError(UserError):
    """An image or mask file that cannot be used; the message names the file and why."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _read_bytes(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ImageReadError(path, "file not found")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise ImageReadError(path, "file is empty")
    return data


def _decode(path: Path, data: np.ndarray, flags: int) -> np.ndarray:
    array = cv2.imdecode(data, flags)
    if array is None or array.size == 0:
        raise ImageReadError(path, "cannot be decoded as an image (corrupt or unsupported format)")
    return array


def decode_unchanged(path: str | os.PathLike) -> tuple[np.ndarray, int | None]:
    """The image as stored (any dtype and channel count) and its significant bits per
    sample when the file says (PNG ``sBIT``); ImageReadError if unusable."""
    path = Path(path)
    data = _read_bytes(path)
    return _decode(path, data, cv2.IMREAD_UNCHANGED), png_significant_bits(data)


def to_uint8(
    array: np.ndarray, scale16: Scale16 | None = None, bits: int | None = None
) -> np.ndarray:
    """Map an integer or float image to uint8 as described in the module docstring;
    ``bits`` is the file's significant bits (16-bit images only)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (scale16 or Scale16()).apply(array, bits)
    if np.issubdtype(array.dtype, np.floating):
        return (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    info = np.iinfo(array.dtype)
    scaled = (array.astype(np.float64) - info.min) * (255.0 / (info.max - info.min))
    return scaled.astype(np.uint8)


def read_image(path: str | os.PathLike, scale16: Scale16 | None = None) -> np.ndarray:
    """Read any supported image as ``H x W x 3`` uint8 RGB; raise ImageReadError if unusable.

    ``scale16``: how 16-bit images become 8-bit (default: :class:`Scale16` ``auto``).
    """
    path = Path(path)
    array, bits = decode_unchanged(path)
    array = to_uint8(array, scale16, bits)
    if array.ndim == 2:
        return np.ascontiguousarray(np.repeat(array[:, :, None], 3, axis=2))
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageReadError(path, f"unsupported image shape {array.shape}")
    if array.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(array, 3, axis=2))
    code = cv2.COLOR_BGRA2RGB if array.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(array, code)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a class-id mask as ``H x W`` uint8; raise ImageReadError if it is not one."""
    path = Path(path)
    array = _decode(path, _read_bytes(path), cv2.IMREAD_UNCHANGED)
    if array.ndim == 3:
        channels = array.shape[2]
        if (
            channels >= 3
            and np.array_equal(array[:, :, 0], array[:, :, 1])
            and np.array_equal(array[:, :, 1], array[:, :, 2])
            or channels == 1
        ):
            array = array[:, :, 0]
        else:
            raise ImageReadError(path, "mask must be single-channel class ids (got a colour image)")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.integer) and array.max() <= 255 and array.min() >= 0:
            array = array.astype(np.uint8)
        else:
            raise ImageReadError(path, f"mask must hold uint8 class ids (got {array.dtype})")
    return array


def write_png(path: str | os.PathLike, array: np.ndarray, rgb: bool = True) -> None:
    """Write ``array`` (2-D, or RGB when ``rgb``) as PNG atomically."""
    if array.ndim == 3 and rgb:
        array = array[:, :, ::-1]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the PNG")
    write_bytes(path, encoded.tobytes())
