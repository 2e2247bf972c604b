"""Atomic file writes: write to a temporary name in the same folder, then rename.

A run killed half-way never leaves a truncated file under the final name, and a file
written by an earlier run stays intact until its replacement is complete.

Temporary files are named ``.NAME.<random>.part``: hidden, and ending in ``.part`` rather
than the output's own extension, so a glob for outputs (``masks/*.png``, even through
``pathlib``, which matches hidden files) never picks one up. A run killed with ``kill -9``
leaves such a file behind; :func:`remove_partial_files` clears them at the next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

PARTIAL_SUFFIX = ".part"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name does not end in ``path``'s extension: writers that pick the format
    from the extension must be told the format (``cv2.imencode(".png", ...)``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def is_partial_file(path: Path) -> bool:
    """Whether ``path`` is a temporary file of :func:`atomic_path` (of this or an older
    version, which named them ``.NAME.<random>.part.EXT``)."""
    name = path.name
    return name.startswith(".") and (
        name.endswith(PARTIAL_SUFFIX) or f"{PARTIAL_SUFFIX}." in name[1:]
    )


def remove_partial_files(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Delete the temporary files a killed run left in ``folder``; return what was removed.

    Call it at the start of a run, before anything writes into ``folder``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    candidates = folder.rglob(".*") if recursive else folder.glob(".*")
    removed = []
    for path in candidates:
        if path.is_file() and is_partial_file(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically (numpy scalars are converted)."""
    write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def write_csv(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Write a DataFrame as CSV (no index) atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
