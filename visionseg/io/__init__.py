"""Reading images the same way everywhere, and writing outputs atomically."""

from visionseg.io.atomic import atomic_path, write_csv, write_json, write_text
from visionseg.io.images import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    read_image,
    read_mask,
    write_png,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "atomic_path",
    "read_image",
    "read_mask",
    "write_csv",
    "write_json",
    "write_png",
    "write_text",
]
