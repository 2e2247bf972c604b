"""The folder data set layout and its audit.

```
ROOT/<split>/images/NAME.(png|jpg|jpeg|bmp|tif|tiff)
ROOT/<split>/masks/NAME.png      uint8 class ids (0 = background), 255 = ignore
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visionseg.core.errors import UserError
from visionseg.io.images import IMAGE_EXTENSIONS, ImageReadError, decode_unchanged, read_mask

IGNORE_INDEX = 255
MAX_LISTED = 20


class DatasetError(UserError):
    """A data set that cannot be used; the message lists the offending files."""

    def __init__(self, title: str, problems: Sequence[str] = ()) -> None:
        self.title = title
        self.problems = list(problems)
        lines = [title]
        for problem in self.problems[:MAX_LISTED]:
            lines.append(f"  - {problem}")
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Sample:
    """One image of a split and, where it has one, its mask."""

    name: str
    image: Path
    mask: Path | None = None


def list_split(root: str | Path, split: str, require_masks: bool = True,
               read_masks: bool = True) -> list[Sample]:
    """Pair ``ROOT/split/images`` with ``ROOT/split/masks`` by file stem (``read_masks``
    False: the images only, whatever ``masks/`` holds).

    Raises DatasetError naming every unpaired file, or when the split is missing or empty.
    """
    split_dir = Path(root) / split
    image_dir, mask_dir = split_dir / "images", split_dir / "masks"
    if not image_dir.is_dir():
        raise DatasetError(f"{image_dir}: split '{split}' has no images/ folder")
    images: dict[str, Path] = {}
    problems: list[str] = []
    for path in sorted(image_dir.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            problems.append(f"{path}: not an image extension ({', '.join(IMAGE_EXTENSIONS)})")
            continue
        if path.stem in images:
            problems.append(f"{path}: same name as {images[path.stem].name}")
            continue
        images[path.stem] = path
    if not images and not problems:
        raise DatasetError(f"{image_dir}: the folder holds no images")
    masks: dict[str, Path] = {}
    if read_masks and mask_dir.is_dir():
        for path in sorted(mask_dir.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            if path.suffix.lower() != ".png":
                problems.append(f"{path}: masks must be PNG files")
                continue
            masks[path.stem] = path
    elif require_masks:
        raise DatasetError(f"{mask_dir}: split '{split}' has no masks/ folder")
    if require_masks or masks:
        for stem, path in images.items():
            if stem not in masks:
                problems.append(f"{path}: image has no mask ({mask_dir / (stem + '.png')})")
        for stem, path in masks.items():
            if stem not in images:
                problems.append(f"{path}: mask has no image")
    if problems:
        raise DatasetError(f"{split_dir}: {len(problems)} problem(s) in the data set", problems)
    return [Sample(stem, path, masks.get(stem)) for stem, path in images.items()]


@dataclass
class Survey16:
    """What the audit saw of a split's 16-bit images: how many, their largest value and
    the most significant bits any file declares (PNG ``sBIT``); fixes ``image16: auto``."""

    images: int = 0
    max_value: int = 0
    bits: int | None = None

    def add(self, array: np.ndarray, bits: int | None) -> None:
        if array.dtype != np.uint16:
            return
        self.images += 1
        self.max_value = max(self.max_value, int(array.max(initial=0)))
        if bits is not None:
            self.bits = max(self.bits or 0, bits)


def _image_size(path: Path, survey: Survey16 | None = None) -> tuple[int, int]:
    """Height and width of an image, decoding it (and so proving it decodes)."""
    array, bits = decode_unchanged(path)
    if survey is not None:
        survey.add(array, bits)
    return array.shape[0], array.shape[1]


def audit_samples(
    samples: Sequence[Sample], num_classes: int, survey: Survey16 | None = None
) -> dict[str, object]:
    """Decode every image and mask once and check what training relies on; ``survey``
    collects what the 16-bit images hold.

    Raises DatasetError listing every image that cannot be decoded, every mask whose size
    differs from its image's, and every mask value that is neither a class id nor 255.
    Returns an audit summary: image and pixel counts, empty-mask ratio, class pixel histogram.
    """
    problems: list[str] = []
    histogram = np.zeros(256, dtype=np.int64)
    empty = pixels = 0
    for sample in samples:
        try:
            shape = _image_size(sample.image, survey)
        except ImageReadError as err:
            problems.append(str(err))
            continue
        pixels += shape[0] * shape[1]
        if sample.mask is None:
            continue
        try:
            mask = read_mask(sample.mask)
        except ImageReadError as err:
            problems.append(str(err))
            continue
        if mask.shape != shape:
            problems.append(
                f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                f"{shape[1]}x{shape[0]}"
            )
            continue
        counts = np.bincount(mask.ravel(), minlength=256)
        bad = [int(v) for v in np.flatnonzero(counts) if v >= num_classes and v != IGNORE_INDEX]
        if bad:
            problems.append(
                f"{sample.mask}: values {bad[:10]} are neither class ids 0..{num_classes - 1} "
                f"nor {IGNORE_INDEX} (ignore)"
            )
            continue
        histogram += counts
        empty += int(counts[1:num_classes].sum() == 0)
    if problems:
        raise DatasetError(f"{len(problems)} file(s) cannot be used for training", problems)
    return {
        "images": len(samples),
        "pixels": pixels,
        "empty_mask_ratio": empty / max(len(samples), 1),
        "class_pixels": histogram[:num_classes].tolist(),
        "ignored_pixels": int(histogram[IGNORE_INDEX]),
    }


def load_split(root: str | Path, split: str, num_classes: int, audit: bool = True) -> list[Sample]:
    """List a split and (by default) audit it; raises DatasetError on any problem."""
    samples = list_split(root, split)
    if audit:
        audit_samples(samples, num_classes)
    return samples
