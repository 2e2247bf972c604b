"""``python -m visionseg.data.convert FORMAT SRC ROOT [options]``.

- ``coco|labelme SRC ROOT [--split S] [--classes a,b,c]``: polygon annotations into one split;
- ``classfolders|mvtec SRC ROOT [--split 0.6,0.2,0.2] [--seed 0] [--classes ...]``: images
  with grey masks into a seeded, stratified train/val/test split.
"""

from __future__ import annotations

import argparse
import logging
import sys

from visionseg.core.errors import exit_code
from visionseg.data.convert import (
    LayoutOptions,
    convert_classfolders,
    convert_coco,
    convert_labelme,
    convert_mvtec,
)
from visionseg.data.convert.layouts import DEFAULT_THRESHOLD, SPLIT_FILE
from visionseg.data.convert.split import DEFAULT_FRACTIONS, parse_fractions
from visionseg.data.folder import DatasetError

LAYOUTS = ("classfolders", "mvtec")
#: Options that apply to some formats only.
_ONLY = {"seed": LAYOUTS, "threshold": LAYOUTS, "good": ("classfolders",),
         "mvtec_merge": ("mvtec",)}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m visionseg.data.convert",
        description="Write COCO or LabelMe polygon annotations (ROOT/<split>/images, masks with "
        "class ids, instances with uint16 instance ids), or class folders and MVTec AD images "
        "with grey masks (a seeded train/val/test split of images and class-id masks, "
        "ROOT/split.json) into the visionseg folder layout.",
    )
    p.add_argument("format", choices=["coco", "labelme", *LAYOUTS])
    p.add_argument("src", help="COCO: the JSON file. LabelMe: a folder of JSON files (or one). "
                   "classfolders: the folder holding one folder per class. mvtec: one MVTec AD "
                   "category folder (holding train/, test/, ground_truth/).")
    p.add_argument("root", help="data set root to write into")
    p.add_argument("--split", default=None,
                   help="COCO/LabelMe: split folder to write (default: train). classfolders/"
                   "mvtec: train,val,test fractions (default: "
                   f"{','.join(str(f) for f in DEFAULT_FRACTIONS)})")
    p.add_argument("--classes", default=None,
                   help="comma-separated class names, index = id, starting with background "
                   "(COCO/LabelMe default: ROOT/classes.json if present, else background + the "
                   "categories; classfolders/mvtec default: background + the classes by name)")
    p.add_argument("--images", default=None,
                   help="COCO only: folder of the image files (default: next to the JSON)")
    p.add_argument("--seed", type=int, default=None,
                   help="classfolders/mvtec: seed of the split (default: 0)")
    p.add_argument("--threshold", type=int, default=None,
                   help="classfolders/mvtec: mask values above it are the defect "
                   f"(default: {DEFAULT_THRESHOLD})")
    p.add_argument("--good", default=None,
                   help="classfolders only: comma-separated folders of good parts (default: "
                   "those named free, good, ok or normal, or whose masks are all empty)")
    p.add_argument("--mvtec-merge", action="store_true",
                   help="mvtec only: one class 'defect' for every defect type")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m visionseg.data.convert``; returns the exit code (2 with one
    ``error:`` line on bad input)."""
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    return exit_code(lambda: convert(args), ValueError, OSError)


def convert(args: argparse.Namespace) -> int:
    """Check the options against the format, convert, and print what was written."""
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    if args.images and args.format != "coco":
        raise DatasetError("--images applies to COCO only (LabelMe files name their image)")
    for option, formats in _ONLY.items():
        if getattr(args, option) not in (None, False) and args.format not in formats:
            raise DatasetError(f"--{option.replace('_', '-')} applies to "
                               f"{' and '.join(formats)} only")
    if args.format in LAYOUTS:
        return convert_layout(args, classes)
    split = args.split or "train"
    if args.format == "coco":
        summary = convert_coco(args.src, args.root, split, classes, args.images)
    else:
        summary = convert_labelme(args.src, args.root, split, classes)
    print(f"{summary.images} image(s), {summary.instances} instance(s) written to "
          f"{summary.root / summary.split}; {len(summary.dropped)} zero-area instance(s) dropped")
    print(f"classes: {summary.classes}")
    print(f"train with: python train.py model=maskrcnn data.root={summary.root} "
          f"data.classes=[{','.join(summary.classes)}]")
    return 0


def convert_layout(args: argparse.Namespace, classes: list[str] | None) -> int:
    """Convert class folders or MVTec AD as ``args`` say and print the counts table."""
    fractions = parse_fractions(args.split) if args.split else DEFAULT_FRACTIONS
    options = LayoutOptions(
        fractions=fractions,
        seed=0 if args.seed is None else args.seed,
        threshold=DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
        classes=tuple(classes) if classes else None,
    )
    if args.format == "classfolders":
        good = [g.strip() for g in args.good.split(",") if g.strip()] if args.good else None
        summary = convert_classfolders(args.src, args.root, options, good)
    else:
        summary = convert_mvtec(args.src, args.root, options, args.mvtec_merge)
    print(summary.table())
    print(f"classes: {summary.classes}")
    print(f"split: {summary.root / SPLIT_FILE} (seed {options.seed}, train/val/test "
          f"{'/'.join(f'{f:g}' for f in fractions)})")
    print(f"train with: python train.py data=folder data.root={summary.root} "
          f"data.classes=[{','.join(summary.classes)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
