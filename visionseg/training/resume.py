"""Resuming an interrupted run in its own folder without losing its history.

A run killed with ``kill -9`` leaves the last complete ``last.ckpt`` (checkpoints are
written atomically), possibly a temporary ``.last.ckpt.*.part`` file, and a
``csv/metrics.csv`` holding the rows logged up to the kill. Lightning's CSVLogger deletes
that file when it starts; :func:`keep_csv_history` puts back the rows of the steps the
checkpoint already holds, so the resumed run continues the table instead of starting one.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.loggers import CSVLogger

from visionseg.io.atomic import remove_partial_files, write_text
from visionseg.models.checkpoint import CheckpointError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResumePoint:
    """Where a checkpoint stopped: its last finished epoch and optimizer step count."""

    path: Path
    epoch: int
    global_step: int


def resume_point(ckpt_path: str | Path) -> ResumePoint:
    """Epoch and step of a Lightning checkpoint (memory-mapped, weights not loaded);
    CheckpointError naming ``ckpt_path`` when it is missing or unreadable."""
    path = Path(ckpt_path)
    if not path.is_file():
        raise CheckpointError(f"ckpt_path={path}: checkpoint file not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return ResumePoint(path, int(checkpoint["epoch"]), int(checkpoint["global_step"]))
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user error
        raise CheckpointError(
            f"ckpt_path={path}: not a readable training checkpoint ({type(err).__name__})"
        ) from err


def clear_partial_checkpoints(output_dir: Path) -> None:
    """Remove the temporary checkpoint files a killed run left in ``checkpoints/``."""
    for leftover in remove_partial_files(output_dir / "checkpoints"):
        log.info("removed %s, left by an interrupted run", leftover)


def keep_csv_history(loggers: Sequence[Any], point: ResumePoint) -> None:
    """For each CSVLogger, keep the rows of ``metrics.csv`` logged before ``point``'s step
    (the resumed run logs the later ones again) across the logger's own clean start."""
    for logger in loggers:
        if not isinstance(logger, CSVLogger):
            continue
        path = Path(logger.log_dir) / "metrics.csv"
        header, rows = _rows_before(path, point.global_step)
        writer = logger.experiment  # Lightning's writer deletes metrics.csv here
        if not rows:
            continue
        buffer = io.StringIO()
        table = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        table.writeheader()
        table.writerows(rows)
        write_text(path, buffer.getvalue())
        writer.metrics_keys = list(header)
        log.info("%s: kept %d row(s) logged before step %d", path, len(rows), point.global_step)


def _rows_before(path: Path, step: int) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        return [], []
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        header = list(reader.fieldnames or [])
        rows = [row for row in reader
                if None not in row and (n := _step(row)) is not None and n < step]
    return header, rows


def _step(row: dict[str, str | None]) -> int | None:
    """The row's step; None for a row cut short by the kill."""
    try:
        return int(float(row.get("step") or ""))
    except ValueError:
        return None
