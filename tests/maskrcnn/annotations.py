"""Hand-made COCO and LabelMe files with known polygons, and their expected masks."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np

# Axis-aligned rectangles [x0, y0, x1, y1]: pycocotools fills pixels x0..x1-1, y0..y1-1.
COCO_OBJECTS = {
    "part_a": [("scratch", (4, 6, 30, 10)), ("spot", (40, 20, 48, 28)),
               ("scratch", (10, 30, 20, 44))],
    "part_b": [("stain", (2, 2, 22, 18)), ("spot", (8, 8, 12, 12))],
    "part_c": [],
}
SIZE = (48, 64)  # height, width


def rectangle(box) -> list[float]:
    x0, y0, x1, y1 = box
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def reference_masks(objects, shape=SIZE) -> list[np.ndarray]:
    """Each rectangle's pixels, computed without any rasteriser."""
    out = []
    for _, (x0, y0, x1, y1) in objects:
        mask = np.zeros(shape, bool)
        mask[y0:y1, x0:x1] = True
        out.append(mask)
    return out


def write_images(folder: Path, names, shape=SIZE, ext=".png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        image = rng.integers(0, 255, (*shape, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{name}{ext}"), image)


def coco_file(folder: Path, objects=COCO_OBJECTS, **changes) -> Path:
    """A COCO file (and its images) next to each other in ``folder``."""
    write_images(folder, objects)
    categories = [{"id": 7, "name": "scratch"}, {"id": 8, "name": "spot"},
                  {"id": 9, "name": "stain"}]
    ids = {c["name"]: c["id"] for c in categories}
    images, annotations = [], []
    for image_id, (name, objs) in enumerate(objects.items(), start=1):
        images.append({"id": image_id, "file_name": f"{name}.png", "height": SIZE[0],
                       "width": SIZE[1]})
        for label, box in objs:
            x0, y0, x1, y1 = box
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": ids[label], "segmentation": [rectangle(box)],
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "iscrowd": 0})
    data = {"images": images, "annotations": annotations, "categories": categories}
    data.update(changes)
    path = folder / "instances.json"
    path.write_text(json.dumps(data))
    return path


def labelme_file(folder: Path, name: str, shapes: list[dict], embed: bool = False,
                 shape=SIZE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_images(folder, [name], shape)
    data = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": f"{name}.png",
            "imageData": None, "imageHeight": shape[0], "imageWidth": shape[1]}
    if embed:
        data["imageData"] = base64.b64encode((folder / f"{name}.png").read_bytes()).decode()
        (folder / f"{name}.png").unlink()
        data["imagePath"] = f"elsewhere/{name}.png"
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def read_png(path: Path) -> np.ndarray:
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert array is not None, path
    return array
