"""``python -m visionseg.data.convert coco|labelme SRC ROOT [--split S] [--classes a,b,c]``."""

from __future__ import annotations

import argparse
import logging
import sys

from visionseg.data.convert import convert_coco, convert_labelme
from visionseg.data.folder import DatasetError
from visionseg.io.images import ImageReadError


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m visionseg.data.convert",
        description="Write COCO or LabelMe polygon annotations into the visionseg folder layout "
        "(ROOT/<split>/images, masks with class ids, instances with uint16 instance ids).",
    )
    p.add_argument("format", choices=["coco", "labelme"])
    p.add_argument("src", help="COCO: the JSON file. LabelMe: a folder of JSON files (or one).")
    p.add_argument("root", help="data set root to write into")
    p.add_argument("--split", default="train", help="split folder to write (default: train)")
    p.add_argument("--classes", default=None,
                   help="comma-separated class names, index = id, starting with background "
                   "(default: ROOT/classes.json if present, else background + the categories)")
    p.add_argument("--images", default=None,
                   help="COCO only: folder of the image files (default: next to the JSON)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    try:
        if args.format == "coco":
            summary = convert_coco(args.src, args.root, args.split, classes, args.images)
        else:
            if args.images:
                raise DatasetError("--images applies to COCO only (LabelMe files name their image)")
            summary = convert_labelme(args.src, args.root, args.split, classes)
    except (DatasetError, ImageReadError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{summary.images} image(s), {summary.instances} instance(s) written to "
          f"{summary.root / summary.split}; {len(summary.dropped)} zero-area instance(s) dropped")
    print(f"classes: {summary.classes}")
    print(f"train with: python train.py model=maskrcnn data.root={summary.root} "
          f"data.classes=[{','.join(summary.classes)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
