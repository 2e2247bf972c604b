"""Expand ``input=`` (a file, a folder or a glob, or a list of them) into image paths."""

from __future__ import annotations

import glob
from collections.abc import Iterable
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


def unique_names(paths: list[Path]) -> list[str]:
    """Output names (file stems), prefixed with the parent folder where stems collide."""
    stems = [p.stem for p in paths]
    counts = {s: stems.count(s) for s in stems}
    return [f"{p.parent.name}_{p.stem}" if counts[p.stem] > 1 else p.stem for p in paths]
