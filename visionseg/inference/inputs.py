"""Expand ``input=`` (a file, a folder or a glob, or a list of them) into image paths."""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from visionseg.core.errors import UserError
from visionseg.io.images import IMAGE_EXTENSIONS


class InputError(UserError):
    """The input specification matches no image."""


def expand_inputs(spec: str | Iterable[str]) -> list[Path]:
    """Sorted, de-duplicated image paths. Folders contribute their images (not recursively);
    files are taken as given, whatever their extension, so a bad file is reported later."""
    specs = [spec] if isinstance(spec, str | Path) else list(spec)
    found: dict[Path, None] = {}
    for item in specs:
        path = Path(item).expanduser()
        if path.is_dir():
            matches = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
            )
        elif path.is_file():
            matches = [path]
        else:
            matches = sorted(
                Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file()
            )
        if not matches:
            raise InputError(f"{item}: no image file, folder or glob match found")
        found.update(dict.fromkeys(matches))
    return list(found)


def unique_names(paths: Sequence[Path]) -> list[str]:
    """Output names, one per input, distinct, readable and independent of the run.

    An input's name is its file stem when no other input has that stem. Inputs sharing a
    stem are told apart by what differs between them: their folders relative to the
    folder they share (``lineA_part``, ``lineB_part``) and, if needed, their extensions
    (``part_png``, ``part_jpg``). What still collides, ignoring case (case-insensitive
    disks), gets ``-2``, ``-3``, ... in input order.
    """
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in paths:
        groups[path.stem.lower()].append(path)
    names = [_distinct(path, groups[path.stem.lower()]) for path in paths]
    taken: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate.lower())
        unique.append(candidate)
    return unique


def _distinct(path: Path, group: list[Path]) -> str:
    if len(group) == 1:
        return path.stem
    parts = [path.stem]
    parents = {p.absolute().parent for p in group}
    if len(parents) > 1:
        common = Path(os.path.commonpath([str(p) for p in parents]))
        parts = [*path.absolute().parent.relative_to(common).parts, path.stem]
    if len({p.suffix.lower() for p in group}) > 1:
        parts.append(path.suffix.lower().lstrip("."))
    return "_".join(parts)
