"""The results log: one JSON object per line, appended so that a crash never leaves a
torn line behind.

Each line is written by one ``os.write`` of the whole line on a file opened with
``O_APPEND``, then flushed to disk with ``fsync`` before the next image is started; a line
cut short by a power loss (no final newline) is dropped when the log is opened again.
Lines are records of inspected images (``status`` ``ok`` or ``error``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from visionseg.core.errors import UserError

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"

#: errno values that mean "the output cannot be written at all": stop, do not skip.
FATAL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


class OutputUnwritableError(UserError):
    """The output folder or the results log cannot be written (full disk, read-only,
    permissions): processing stops, with the path and the system's reason."""


def unwritable(path: Path, err: OSError) -> OutputUnwritableError:
    """The error to stop with when ``err`` writing under ``path`` is fatal."""
    return OutputUnwritableError(
        f"{path}: cannot write ({err.strerror or err}); free space or fix permissions, then "
        "start again (finished images are not redone)"
    )


def read_results(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Every complete record of a results log, in order (a torn last line is skipped)."""
    path = Path(path)
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except ValueError:
                log.warning("%s: skipping an unreadable line", path)
                continue
            if isinstance(record, dict):
                yield record


class ResultsLog:
    """Append-only JSON-lines log; opening it drops a torn last line."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
            self._drop_torn_line()
        except OSError as err:
            raise unwritable(self.path, err) from err

    def _drop_torn_line(self) -> None:
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        tail = os.pread(self._fd, min(size, 1 << 20), max(0, size - (1 << 20)))
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        keep = size - len(tail) + cut + 1 if cut >= 0 else 0
        if cut < 0 and size > len(tail):
            raise UserError(f"{self.path}: last line is over 1 MiB long; not a results log")
        log.warning("%s: dropping a torn last line (%d byte(s))", self.path, size - keep)
        os.ftruncate(self._fd, keep)
        os.fsync(self._fd)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record as one line and fsync it; a fatal OSError stops the caller."""
        data = (json.dumps(record, separators=(",", ":"), default=_plain) + "\n").encode()
        size = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, "short write (disk full?)")
            os.fsync(self._fd)
        except OSError as err:
            with contextlib.suppress(OSError):  # take back a partial line
                os.ftruncate(self._fd, size)
            raise unwritable(self.path, err) from err

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ResultsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _plain(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
