"""Write annotated images into the folder layout: images, class masks and instance masks.

```
ROOT/<split>/images/NAME.ext       the image file, copied unchanged (embedded LabelMe
                                   images are written as they were embedded)
ROOT/<split>/masks/NAME.png        uint8 class ids (0 background, 255 ignore)
ROOT/<split>/instances/NAME.png    uint16 instance ids (0 none, 1..N)
ROOT/classes.json                  class names, index = id
```
Everything is checked before the first file is written: a malformed annotation file
writes nothing. Each output file is written atomically.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from visionseg.data.convert.annotations import (
    AnnotatedImage,
    class_problems,
    rasterize,
    resolve_classes,
    warn_dropped,
)
from visionseg.data.folder import DatasetError
from visionseg.io.atomic import atomic_path, write_json
from visionseg.io.images import IMAGE_EXTENSIONS, write_png

log = logging.getLogger(__name__)

CLASSES_FILE = "classes.json"
_SIGNATURES = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"BM": ".bmp", b"II*\x00": ".tif",
               b"MM\x00*": ".tif"}


@dataclass
class ConversionSummary:
    """What a conversion wrote."""

    root: Path
    split: str
    classes: list[str]
    images: int = 0
    instances: int = 0
    dropped: list[str] = field(default_factory=list)


def existing_classes(root: Path) -> list[str] | None:
    """Classes recorded by an earlier conversion into ``root``, if any."""
    path = Path(root) / CLASSES_FILE
    if not path.is_file():
        return None
    try:
        classes = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path}: cannot be read ({err}); delete it or pass --classes") from err
    return [str(c) for c in classes]


def write_folder(
    images: Sequence[AnnotatedImage],
    found_labels: Sequence[str],
    problems: Sequence[str],
    source: str | Path,
    root: str | Path,
    split: str = "train",
    classes: Sequence[str] | None = None,
) -> ConversionSummary:
    """Check ``images`` (parsed with ``problems``) and write them under ``root/split``.

    Raises DatasetError listing every problem (nothing written) when any exists.
    """
    root = Path(root)
    names = resolve_classes(found_labels, classes, None if classes else existing_classes(root))
    class_ids = {name: i for i, name in enumerate(names)}
    problems = list(problems) + class_problems(images, class_ids) + _image_problems(images)
    if problems:
        raise DatasetError(
            f"{source}: {len(problems)} problem(s) in the annotations; nothing was written",
            problems,
        )
    summary = ConversionSummary(root=root, split=split, classes=names)
    split_dir = root / split
    for image in images:
        masks = rasterize(image, class_ids)
        _write_image(image, split_dir / "images")
        write_png(split_dir / "masks" / f"{image.name}.png", masks.semantic, rgb=False)
        write_png(split_dir / "instances" / f"{image.name}.png", masks.labels, rgb=False)
        warn_dropped(image.origin, masks.dropped)
        summary.images += 1
        summary.instances += len(masks.classes)
        summary.dropped += [f"{image.origin}: {ref}" for ref in masks.dropped]
    write_json(root / CLASSES_FILE, names)
    if summary.dropped:
        log.warning("%s: %d zero-area instance(s) dropped in total", source, len(summary.dropped))
    return summary


def _image_problems(images: Sequence[AnnotatedImage]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for image in images:
        if image.name in seen:
            problems.append(f"{image.origin}: output name '{image.name}' is also used by "
                            f"{seen[image.name]}")
            continue
        seen[image.name] = image.origin
        if image.image_data is None and image.source is not None and image.source.is_file():
            if image.source.suffix.lower() not in IMAGE_EXTENSIONS:
                problems.append(f"{image.origin}: {image.source} is not a supported image type "
                                f"({', '.join(IMAGE_EXTENSIONS)})")
                continue
            data = np.fromfile(str(image.source), dtype=np.uint8)
        elif image.image_data is not None:
            if _embedded_suffix(image.image_data) is None:
                problems.append(f"{image.origin}: imageData is not a PNG, JPEG, BMP or TIFF image")
                continue
            data = np.frombuffer(image.image_data, dtype=np.uint8)
        else:
            problems.append(f"{image.origin}: image file {image.source} not found")
            continue
        array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
        if array is None:
            problems.append(f"{image.origin}: image cannot be decoded")
        elif array.shape[:2] != (image.height, image.width):
            problems.append(
                f"{image.origin}: the image is {array.shape[1]}x{array.shape[0]} but the "
                f"annotation says {image.width}x{image.height}"
            )
    return problems


def _embedded_suffix(data: bytes) -> str | None:
    return next((ext for sig, ext in _SIGNATURES.items() if data.startswith(sig)), None)


def _write_image(image: AnnotatedImage, folder: Path) -> None:
    """Copy (or write the embedded) image, then remove same-named images of other types."""
    if image.source is not None and image.source.is_file():
        target = folder / f"{image.name}{image.source.suffix.lower()}"
        with atomic_path(target) as tmp:
            shutil.copyfile(image.source, tmp)
    else:
        target = folder / f"{image.name}{_embedded_suffix(image.image_data or b'')}"
        with atomic_path(target) as tmp:
            tmp.write_bytes(image.image_data or b"")
    for stale in folder.glob(f"{image.name}.*"):
        if stale != target and stale.suffix.lower() in IMAGE_EXTENSIONS:
            stale.unlink()
