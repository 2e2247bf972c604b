"""Reading images the same way everywhere, and writing outputs atomically."""

from visionseg.io.atomic import (
    atomic_path,
    remove_partial_files,
    write_bytes,
    write_csv,
    write_json,
    write_text,
)
from visionseg.io.images import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    read_image,
    read_mask,
    write_png,
)
from visionseg.io.scale16 import Scale16

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "Scale16",
    "atomic_path",
    "read_image",
    "read_mask",
    "remove_partial_files",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_png",
    "write_text",
]
