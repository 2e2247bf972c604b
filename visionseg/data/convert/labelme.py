"""Read LabelMe JSON files (one per image) into :class:`AnnotatedImage` objects.

A file holds ``shapes`` (each ``label``, ``points``, ``shape_type``, optional
``group_id``), ``imagePath`` (relative to the JSON file), ``imageHeight``, ``imageWidth``
and optionally the image itself as base64 ``imageData``. Polygons, rectangles and
circles become regions; shapes sharing a ``group_id`` and label form one instance, as in
LabelMe. Lines and points enclose no area and are reported.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from visionseg.data.convert.annotations import AnnotatedImage, Annotation, polygon_problem
from visionseg.data.convert.coco import load_json

FILE_KEYS = ("shapes", "imagePath", "imageHeight", "imageWidth")
CIRCLE_POINTS = 64


def labelme_files(src: str | Path) -> list[Path]:
    """The JSON files of a LabelMe folder (not recursive), or the one file given."""
    src = Path(src)
    return sorted(p for p in src.glob("*.json") if p.is_file()) if src.is_dir() else [src]


def read_labelme(paths: Iterable[Path]) -> tuple[list[AnnotatedImage], list[str], list[str]]:
    """``(images, labels in order of appearance, problems)`` of LabelMe files."""
    images: list[AnnotatedImage] = []
    labels: dict[str, None] = {}
    problems: list[str] = []
    for path in paths:
        image = read_labelme_file(Path(path), problems)
        if image is not None:
            images.append(image)
            labels.update(dict.fromkeys(r.label for r in image.annotations))
    return images, list(labels), problems


def read_labelme_file(path: Path, problems: list[str]) -> AnnotatedImage | None:
    """One file's image, appending what is wrong with it to ``problems``."""
    data, error = load_json(path)
    if error:
        problems.append(f"{path}: {error}")
        return None
    if not isinstance(data, Mapping):
        problems.append(f"{path}: a LabelMe file holds a JSON object at the top level")
        return None
    missing = [key for key in FILE_KEYS if key not in data]
    if missing:
        problems.append(f"{path}: missing key(s) {missing}")
        return None
    width, height = int(data["imageWidth"]), int(data["imageHeight"])
    image_data = None
    if data.get("imageData"):
        try:
            image_data = base64.b64decode(data["imageData"], validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{path}: imageData is not valid base64")
            return None
    image_path = str(data["imagePath"] or "")
    source = (path.parent / image_path) if image_path else None
    image = AnnotatedImage(
        name=Path(image_path).stem if image_path else path.stem,
        width=width,
        height=height,
        source=source,
        origin=str(path),
        image_data=image_data,
    )
    for index, shape in enumerate(data["shapes"] or []):
        region, problem = _shape(index, shape, width, height)
        if problem:
            problems.append(f"{path}: {problem}")
        elif region is not None:
            region.where = f"{path}: {region.ref}"
            image.annotations.append(region)
    return image


def _shape(index: int, shape: Any, width: int, height: int) -> tuple[Annotation | None, str | None]:
    if not isinstance(shape, Mapping):
        return None, f"shape {index}: not an object"
    label = shape.get("label")
    ref = f"shape {index} ('{label}')" if label else f"shape {index}"
    missing = [key for key in ("label", "points") if key not in shape]
    if missing:
        return None, f"{ref}: missing key(s) {missing}"
    if not str(label).strip():
        return None, f"{ref}: empty label"
    kind = shape.get("shape_type") or "polygon"
    try:
        points = [(float(x), float(y)) for x, y in shape["points"]]
    except (TypeError, ValueError):
        return None, f"{ref}: points must be [x, y] pairs"
    if kind == "rectangle":
        if len(points) != 2:
            return None, f"{ref}: a rectangle needs 2 points, got {len(points)}"
        (x0, y0), (x1, y1) = points
        points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    elif kind == "circle":
        if len(points) != 2:
            return None, f"{ref}: a circle needs 2 points (centre, rim), got {len(points)}"
        (cx, cy), (rx, ry) = points
        r = math.hypot(rx - cx, ry - cy)
        points = [(cx + r * math.cos(t), cy + r * math.sin(t))
                  for t in (2 * math.pi * k / CIRCLE_POINTS for k in range(CIRCLE_POINTS))]
    elif kind != "polygon":
        return None, f"{ref}: shape_type '{kind}' encloses no area (polygon, rectangle or circle)"
    flat = [v for point in points for v in point]
    problem = polygon_problem(flat, width, height)
    if problem:
        return None, f"{ref}: {problem}"
    return Annotation(ref=ref, label=str(label), polygons=[flat], group=shape.get("group_id")), None
