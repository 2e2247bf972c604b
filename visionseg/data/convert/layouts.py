"""Write images that come with grey masks (class folders, MVTec AD) into the folder layout.

```
ROOT/<split>/images/NAME.ext   the image file, copied unchanged (split: train, val, test)
ROOT/<split>/masks/NAME.png    uint8 class ids: the image's class where its mask is above
                               the threshold, else 0; good parts all 0
ROOT/classes.json              class names, index = id: background, then the classes
ROOT/split.json                source path -> split and output name, seed, fractions
```
A mask pixel belongs to its image's class when its value is above ``threshold`` (default
127: soft, anti-aliased edges are cut at half height); colour masks count their brightest
channel. The split is drawn by :mod:`.split`. Everything is read and checked before
anything is written. The conversion is written into a hidden folder beside ROOT and renamed
onto ROOT when complete, so a failed or killed run leaves ROOT as it was (the next run
removes what a killed one left beside it). ROOT must be new, empty or an earlier
conversion (split.json and nothing but what a conversion writes), which is then replaced
as a whole: no image of an earlier split is left behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from visionseg.data.convert.annotations import resolve_classes
from visionseg.data.convert.split import DEFAULT_FRACTIONS, SPLITS, assign_splits
from visionseg.data.convert.writer import CLASSES_FILE
from visionseg.data.folder import DatasetError
from visionseg.io.atomic import write_json
from visionseg.io.images import ImageReadError, decode_unchanged, write_png

log = logging.getLogger(__name__)

SPLIT_FILE = "split.json"
SPLIT_FORMAT = "visionseg-split/1"
DEFAULT_THRESHOLD = 127
_STAGING, _REPLACED = "converting-", "replaced-"


@dataclass(frozen=True)
class LayoutOptions:
    """How a layout is split and binarised, and the class order (None: sorted by name)."""

    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = 0
    threshold: int = DEFAULT_THRESHOLD
    classes: tuple[str, ...] | None = None

    def check(self) -> None:
        if not 0 <= self.threshold <= 254:
            raise DatasetError(f"--threshold must lie in 0..254 (got {self.threshold})")
        if self.seed < 0:
            raise DatasetError(f"--seed must not be negative (got {self.seed})")


@dataclass
class MaskedImage:
    """One source image: ``key`` is its path relative to SRC (split.json's key), ``group``
    the folder or defect type it came from (the split's stratum), ``defect`` the class its
    mask pixels get (None: a good part, written with an all-zero mask), ``split`` None until
    drawn. :func:`inspect_images` fills ``shape``, ``pixels`` (mask pixels above the
    threshold) and ``peak`` (the largest mask value)."""

    image: Path
    key: str
    group: str
    mask: Path | None = None
    defect: str | None = None
    name: str = ""
    split: str | None = None
    shape: tuple[int, int] = (0, 0)
    pixels: int = 0
    peak: int = 0


@dataclass
class LayoutSummary:
    """What a conversion wrote: images per group (class folder, defect type) and split."""

    root: Path
    classes: list[str]
    good: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    empty_masks: int = 0

    def table(self) -> str:
        """The counts as an aligned text table, one row per group, good parts marked."""
        header = ["class", *SPLITS, "total"]
        rows = [[f"{group} (good)" if group in self.good else group,
                 *(str(n[s]) for s in SPLITS), str(sum(n.values()))]
                for group, n in self.counts.items()]
        totals = [sum(n[s] for n in self.counts.values()) for s in SPLITS]
        rows.append(["total", *(str(t) for t in totals), str(sum(totals))])
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        return "\n".join(
            "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                      for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in [header, *rows]
        )


def check_target(src: str | Path, root: str | Path) -> None:
    """Raise DatasetError unless ``root`` may receive a conversion of ``src``."""
    src, root = Path(src), Path(root)
    src_abs, root_abs = src.resolve(), root.resolve()
    if root_abs == src_abs or src_abs in root_abs.parents:
        raise DatasetError(f"{root}: the output lies inside the source {src}; choose another")
    if root_abs in src_abs.parents:
        raise DatasetError(f"{root}: the source {src} lies inside the output; choose another")
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root}: exists and is not a folder")
    entries = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    if not entries:
        return
    if not _is_conversion(root / SPLIT_FILE):
        raise DatasetError(f"{root}: not empty and not an earlier conversion (no {SPLIT_FILE}); "
                           "choose a new or empty folder")
    extra = [name for name in entries if name not in (*SPLITS, CLASSES_FILE, SPLIT_FILE)]
    if extra:
        raise DatasetError(f"{root}: holds {', '.join(extra)} besides an earlier conversion, "
                           "which would be replaced; move it or choose another folder")


def _is_conversion(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == SPLIT_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_grey_mask(path: Path) -> np.ndarray:
    """A mask file as ``H x W`` uint8 (colour: the brightest channel); ImageReadError if not
    8-bit or not decodable."""
    array, _ = decode_unchanged(path)
    if array.dtype != np.uint8:
        raise ImageReadError(path, f"mask must be an 8-bit image (got {array.dtype})")
    return array[:, :, :3].max(axis=2) if array.ndim == 3 else array


def inspect_images(images: Sequence[MaskedImage], threshold: int) -> list[str]:
    """Decode every image and mask once, fill their ``shape``, ``pixels`` and ``peak``;
    return one problem per file that cannot be decoded or mask whose size differs."""
    problems: list[str] = []
    for image in images:
        try:
            image.shape = decode_unchanged(image.image)[0].shape[:2]
            if image.mask is None:
                continue
            mask = read_grey_mask(image.mask)
        except ImageReadError as err:
            problems.append(str(err))
            continue
        if mask.shape != image.shape:
            problems.append(f"{image.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its "
                            f"image {image.image.name} is {image.shape[1]}x{image.shape[0]}")
            continue
        image.pixels = int(np.count_nonzero(mask > threshold))
        image.peak = int(mask.max(initial=0))
    return problems


def layout_classes(
    found: Iterable[str], given: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """Class names (index = id) and what is wrong with ``given``: background, then the
    classes found sorted by name; or ``given`` (background first, every class found)."""
    found = sorted(set(found))
    if not given:
        return resolve_classes(found, None), []
    given = list(given)
    problems = []
    repeated = sorted({name for name in given if given.count(name) > 1})
    if repeated:
        problems.append(f"--classes: {', '.join(repeated)} named more than once")
    if given[0] in found:
        problems.append(f"--classes: the first name is the background (id 0), not the class "
                        f"'{given[0]}'")
    missing = [name for name in found if name not in given]
    if missing:
        problems.append(f"--classes: misses {', '.join(missing)} (classes found: "
                        f"{', '.join(found)})")
    unused = [name for name in given[1:] if name not in found]
    if unused:
        log.warning("--classes: no image of %s (kept as class ids)", ", ".join(unused))
    return resolve_classes(found, given), problems


def group_problems(images: Sequence[MaskedImage], threshold: int) -> list[str]:
    """One problem per defect group none of whose masks has a pixel above ``threshold``."""
    groups: dict[str, list[MaskedImage]] = {}
    for image in images:
        if image.defect is not None and image.mask is not None:
            groups.setdefault(image.group, []).append(image)
    problems = []
    for group, members in sorted(groups.items()):
        if any(m.pixels for m in members):
            continue
        peak = max(m.peak for m in members)
        folder = members[0].mask.parent  # type: ignore[union-attr]
        problems.append(
            f"{folder}: no mask of class '{group}' has a pixel above the threshold {threshold} "
            f"(largest value {peak}); pass a lower --threshold" if peak else
            f"{folder}: every mask of class '{group}' is empty; if it holds good parts, "
            "name it with --good"
        )
    return problems


def name_problems(images: Sequence[MaskedImage]) -> list[str]:
    """One problem per output name used twice (compared case-insensitively)."""
    seen: dict[str, MaskedImage] = {}
    problems = []
    for image in images:
        key = image.name.casefold()
        if key in seen:
            problems.append(f"{image.image}: output name '{image.name}' is also that of "
                            f"{seen[key].image}")
        else:
            seen[key] = image
    return problems


def raise_problems(src: str | Path, problems: Sequence[str]) -> None:
    """DatasetError: the problem itself when there is one, else a title and the list."""
    if len(problems) == 1:
        raise DatasetError(f"{problems[0]}; nothing was written")
    if problems:
        raise DatasetError(f"{src}: {len(problems)} problem(s); nothing was written", problems)


def write_conversion(
    images: Sequence[MaskedImage],
    problems: Sequence[str],
    src: str | Path,
    root: str | Path,
    layout: str,
    options: LayoutOptions,
) -> LayoutSummary:
    """Check the classes and names of inspected ``images``, draw the split and write it all.

    Raises DatasetError listing every problem (nothing written) when any exists.
    """
    found = {image.defect for image in images if image.defect is not None}
    problems = list(problems)
    if not found and not problems:
        problems.append(f"{src}: holds no image of a defect class, only good parts")
    classes, class_problems = layout_classes(found, options.classes)
    problems += class_problems + group_problems(images, options.threshold)
    raise_problems(src, problems + name_problems(images))
    assign_splits(images, options.fractions, options.seed)
    summary = LayoutSummary(root=Path(root), classes=classes,
                            good=sorted({i.group for i in images if i.defect is None}))
    order = sorted(images, key=lambda i: (i.defect is None, classes.index(i.defect or classes[0]),
                                          i.group))
    for image in order:
        summary.counts.setdefault(image.group, dict.fromkeys(SPLITS, 0))[str(image.split)] += 1
    empty = [i.key for i in images if i.defect is not None and i.pixels == 0]
    summary.empty_masks = len(empty)
    if empty:
        log.warning("%d image(s) of defect classes have no mask pixel above %d, written with "
                    "empty masks: %s", len(empty), options.threshold,
                    ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else ""))
    record = {
        "format": SPLIT_FORMAT, "layout": layout, "source": str(Path(src).resolve()),
        "seed": options.seed, "fractions": dict(zip(SPLITS, options.fractions, strict=True)),
        "threshold": options.threshold, "classes": classes, "good": summary.good,
        "counts": summary.counts,
        "images": {i.key: {"split": i.split, "name": i.name, "group": i.group}
                   for i in sorted(images, key=lambda i: i.key)},
    }
    write_layout(images, classes, Path(root), options.threshold, record)
    return summary


def write_layout(
    images: Sequence[MaskedImage], classes: Sequence[str], root: Path, threshold: int,
    record: dict,
) -> None:
    """Write images, masks, classes.json and split.json into a hidden folder beside
    ``root``, then put it in ``root``'s place."""
    root = root.resolve()
    root.parent.mkdir(parents=True, exist_ok=True)
    for left in root.parent.iterdir():
        if left.name.startswith((f".{root.name}.{_STAGING}", f".{root.name}.{_REPLACED}")):
            shutil.rmtree(left, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.{_STAGING}", dir=root.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        ids = {name: i for i, name in enumerate(classes)}
        for image in images:
            _write_image(image, staging / str(image.split), ids, threshold)
        write_json(staging / CLASSES_FILE, list(classes))
        write_json(staging / SPLIT_FILE, record)
        _replace(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_image(image: MaskedImage, folder: Path, ids: dict[str, int], threshold: int) -> None:
    target = folder / "images" / f"{image.name}{image.image.suffix.lower()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image.image, target)
    mask = np.zeros(image.shape, np.uint8)
    if image.defect is not None and image.mask is not None:
        mask[read_grey_mask(image.mask) > threshold] = ids[image.defect]
    write_png(folder / "masks" / f"{image.name}.png", mask, rgb=False)


def _replace(staging: Path, root: Path) -> None:
    """Rename ``staging`` onto ``root``; an existing ``root`` is moved aside, then deleted."""
    if not root.exists():
        os.rename(staging, root)
        return
    old = root.parent / f".{root.name}.{_REPLACED}{os.getpid()}"
    os.rename(root, old)
    try:
        os.rename(staging, root)
    except BaseException:
        os.rename(old, root)
        raise
    shutil.rmtree(old, ignore_errors=True)
