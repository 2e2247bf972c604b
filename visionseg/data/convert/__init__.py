"""Import COCO or LabelMe polygon annotations, class folders or MVTec AD into the folder layout.

``python -m visionseg.data.convert coco|labelme SRC ROOT`` writes the images, uint8 class
masks and uint16 instance masks under ``ROOT/<split>/`` (see :mod:`.writer`).
``python -m visionseg.data.convert classfolders|mvtec SRC ROOT`` reads images with grey
masks (:mod:`.classfolders`, :mod:`.mvtec`) and writes a seeded, stratified
train/val/test split with uint8 class masks and ``ROOT/split.json`` (see :mod:`.layouts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from visionseg.data.convert.classfolders import read_classfolders
from visionseg.data.convert.coco import read_coco
from visionseg.data.convert.labelme import labelme_files, read_labelme
from visionseg.data.convert.layouts import (
    LayoutOptions,
    LayoutSummary,
    check_target,
    write_conversion,
)
from visionseg.data.convert.mvtec import read_mvtec
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


def convert_classfolders(
    src: str | Path,
    root: str | Path,
    options: LayoutOptions | None = None,
    good: Sequence[str] | None = None,
) -> LayoutSummary:
    """Convert one folder per class (images beside their masks); ``good`` names the
    good-part folders (default: detected)."""
    options = options or LayoutOptions()
    options.check()
    check_target(src, root)
    images, problems = read_classfolders(src, good, options.threshold)
    return write_conversion(images, problems, src, root, "classfolders", options)


def convert_mvtec(
    src: str | Path, root: str | Path, options: LayoutOptions | None = None, merge: bool = False
) -> LayoutSummary:
    """Convert one MVTec AD category folder; ``merge``: one class ``defect`` for all types."""
    options = options or LayoutOptions()
    options.check()
    check_target(src, root)
    images, problems = read_mvtec(src, merge, options.threshold)
    return write_conversion(images, problems, src, root, "mvtec", options)


__all__ = [
    "ConversionSummary",
    "LayoutOptions",
    "LayoutSummary",
    "convert_classfolders",
    "convert_coco",
    "convert_labelme",
    "convert_mvtec",
]
