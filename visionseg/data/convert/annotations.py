"""Polygon/RLE annotations of one image, checked and rasterised into class and instance masks.

COCO and LabelMe readers both produce :class:`AnnotatedImage` objects; everything after
parsing (class names, bounds, rasterisation, degenerate instances) is shared, so both
formats obey the same rules:

- polygons need at least 3 points; points and boxes may lie at most ``TOLERANCE`` pixels
  outside the image (annotation tools snap to the border), further out is an error;
- polygons are rasterised by pycocotools, the reference for COCO masks;
- larger instances are drawn first, so a small defect lying on a larger one stays visible;
  an instance left with no pixel (zero area, or hidden by others) is dropped and counted;
- crowd regions (COCO ``iscrowd: 1``) become ignore (255) in the class mask, not instances.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from visionseg.data.folder import IGNORE_INDEX

log = logging.getLogger(__name__)

TOLERANCE = 1.0
MAX_INSTANCES = np.iinfo(np.uint16).max


@dataclass
class Annotation:
    """One annotated object: polygons (flat ``x0, y0, x1, y1, ...`` lists) or a COCO RLE.

    ``ref`` names it within its image (``"annotation 7"``), ``where`` in messages (file,
    image and ref); regions sharing a non-None ``group`` form one instance (LabelMe
    ``group_id``).
    """

    ref: str
    label: str
    where: str = ""
    polygons: list[list[float]] = field(default_factory=list)
    rle: dict | None = None
    crowd: bool = False
    group: object = None


@dataclass
class AnnotatedImage:
    """An image and its annotations, as read from an annotation file."""

    name: str
    width: int
    height: int
    source: Path | None
    origin: str
    annotations: list[Annotation] = field(default_factory=list)
    image_data: bytes | None = None


@dataclass
class Rasterized:
    """Masks of one image: class ids (uint8, 255 = ignore) and instance ids (uint16).

    ``classes[i - 1]`` is the class id of instance ``i``; ``dropped`` names the regions
    that left no pixel.
    """

    semantic: np.ndarray
    labels: np.ndarray
    classes: np.ndarray
    dropped: list[str]


def polygon_problem(flat: Sequence, width: int, height: int) -> str | None:
    """Why a flat polygon cannot be used, or None."""
    if not isinstance(flat, list | tuple) or len(flat) % 2:
        return "polygon must be a flat list of x, y coordinates"
    try:
        coords = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return "polygon coordinates must be numbers"
    if len(coords) < 3:
        return f"polygon has {len(coords)} point(s), at least 3 are needed"
    if not np.isfinite(coords).all():
        return "polygon has non-finite coordinates"
    return _bounds_problem(coords[:, 0].min(), coords[:, 1].min(), coords[:, 0].max(),
                           coords[:, 1].max(), width, height, "polygon")


def box_problem(box: Sequence, width: int, height: int) -> str | None:
    """Why a COCO ``[x, y, w, h]`` box cannot be used, or None."""
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError):
        return f"bbox {box!r} is not four numbers [x, y, width, height]"
    if w < 0 or h < 0:
        return f"bbox {list(box)} has a negative size"
    return _bounds_problem(x, y, x + w, y + h, width, height, f"bbox {list(box)}")


def _bounds_problem(x0, y0, x1, y1, width, height, what) -> str | None:
    if x0 < -TOLERANCE or y0 < -TOLERANCE or x1 > width + TOLERANCE or y1 > height + TOLERANCE:
        return f"{what} lies outside the {width}x{height} image"
    return None


def polygon_area(flat: Sequence[float]) -> float:
    """Shoelace area of a flat polygon."""
    xy = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def rle_problem(rle: Mapping, width: int, height: int) -> str | None:
    """Why a COCO RLE segmentation cannot be used, or None."""
    if "counts" not in rle or "size" not in rle:
        return "RLE segmentation needs 'counts' and 'size'"
    if [int(v) for v in rle["size"]] != [height, width]:
        return f"RLE size {list(rle['size'])} differs from the image's [{height}, {width}]"
    return None


def annotation_mask(region: Annotation, width: int, height: int) -> np.ndarray:
    """Boolean ``height x width`` mask of a (validated) annotation."""
    if region.rle is not None:
        rle = region.rle
        if isinstance(rle["counts"], list):
            rle = mask_utils.frPyObjects(dict(rle), height, width)
        return mask_utils.decode(rle).astype(bool)
    polygons = [[float(v) for v in p] for p in region.polygons if polygon_area(p) > 0]
    if not polygons:
        return np.zeros((height, width), bool)
    rles = mask_utils.frPyObjects(polygons, height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def class_problems(images: Sequence[AnnotatedImage], class_ids: Mapping[str, int]) -> list[str]:
    """One message per annotation whose label is not a known defect class."""
    known = [name for name, i in sorted(class_ids.items(), key=lambda kv: kv[1]) if i > 0]
    return [
        f"{region.where or region.ref}: unknown category name '{region.label}' "
        f"(classes: {', '.join(known)})"
        for image in images
        for region in image.annotations
        if class_ids.get(region.label, 0) <= 0
    ]


def rasterize(image: AnnotatedImage, class_ids: Mapping[str, int]) -> Rasterized:
    """Class-id and instance-id masks of one image (see the module docstring for the rules)."""
    shape = (image.height, image.width)
    semantic = np.zeros(shape, np.uint8)
    labels = np.zeros(shape, np.uint16)
    objects: list[tuple[str, int, np.ndarray]] = []
    groups: dict[object, int] = {}
    for region in image.annotations:
        binary = annotation_mask(region, image.width, image.height)
        if region.crowd:
            semantic[binary] = IGNORE_INDEX
            continue
        key = (region.group, region.label) if region.group is not None else None
        if key is not None and key in groups:
            ref, cls, previous = objects[groups[key]]
            objects[groups[key]] = (ref, cls, previous | binary)
            continue
        if key is not None:
            groups[key] = len(objects)
        objects.append((region.ref, class_ids[region.label], binary))
    dropped = [ref for ref, _, binary in objects if not binary.any()]
    objects = [obj for obj in objects if obj[2].any()]
    if len(objects) > MAX_INSTANCES:
        raise ValueError(f"{image.origin}: more than {MAX_INSTANCES} instances")
    order = sorted(range(len(objects)), key=lambda i: -int(objects[i][2].sum()))
    for i in order:
        labels[objects[i][2]] = i + 1
    visible = np.bincount(labels.ravel(), minlength=len(objects) + 1)[1:]
    dropped += [f"{objects[i][0]} (hidden by other instances)"
                for i in np.flatnonzero(visible == 0)]
    keep = np.flatnonzero(visible > 0)
    lut = np.zeros(len(objects) + 1, np.uint16)
    lut[keep + 1] = np.arange(1, len(keep) + 1, dtype=np.uint16)
    labels = lut[labels]
    classes = np.array([objects[i][1] for i in keep], np.int64)
    instance_pixels = labels > 0
    semantic[instance_pixels] = np.concatenate([[0], classes])[labels[instance_pixels]]
    return Rasterized(semantic, labels, classes, dropped)


def resolve_classes(
    found: Sequence[str], given: Sequence[str] | None, existing: Sequence[str] | None = None
) -> list[str]:
    """Class names, index = id: ``given`` if set, else ``existing`` (an earlier conversion
    into the same root), else ``background`` followed by the labels found, in order."""
    if given:
        classes = list(given)
    elif existing:
        classes = list(existing)
    else:
        classes = ["background"] + [name for name in dict.fromkeys(found) if name != "background"]
    if len(classes) > 255:
        raise ValueError(f"{len(classes)} classes do not fit uint8 class masks (at most 255)")
    return classes


def warn_dropped(origin: str | Path, dropped: Sequence[str]) -> None:
    if dropped:
        shown = ", ".join(dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        log.warning("%s: dropped %d zero-area instance(s): %s", origin, len(dropped), shown)
