"""Read a data set shipped as one folder per class, each image beside its mask.

```
SRC/MT_Blowhole/Imgs/exp1_num_108719.jpg   an image of class blowhole
SRC/MT_Blowhole/Imgs/exp1_num_108719.png   its mask: grey 0..255, above the threshold = defect
SRC/MT_Free/Imgs/exp0_num_743.jpg          a good part: no mask, or an all-zero one
```
- Images and masks lie directly in the class folder or in its only subfolder (``Imgs/``).
- An image ``NAME.<ext>`` pairs with the mask ``NAME.png``, ``NAME_mask.png`` or
  ``NAME_label.png`` (PNG images: one of the last two).
- Class names are the folder names lower-cased (spaces become ``_``), without the longest
  prefix all folders share that ends in ``_``, ``-``, ``.`` or a space: ``MT_Crack`` is
  ``crack``.
- Good-part folders (``--good``; by default those named free, good, ok or normal, or whose
  masks are all empty) become background only: their images get all-zero masks. Every
  image of another folder needs a mask.
- Output names are the image stems; when two folders share a stem, every name is
  prefixed with its class (``crack_0001``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from visionseg.data.convert.layouts import MaskedImage, inspect_images
from visionseg.data.folder import DatasetError
from visionseg.io.images import IMAGE_EXTENSIONS

GOOD_NAMES = ("free", "good", "ok", "normal")
IMAGE_FOLDER_NAMES = ("imgs", "images", "img")
MASK_SUFFIXES = ("_mask", "_label")
SEPARATORS = "_-. "
_EXPECTED = ("expected one folder per class, each holding images and their masks "
             "(SRC/<class>/NAME.jpg and NAME.png, or SRC/<class>/Imgs/...)")


def read_classfolders(
    src: str | Path, good: Sequence[str] | None, threshold: int
) -> tuple[list[MaskedImage], list[str]]:
    """``(images, problems)`` of a class-folder data set, inspected and labelled (defect
    class or good part); DatasetError when the layout itself cannot be read."""
    src = Path(src)
    folders = class_folders(src)
    names = class_names([folder.name for folder in folders])
    images: list[MaskedImage] = []
    problems: list[str] = []
    for folder in folders:
        pairs, folder_problems = pair_masks(image_files(folder))
        problems += folder_problems
        images += [MaskedImage(image=path, key=path.relative_to(src).as_posix(),
                               group=names[folder.name], mask=mask) for path, mask in pairs]
    problems += inspect_images(images, threshold)
    goods = good_groups(images, names, good)
    problems += label_images(images, goods, threshold)
    prefix = any(n > 1 for n in Counter(i.image.stem.casefold() for i in images).values())
    for image in images:
        image.name = f"{image.group}_{image.image.stem}" if prefix else image.image.stem
    return images, problems


def class_folders(src: Path) -> list[Path]:
    """The class folders of ``src``; DatasetError saying what was expected if none."""
    if not src.is_dir():
        raise DatasetError(f"{src}: no such folder; {_EXPECTED}")
    entries = [p for p in sorted(src.iterdir()) if not p.name.startswith(".")]
    folders = [p for p in entries if p.is_dir()]
    if not folders:
        loose = sum(1 for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS)
        found = f"{loose} image file(s) but no class folder" if loose else "no class folder"
        raise DatasetError(f"{src}: holds {found}; {_EXPECTED}")
    if len(folders) == 1 and folders[0].name.lower() in IMAGE_FOLDER_NAMES:
        raise DatasetError(f"{src}: looks like one class folder (its only folder is "
                           f"{folders[0].name}/); pass the folder holding the class folders")
    return folders


def image_files(folder: Path) -> list[Path]:
    """Image files of a class folder, or of its only subfolder when it has none itself."""
    files, subfolders = _entries(folder)
    if not files and len(subfolders) == 1:
        files, _ = _entries(subfolders[0])
        folder = subfolders[0]
    if files:
        return files
    found = (f"subfolders {', '.join(p.name for p in subfolders)}" if len(subfolders) > 1
             else "no image")
    raise DatasetError(f"{folder}: holds {found}; expected images and masks in the class folder "
                       "or in its only subfolder (such as Imgs/)")


def _entries(folder: Path) -> tuple[list[Path], list[Path]]:
    entries = [p for p in sorted(folder.iterdir()) if not p.name.startswith(".")]
    files = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return files, [p for p in entries if p.is_dir()]


def pair_masks(files: Sequence[Path]) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """``(image, mask or None)`` pairs of one folder's files, and what is ambiguous."""
    by_name = {p.name.lower(): p for p in files}

    def masks_of(path: Path) -> list[Path]:
        stem = path.stem.lower()
        names = [f"{stem}{suffix}.png" for suffix in MASK_SUFFIXES]
        if path.suffix.lower() != ".png":
            names.append(f"{stem}.png")
        return [by_name[n] for n in names if n in by_name]

    masks = {mask for path in files for mask in masks_of(path)}
    images = [p for p in files if p not in masks]
    problems = []
    stems = Counter(p.stem.lower() for p in images)
    pairs: list[tuple[Path, Path | None]] = []
    for path in images:
        found = masks_of(path)
        if stems[path.stem.lower()] > 1:
            problems.append(f"{path}: another image in its folder has the same name stem")
        elif len(found) > 1:
            problems.append(f"{path}: several masks ({', '.join(m.name for m in found)})")
        else:
            pairs.append((path, found[0] if found else None))
    return pairs, problems


def class_names(folders: Sequence[str]) -> dict[str, str]:
    """Folder name -> class name (see the module docstring); DatasetError on a clash."""
    prefix = os.path.commonprefix(list(folders)) if len(folders) > 1 else ""
    prefix = prefix[: max(prefix.rfind(c) for c in SEPARATORS) + 1]
    if any(len(name) == len(prefix) for name in folders):
        prefix = ""
    names = {folder: "_".join(folder[len(prefix):].lower().split()) for folder in folders}
    clashes = [f for f in folders if list(names.values()).count(names[f]) > 1]
    if clashes:
        raise DatasetError(f"folders {', '.join(clashes)} give the same class name "
                           f"'{names[clashes[0]]}'; rename one")
    return names


def good_groups(
    images: Sequence[MaskedImage], names: dict[str, str], given: Sequence[str] | None
) -> list[str]:
    """The classes whose images are good parts: ``given`` (class or folder names), else
    those named like good parts or holding masks that are all empty."""
    classes = sorted(names.values())
    if given:
        lookup = {**{c.lower(): c for c in classes}, **{f.lower(): c for f, c in names.items()}}
        unknown = [g for g in given if g.lower() not in lookup]
        if unknown:
            raise DatasetError(f"--good: no class folder named {', '.join(unknown)} "
                               f"(classes: {', '.join(classes)})")
        return sorted({lookup[g.lower()] for g in given})
    with_masks = {i.group for i in images if i.mask is not None}
    nonempty = {i.group for i in images if i.peak > 0}
    return [c for c in classes if c in GOOD_NAMES or (c in with_masks and c not in nonempty)]


def label_images(images: Sequence[MaskedImage], goods: Sequence[str], threshold: int) -> list[str]:
    """Give each image of a defect folder its class; one problem per good part whose mask
    holds a defect and per defect image without a mask (one per folder if none has one)."""
    problems = []
    missing: dict[str, list[MaskedImage]] = {}
    for image in images:
        if image.group in goods:
            if image.pixels:
                problems.append(f"{image.mask}: good part ('{image.group}') whose mask has "
                                f"{image.pixels} pixel(s) above the threshold {threshold}")
            continue
        image.defect = image.group
        if image.mask is None:
            missing.setdefault(image.group, []).append(image)
    for group, lacking in missing.items():
        if len(lacking) == sum(1 for i in images if i.group == group):
            first = lacking[0].image
            problems.append(f"{first.parent}: no image has a mask (expected "
                            f"{expected_mask(first)} beside {first.name}); if these are good "
                            f"parts, pass --good {group}")
            continue
        problems += [f"{i.image}: image has no mask (expected {expected_mask(i.image)} beside it)"
                     for i in lacking]
    return problems


def expected_mask(image: Path) -> str:
    """The mask name an image is looked up with first."""
    suffix = MASK_SUFFIXES[0] if image.suffix.lower() == ".png" else ""
    return f"{image.stem}{suffix}.png"
