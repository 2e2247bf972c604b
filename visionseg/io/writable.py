"""Check, before any work, that an output folder can be created and written.

A run that finds out at its end that it cannot write (the output path is a file, a
read-only file system, no permission) has wasted its time, or left a traceback. Entry
points check their output folders first and stop with one line naming the setting.
:class:`OutputFolderCheck` does it for a Hydra run folder, before Hydra creates it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from visionseg.core.errors import UserError, user_errors


class OutputPathError(UserError):
    """An output folder that cannot be created or written."""


def ensure_writable_dir(path: str | os.PathLike, setting: str) -> Path:
    """Create ``path`` (a folder) if needed and prove it takes a new file; return it.

    Raises :class:`OutputPathError` naming ``setting`` when the path or one of its parents
    is a file, or the folder cannot be created or written (permissions, read-only disk).
    A write test, not permission bits: it gives the true answer for root and for mounts.
    """
    path = Path(path).expanduser()
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            where = "is" if part == path else f"is inside {part}, which is"
            raise OutputPathError(f"{setting}={path} {where} an existing file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise OutputPathError(f"{setting}={path} cannot be written: {reason}") from None
    return path


def check_writable_dir(path: str | os.PathLike, setting: str) -> Path:
    """Raise :class:`OutputPathError` naming ``setting`` unless the folder ``path`` could be
    created and written; return it.

    Creates nothing (unlike :func:`ensure_writable_dir`): the nearest existing folder takes
    (and loses) one probe file, so a run stopped by bad input later leaves no empty output
    folder behind.
    """
    path = Path(path).expanduser()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        where = "is" if existing == path else f"is inside {existing}, which is"
        raise OutputPathError(f"{setting}={path} {where} an existing file, not a folder")
    try:
        with tempfile.TemporaryFile(prefix=".write-test.", dir=existing):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise OutputPathError(f"{setting}={path} cannot be written: {reason}") from None
    return path


class OutputFolderCheck(Callback):
    """Hydra callback: check the run folder (``hydra.run.dir``) when the run starts, before
    Hydra creates it; a problem is one ``error:`` line and exit code 2.

    ``setting`` is the name the user knows the folder by (``output`` for infer.py).
    """

    def __init__(self, setting: str = "hydra.run.dir") -> None:
        self.setting = setting

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = OmegaConf.select(config, "hydra.run.dir")
        with user_errors():
            ensure_writable_dir(str(folder), self.setting)
