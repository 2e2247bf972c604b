"""Read one MVTec AD category (``bottle``, ``screw``, ...).

```
SRC/train/good/000.png                      defect-free images
SRC/test/good/000.png                       defect-free images (no masks)
SRC/test/<defect>/000.png                   images of one defect type
SRC/ground_truth/<defect>/000_mask.png      their masks (0 / 255)
```
Each defect type becomes a class (or all become the one class ``defect``: ``merge``).
MVTec AD's own split is for anomaly detection (train holds good parts only), so for
supervised segmentation the test images (defect types and good parts) are split into
train, val and test, stratified by defect type; ``train/good`` is added to train. Output
names are the source paths joined by ``_`` (``test_crack_000``, ``train_good_000``):
every defect folder numbers its images from 000.
"""

from __future__ import annotations

from pathlib import Path

from visionseg.data.convert.layouts import MaskedImage, inspect_images
from visionseg.data.folder import DatasetError
from visionseg.io.images import IMAGE_EXTENSIONS

GOOD = "good"
MERGED = "defect"
_EXPECTED = ("expected an MVTec AD category folder with train/good/, test/<defect>/ and "
             "ground_truth/<defect>/")


def read_mvtec(src: str | Path, merge: bool, threshold: int) -> tuple[list[MaskedImage], list[str]]:
    """``(images, problems)`` of one MVTec AD category, inspected; DatasetError when the
    layout itself cannot be read."""
    src = Path(src)
    check_category(src)
    images: list[MaskedImage] = []
    problems: list[str] = []
    for folder in _subfolders(src / "train"):
        if folder.name != GOOD:
            problems.append(f"{folder}: MVTec AD's train/ holds good/ (defect-free) images only")
            continue
        images += [MaskedImage(image=path, key=_key(src, path), group=GOOD, split="train")
                   for path in _images(folder)]
    folders = _subfolders(src / "test")
    if not [f for f in folders if f.name != GOOD]:
        raise DatasetError(f"{src / 'test'}: holds no defect folder; {_EXPECTED}")
    for folder in folders:
        paths = _images(folder)
        if not paths:
            problems.append(f"{folder}: holds no image")
        for path in paths:
            image = MaskedImage(image=path, key=_key(src, path), group=folder.name.lower())
            if folder.name != GOOD:
                image.defect = MERGED if merge else image.group
                image.mask = mask_of(src, folder.name, path)
                if image.mask is None:
                    expected = src / "ground_truth" / folder.name / f"{path.stem}_mask.png"
                    problems.append(f"{path}: no ground-truth mask (expected {expected})")
            images.append(image)
    for image in images:
        image.name = "_".join(Path(image.key).with_suffix("").parts)
    return images, problems + inspect_images(images, threshold)


def check_category(src: Path) -> None:
    """DatasetError, saying what was expected, unless ``src`` is a category folder."""
    if not src.is_dir():
        raise DatasetError(f"{src}: no such folder; {_EXPECTED}")
    if (src / "train").is_dir() and (src / "test").is_dir():
        return
    categories = [p.name for p in _subfolders(src)
                  if (p / "train").is_dir() and (p / "test").is_dir()]
    if categories:
        shown = ", ".join(categories[:5]) + (", ..." if len(categories) > 5 else "")
        raise DatasetError(f"{src}: holds {len(categories)} MVTec AD categories ({shown}); "
                           f"pass one category folder, such as {src / categories[0]}")
    found = ", ".join(p.name + "/" for p in _subfolders(src)) or "no folder"
    raise DatasetError(f"{src}: holds {found}; {_EXPECTED}")


def mask_of(src: Path, defect: str, image: Path) -> Path | None:
    """The ground-truth mask of a test image (``<stem>_mask.png``, else ``<stem>.png``)."""
    folder = src / "ground_truth" / defect
    return next((p for p in (folder / f"{image.stem}_mask.png", folder / f"{image.stem}.png")
                 if p.is_file()), None)


def _subfolders(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]


def _images(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")
            and p.suffix.lower() in IMAGE_EXTENSIONS]


def _key(src: Path, path: Path) -> str:
    return path.relative_to(src).as_posix()
