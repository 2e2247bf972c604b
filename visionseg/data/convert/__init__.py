"""Import COCO or LabelMe polygon annotations into the folder layout.

``python -m visionseg.data.convert coco|labelme SRC ROOT`` writes the images, uint8 class
masks and uint16 instance masks under ``ROOT/<split>/`` (see :mod:`.writer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from visionseg.data.convert.coco import read_coco
from visionseg.data.convert.labelme import labelme_files, read_labelme
from visionseg.data.convert.writer import ConversionSummary, write_folder


def convert_coco(
    src: str | Path,
    root: str | Path,
    split: str = "train",
    classes: Sequence[str] | None = None,
    image_dir: str | Path | None = None,
) -> ConversionSummary:
    """Convert one COCO JSON file; images are found next to it (or in ``image_dir``)."""
    images, categories, problems = read_coco(src, image_dir)
    return write_folder(images, categories, problems, src, root, split, classes)


def convert_labelme(
    src: str | Path, root: str | Path, split: str = "train", classes: Sequence[str] | None = None
) -> ConversionSummary:
    """Convert a folder of LabelMe JSON files (or one file)."""
    files = labelme_files(src)
    images, labels, problems = read_labelme(files)
    if not files:
        problems.append(f"{src}: no LabelMe .json file found")
    return write_folder(images, labels, problems, src, root, split, classes)


__all__ = ["ConversionSummary", "convert_coco", "convert_labelme"]
