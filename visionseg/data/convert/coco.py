"""Read a COCO instance-segmentation JSON file into :class:`AnnotatedImage` objects.

Only what instance masks need is read: ``images`` (``id``, ``file_name``, ``height``,
``width``), ``annotations`` (``id``, ``image_id``, ``category_id``, ``segmentation`` as
polygons or RLE, optional ``bbox`` and ``iscrowd``) and ``categories`` (``id``, ``name``).
Every problem is collected, each naming the annotation, so one run lists them all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visionseg.data.convert.annotations import (
    AnnotatedImage,
    Annotation,
    box_problem,
    polygon_problem,
    rle_problem,
)

IMAGE_KEYS = ("id", "file_name", "height", "width")
ANNOTATION_KEYS = ("id", "image_id", "category_id", "segmentation")


def load_json(path: Path) -> tuple[Any, str | None]:
    """Parsed JSON, or None and why it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, "file not found"
    except (OSError, UnicodeDecodeError) as err:
        return None, f"cannot be read ({err})"
    except json.JSONDecodeError as err:
        return None, f"not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})"


def read_coco(
    path: str | Path, image_dir: str | Path | None = None
) -> tuple[list[AnnotatedImage], list[str], list[str]]:
    """``(images, category names in id order, problems)`` of a COCO file.

    Image files are looked up as ``image_dir / file_name`` (default: the JSON's folder,
    then its ``images/`` subfolder). Problems are complete sentences naming the file and
    the image or annotation; an empty list means the file is usable.
    """
    path = Path(path)
    data, error = load_json(path)
    if error:
        return [], [], [f"{path}: {error}"]
    if not isinstance(data, Mapping):
        return [], [], [f"{path}: a COCO file holds a JSON object at the top level"]
    missing = [key for key in ("images", "annotations", "categories") if key not in data]
    if missing:
        return [], [], [f"{path}: missing top-level key(s) {missing}"]
    problems: list[str] = []
    categories = _categories(path, data["categories"], problems)
    images = _images(path, data["images"], image_dir, problems)
    for index, ann in enumerate(data["annotations"] or []):
        _annotation(path, index, ann, images, categories, problems)
    return list(images.values()), list(categories.values()), problems


def _categories(path: Path, entries: Any, problems: list[str]) -> dict[int, str]:
    categories: dict[int, str] = {}
    for index, cat in enumerate(entries or []):
        if not isinstance(cat, Mapping) or "id" not in cat or "name" not in cat:
            problems.append(f"{path}: categories[{index}]: needs 'id' and 'name'")
            continue
        categories[int(cat["id"])] = str(cat["name"])
    return dict(sorted(categories.items()))


def _images(
    path: Path, entries: Any, image_dir: str | Path | None, problems: list[str]
) -> dict[Any, AnnotatedImage]:
    folders = [Path(image_dir)] if image_dir else [path.parent, path.parent / "images"]
    images: dict[Any, AnnotatedImage] = {}
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, Mapping):
            problems.append(f"{path}: images[{index}]: not an object")
            continue
        missing = [key for key in IMAGE_KEYS if key not in entry]
        if missing:
            problems.append(f"{path}: images[{index}]: missing key(s) {missing}")
            continue
        name = str(entry["file_name"])
        source = next((f / name for f in folders if (f / name).is_file()), folders[0] / name)
        images[entry["id"]] = AnnotatedImage(
            name=Path(name).stem,
            width=int(entry["width"]),
            height=int(entry["height"]),
            source=source,
            origin=f"{path}: image '{name}'",
        )
    return images


def _annotation(
    path: Path,
    index: int,
    ann: Any,
    images: Mapping[Any, AnnotatedImage],
    categories: Mapping[int, str],
    problems: list[str],
) -> None:
    if not isinstance(ann, Mapping):
        problems.append(f"{path}: annotations[{index}]: not an object")
        return
    ref = f"annotation {ann['id']}" if "id" in ann else f"annotations[{index}]"
    missing = [key for key in ANNOTATION_KEYS if key not in ann]
    if missing:
        problems.append(f"{path}: {ref}: missing key(s) {missing}")
        return
    image = images.get(ann["image_id"])
    if image is None:
        problems.append(f"{path}: {ref}: image_id {ann['image_id']} is not in 'images'")
        return
    where = f"{image.origin}, {ref}"
    category = categories.get(_int(ann["category_id"]))
    if category is None:
        problems.append(f"{where}: unknown category id {ann['category_id']}")
        return
    region = Annotation(ref=ref, label=category, where=where, crowd=bool(ann.get("iscrowd", 0)))
    segmentation = ann["segmentation"]
    if isinstance(segmentation, Mapping):
        problem = rle_problem(segmentation, image.width, image.height)
        region.rle = dict(segmentation)
    elif isinstance(segmentation, list) and segmentation:
        problem = next(
            (p for p in (polygon_problem(poly, image.width, image.height) for poly in segmentation)
             if p), None)
        region.polygons = [list(poly) for poly in segmentation]
    else:
        problem = "segmentation is empty (polygons or RLE expected)"
    if problem is None and ann.get("bbox") is not None:
        problem = box_problem(ann["bbox"], image.width, image.height)
    if problem:
        problems.append(f"{where}: {problem}")
        return
    image.annotations.append(region)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
