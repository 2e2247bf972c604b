"""The watched folder: inspect each image as it lands, until stopped.

A file is read only once its size and modification time have stayed the same for
``settle`` seconds (camera software writes in place); dotfiles and temporary names
(``.part``, ``.tmp``, ``~``, ...) are never read. Files that are ready are taken oldest
first, so a burst is worked off in arrival order. Each result is one line of
``OUTPUT/results.jsonl``, written after the image's output files, so a restart on the same
output folder skips every file the log names and redoes at most the image that was in
hand. A file is known by its name, size and modification time: a new image under a name
already done (a camera counter reset, a re-shot part) is inspected again, with output
names of its own. A file that cannot be read (undecodable, empty once settled, or refused
by the operating system) is logged with its reason and moved to ``OUTPUT/unreadable/``
(left in place and skipped if it cannot be moved); a full disk or an unwritable output
folder stops the watcher with one clear message.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visionseg.core.errors import UserError
from visionseg.io.images import IMAGE_EXTENSIONS, ImageReadError, read_image
from visionseg.monitor.results_log import (
    FATAL_ERRNOS,
    RESULTS_FILE,
    ResultsLog,
    read_results,
    unwritable,
)
from visionseg.serving.inspector import Inspector, utc_now
from visionseg.serving.settings import TEMP_SUFFIXES, WatchSettings

log = logging.getLogger(__name__)

UNREADABLE_DIR = "unreadable"


class WatchError(UserError):
    """The watched folder cannot be watched (missing, not a folder)."""


@dataclass
class WatchSummary:
    """What one watcher run did (earlier runs' images are not counted)."""

    images: int = 0
    ng: int = 0
    unreadable: int = 0
    skipped: int = 0

    @property
    def failed(self) -> int:
        """Always 0: an unreadable file is logged and moved aside, not a failed run."""
        return 0


def is_candidate(path: Path) -> bool:
    """An image name that is neither hidden nor temporary."""
    name = path.name
    return (
        not name.startswith(".")
        and not name.lower().endswith(TEMP_SUFFIXES)
        and path.suffix.lower() in IMAGE_EXTENSIONS
    )


class FolderWatcher:
    """Polls ``input_dir``, inspects ready images, appends to ``output_dir/results.jsonl``."""

    def __init__(
        self,
        inspector: Inspector,
        input_dir: Path,
        output_dir: Path,
        settings: WatchSettings | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.inspector = inspector
        self.input_dir = Path(input_dir)
        self.output_dir = Path(output_dir)
        self.settings = settings or WatchSettings()
        self.stop = stop or threading.Event()
        if not self.input_dir.is_dir():
            raise WatchError(f"input={self.input_dir}: watch=true needs an existing folder")
        self._seen: dict[Path, tuple[int, int, float]] = {}  # path -> size, mtime, since
        self._done: set[tuple[str, int, int]] = set()  # (file, size, mtime_ns) finished
        self._done_by_name: set[str] = set()  # files of older logs, which lack size and mtime
        self._names: set[str] = set()
        self.summary = WatchSummary()

    def run(self) -> WatchSummary:
        """Watch until ``stop`` is set; the image in hand is finished first."""
        with ResultsLog(self.output_dir / RESULTS_FILE) as results:
            self._resume(results.path)
            log.info("Watching %s -> %s (%d image(s) already done)",
                     self.input_dir, self.output_dir,
                     len(self._done) + len(self._done_by_name))
            while not self.stop.is_set():
                for path in self.ready():
                    if self.stop.is_set():
                        break
                    self._process(path, results)
                self.stop.wait(self.settings.poll)
        log.info("Stopped: %d image(s), %d NG, %d unreadable", self.summary.images,
                 self.summary.ng, self.summary.unreadable)
        return self.summary

    def _resume(self, path: Path) -> None:
        """Finished files and the monitor's window from an earlier run's results log."""
        rows = []
        for record in read_results(path):
            file = str(record.get("file", ""))
            if isinstance(record.get("size"), int) and isinstance(record.get("mtime_ns"), int):
                self._done.add((file, record["size"], record["mtime_ns"]))
            else:
                self._done_by_name.add(file)
            self._names.add(str(record.get("name", "")))
            if record.get("status") == "ok":
                rows.append((record.get("stats"), record.get("verdict") == "NG"))
        window = self.inspector.monitor.settings.window
        self.inspector.monitor.restore(rows[-window:])

    def ready(self) -> list[Path]:
        """Files not done yet whose size and time have been stable for ``settle`` seconds,
        oldest first."""
        now = time.monotonic()
        pattern = "**/*" if self.settings.recursive else "*"
        current: dict[Path, tuple[int, int, float]] = {}
        ready = []
        for path in self.input_dir.glob(pattern):
            key = self._key(path)
            if key in self._done_by_name or not is_candidate(path):
                continue
            try:
                stat = path.stat()
            except OSError:  # removed or renamed meanwhile
                continue
            size, mtime = stat.st_size, stat.st_mtime_ns
            if not path.is_file() or (key, size, mtime) in self._done:
                continue
            previous = self._seen.get(path)
            since = previous[2] if previous and previous[:2] == (size, mtime) else now
            current[path] = (size, mtime, since)
            if now - since >= self.settings.settle and previous is not None:
                ready.append((mtime, path))
        self._seen = current
        return [path for _, path in sorted(ready)]

    def _key(self, path: Path) -> str:
        return path.relative_to(self.input_dir).as_posix()

    def _name(self, path: Path) -> str:
        """The output name: the file stem, made unique against earlier names."""
        stem = path.relative_to(self.input_dir).with_suffix("").as_posix().replace("/", "_")
        name, n = stem, 1
        while name in self._names:
            n += 1
            name = f"{stem}_{path.suffix.lstrip('.').lower()}" if n == 2 else f"{stem}_{n}"
        self._names.add(name)
        return name

    def _identity(self, path: Path) -> tuple[str, int, int]:
        """(file, size, mtime_ns) as the last scan saw it: what the log records, so the
        same name with other contents is a new image."""
        size, mtime, _ = self._seen[path]
        return self._key(path), size, mtime

    def _read(self, path: Path, size: int) -> tuple[np.ndarray | None, str | None]:
        """The image, or None and why it cannot be read. An OSError of the file itself
        (permission, I/O error, gone) is a reason, not a crash: a restart would hit it
        again, and the line would stop for one file."""
        if size == 0:
            return None, f"file is empty (0 bytes after {self.settings.settle:g} s settle time)"
        try:
            return read_image(path, self.inspector.scale16), None
        except ImageReadError as err:
            return None, err.reason
        except OSError as err:
            return None, f"cannot be read: {err.strerror or err}"

    def _process(self, path: Path, results: ResultsLog) -> None:
        key, size, mtime = identity = self._identity(path)
        name = self._name(path)
        started = time.perf_counter()
        image, reason = self._read(path, size)
        if reason is not None:
            self._unreadable(path, identity, name, reason, results)
            return
        decode_ms = (time.perf_counter() - started) * 1000.0
        stamp = {"size": size, "mtime_ns": mtime}
        try:
            inspection = self.inspector.inspect(image, name, decode_ms)
        except Exception as err:  # one image the method fails on must not stop the line
            log.exception("%s: inspection failed", path)
            results.append({"name": name, "file": key, "time": utc_now(), "status": "error",
                            "error": f"inspection failed: {type(err).__name__}: {err}", **stamp})
            self._done.add(identity)
            return
        try:
            self.inspector.write(self.output_dir, image, inspection)
        except OSError as err:
            if err.errno in FATAL_ERRNOS:
                raise unwritable(self.output_dir, err) from err
            raise
        results.append({**inspection.log_record(key), **stamp})
        self._done.add(identity)
        self.summary.images += 1
        self.summary.ng += inspection.ng
        for alert in inspection.monitor.alerts:
            log.warning("%s: %s", key, alert)

    def _unreadable(self, path: Path, identity: tuple[str, int, int], name: str, reason: str,
                    results: ResultsLog) -> None:
        """Log and record ``reason``; move the file aside (``unreadable: move``). One that
        cannot be moved stays, known by its identity, so it is skipped, also after a restart."""
        key, size, mtime = identity
        log.error("%s: %s", path, reason)
        record = {"name": name, "file": key, "time": utc_now(), "status": "error",
                  "error": reason, "moved_to": None, "size": size, "mtime_ns": mtime}
        if self.settings.unreadable == "move":
            target = _free_path(self.output_dir / UNREADABLE_DIR / key)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
                record["moved_to"] = str(target)
            except OSError as err:
                log.warning("%s: left in place, cannot move it aside (%s)", path, err)
        results.append(record)
        self._done.add(identity)
        self.summary.unreadable += 1


def _free_path(path: Path) -> Path:
    """``path``, or ``NAME-2.EXT``, ``NAME-3.EXT``, ... if taken (a second unreadable file of
    the same name must not replace the first one moved aside)."""
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop``: the image in hand is finished, then the watcher stops.
    A second signal abandons that image (KeyboardInterrupt; its outputs are atomic and its
    log line is not written, so a restart redoes it). Only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("%s: stopping after the current image (send it again to abandon it)",
                    signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
