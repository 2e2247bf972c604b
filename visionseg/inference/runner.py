"""Stream images through a Method and a post-processing chain into output files.

Images are decoded ahead by a few threads (OpenCV releases the GIL, so a 2048 px PNG
per thread at a time) and outputs are encoded and written by a thread pool, so disk work
overlaps with prediction; at most a few batches of images are in memory.
A file that cannot be read or processed is recorded in ``summary.json`` with its reason
and the run carries on; every output file is written atomically, and the temporary files
of a run that was killed are removed when the next run starts in the same folder.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from visionseg.core.method import Method
from visionseg.core.prediction import Prediction
from visionseg.core.verdict import PartRule
from visionseg.data.settings import check_fraction, check_int
from visionseg.inference.inputs import unique_names
from visionseg.inference.records import DEFECT_COLUMNS, DefectRow, ImageRecord, InferenceSummary
from visionseg.inference.writers import OUTPUT_FOLDERS, defect_rows, output_files, write_outputs
from visionseg.io.atomic import remove_partial_files, write_csv, write_json
from visionseg.io.images import ImageReadError, read_image
from visionseg.io.scale16 import Scale16
from visionseg.postprocess.base import PostProcess

log = logging.getLogger(__name__)

DEFAULT_IO_THREADS = max(2, min(8, (os.cpu_count() or 2) // 2))


@dataclass
class InferenceSettings:
    """How images are read and outputs written; range-checked when built (one line naming
    the infer.py setting). ``scale16``: how 16-bit images become 8-bit."""

    batch_size: int = 4
    overlays: bool = True
    overlay_alpha: float = 0.5
    prefetch: int = 2
    reader_threads: int = DEFAULT_IO_THREADS
    writer_threads: int = DEFAULT_IO_THREADS
    scale16: Scale16 = Scale16()

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size, 1)
        check_fraction("overlay_alpha", self.overlay_alpha)
        check_int("prefetch", self.prefetch, 1)
        check_int("io_threads", self.reader_threads, 1)
        check_int("io_threads", self.writer_threads, 1)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "scale16": self.scale16.to_dict()}


def _read_one(path: Path, scale16: Scale16) -> np.ndarray | Exception:
    try:
        return read_image(path, scale16)
    except (ImageReadError, OSError, MemoryError) as err:
        return err


def _read_ahead(
    paths: Sequence[Path], names: Sequence[str], batch_size: int, prefetch: int, threads: int,
    scale16: Scale16 | None = None,
) -> Iterator[list[tuple[Path, str, np.ndarray | Exception]]]:
    """Batches of ``(path, name, image or the error reading it)``, in order, decoded by
    ``threads`` threads at most ``threads`` images ahead of the batches queued."""
    q: queue.Queue = queue.Queue(maxsize=max(prefetch, 1))
    done = object()
    stop = threading.Event()
    scale16 = scale16 or Scale16()

    def reader() -> None:
        todo = iter(zip(paths, names, strict=True))
        window: deque = deque()
        batch: list = []
        with ThreadPoolExecutor(max_workers=max(threads, 1)) as pool:
            for path, name in itertools.islice(todo, max(threads, 1)):
                window.append((path, name, pool.submit(_read_one, path, scale16)))
            while window and not stop.is_set():
                path, name, future = window.popleft()
                for following in itertools.islice(todo, 1):
                    window.append((*following, pool.submit(_read_one, following[0], scale16)))
                batch.append((path, name, future.result()))
                if len(batch) == batch_size:
                    q.put(batch)
                    batch = []
            for *_, future in window:
                future.cancel()
        if batch and not stop.is_set():
            q.put(batch)
        q.put(done)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while (batch := q.get()) is not done:
            yield batch
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def run_inference(
    method: Method,
    paths: Sequence[Path],
    output_dir: Path,
    postprocess: PostProcess | None = None,
    settings: InferenceSettings | None = None,
    show_progress: bool = True,
    rule: PartRule | None = None,
) -> InferenceSummary:
    """Segment every image of ``paths``; write masks, overlays, ``defects.csv``,
    ``summary.json``. Returns the summary: ``failed`` counts failed images, ``records``
    holds each input's outputs (or its error)."""
    settings = settings or InferenceSettings()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for folder in ("", *OUTPUT_FOLDERS):
        for leftover in remove_partial_files(output_dir / folder):
            log.info("removed %s, left by an interrupted run", leftover)
    names = unique_names(list(paths))
    batch = _BatchJudge(method, output_dir, postprocess, settings, rule or PartRule())
    started = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not show_progress,
    )
    with progress, ThreadPoolExecutor(max_workers=settings.writer_threads) as pool:
        task = progress.add_task(f"{method.name}", total=len(paths))
        for items in _read_ahead(paths, names, settings.batch_size, settings.prefetch,
                                 settings.reader_threads, settings.scale16):
            batch.run(items, pool)
            progress.advance(task, len(items))
            batch.pending = _collect(batch.pending, wait=False)
        _collect(batch.pending, wait=True)

    records = batch.records
    order = {n: i for i, n in enumerate(names)}
    records.sort(key=lambda r: order.get(r.name, 0))
    summary = InferenceSummary(
        method=method.name,
        classes=list(method.classes),
        settings={**settings.to_dict(), **method.output_settings(),
                  "postprocess": getattr(postprocess, "name", None)},
        decision=batch.rule.to_dict(),
        records=records,
        seconds=time.perf_counter() - started,
    )
    defects = [row.to_dict() for row in batch.defects]
    write_csv(output_dir / "defects.csv", pd.DataFrame(defects, columns=_columns(defects)))
    write_json(output_dir / "summary.json", summary.to_dict())
    return summary


class _BatchJudge:
    """Predicts a batch, post-processes, judges and queues each image's outputs; keeps the
    per-image records and defect rows. One bad image never stops the others."""

    def __init__(self, method: Method, output_dir: Path, postprocess: PostProcess | None,
                 settings: InferenceSettings, rule: PartRule) -> None:
        self.method, self.output_dir, self.postprocess = method, output_dir, postprocess
        self.settings, self.rule = settings, rule
        self.records: list[ImageRecord] = []
        self.defects: list[DefectRow] = []
        self.pending: list[tuple[ImageRecord, Future]] = []

    def run(self, items: list, pool: ThreadPoolExecutor) -> None:
        good = [(p, n, img) for p, n, img in items if isinstance(img, np.ndarray)]
        for path, name, err in items:
            if not isinstance(err, np.ndarray):
                self.records.append(_failure(path, name, err))
        classes = self.method.classes
        preds = _predict(self.method, good, self.records)
        for (path, name, image), pred in zip(good, preds, strict=True):
            if pred is None:
                continue
            try:
                pred, record, rows = judge_one(
                    path, name, image, pred, classes, self.rule, self.postprocess
                )
            except Exception as err:  # one bad image must not stop the batch job
                self.records.append(_failure(path, name, err))
                continue
            record.outputs = output_files(
                name, self.settings.overlays, pred.instances is not None
            )
            self.records.append(record)
            self.defects.extend(rows)
            future = pool.submit(
                write_outputs, self.output_dir, name, image, pred, len(classes),
                self.settings.overlays, self.settings.overlay_alpha,
            )
            self.pending.append((record, future))


def _predict(method: Method, good: list, records: list[ImageRecord]) -> list[Prediction | None]:
    if not good:
        return []
    try:
        return list(method.predict_batch([img for _, _, img in good]))
    except Exception:
        preds: list[Prediction | None] = []
        for path, name, image in good:
            try:
                preds.append(method.predict(image))
            except Exception as err:  # recorded per image, the rest carry on
                records.append(_failure(path, name, err))
                preds.append(None)
        return preds


def _judge(
    path, name, image, pred, classes, rule: PartRule
) -> tuple[ImageRecord, list[DefectRow]]:
    verdict = rule.judge(pred, classes)
    rows = defect_rows(name, pred, classes, rule)
    counts = np.bincount(pred.mask.ravel(), minlength=len(classes))
    record = ImageRecord(
        image=str(path),
        name=name,
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        defect_pixels={classes[c]: int(counts[c]) for c in range(1, len(classes))},
        defects=len(rows),
        ng_regions=len(verdict.defects),
        verdict=verdict.label,
    )
    return record, rows


def _failure(path: Path, name: str, err: BaseException) -> ImageRecord:
    record = ImageRecord.failure(path, name, err)
    log.error("%s: %s", path, record.error)
    return record


def _collect(pending: list, wait: bool) -> list:
    remaining = []
    for record, future in pending:
        if not wait and not future.done():
            remaining.append((record, future))
            continue
        try:
            future.result()
        except Exception as err:
            record.fail(f"writing outputs failed: {err}")
    return remaining


def _columns(defects: list[dict]) -> list[str]:
    extra = sorted({k for row in defects for k in row} - set(DEFECT_COLUMNS))
    return DEFECT_COLUMNS + extra


def judge_one(
    path: Path | str,
    name: str,
    image: np.ndarray,
    pred: Prediction,
    classes: list[str],
    rule: PartRule,
    postprocess: PostProcess | None = None,
) -> tuple[Prediction, ImageRecord, list[DefectRow]]:
    """Post-process one prediction, apply the part rule and judge it: the steps
    :func:`run_inference` takes for each image, for callers that get one image at a time
    (the watched folder, the service). Returns the final prediction, the image's summary
    record and its defect rows."""
    if postprocess is not None:
        pred = postprocess(image, pred)
    pred = rule.apply(pred, classes)
    record, rows = _judge(path, name, image, pred, classes, rule)
    return pred, record, rows
