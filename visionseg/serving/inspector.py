"""One image through the pipeline batch inference runs: predict, post-process, part rule,
defect rows, monitor; then the same writers. Every stage is timed.

Used by the watched folder and by the service, one image at a time (not thread-safe:
the service runs one inspection at a time).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from visionseg.core.method import Method
from visionseg.core.prediction import Prediction
from visionseg.core.verdict import PartRule
from visionseg.inference.records import DefectRow
from visionseg.inference.runner import judge_one
from visionseg.inference.writers import write_outputs
from visionseg.io.scale16 import Scale16
from visionseg.monitor.reference import LineReference
from visionseg.monitor.window import MonitorStatus, RollingMonitor
from visionseg.postprocess.base import PostProcess

log = logging.getLogger(__name__)

#: Stages timed for every image, in order; ``decode`` is timed by the caller.
STAGES = ("decode", "predict", "postprocess", "monitor", "write")


def utc_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds (the results log's ``time``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Inspection:
    """What one image got: its final prediction, verdict, defects and timings."""

    name: str
    pred: Prediction
    verdict: str
    defects: dict[str, int]
    regions: list[DefectRow]
    width: int
    height: int
    stats: dict[str, float] | None
    monitor: MonitorStatus
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ng(self) -> bool:
        return self.verdict == "NG"

    def latency_totals(self) -> dict[str, float]:
        """Milliseconds per stage and their total, rounded to microseconds."""
        return {**{k: round(v, 3) for k, v in self.latency_ms.items()},
                "total": round(sum(self.latency_ms.values()), 3)}

    def log_record(self, file: str, when: str | None = None) -> dict[str, Any]:
        """The results-log line of this image."""
        return {
            "name": self.name,
            "file": file,
            "time": when or utc_now(),
            "status": "ok",
            "verdict": self.verdict,
            "width": self.width,
            "height": self.height,
            "defects": self.defects,
            "regions": [row.region() for row in self.regions],
            "latency_ms": self.latency_totals(),
            "stats": self.stats,
            "monitor": self.monitor.to_dict(),
        }


class Inspector:
    """A method, a post-processing chain, the part rule, outputs and a monitor; and
    ``scale16``, how its callers turn 16-bit images into 8-bit (as batch inference does)."""

    def __init__(
        self,
        method: Method,
        rule: PartRule,
        postprocess: PostProcess | None = None,
        monitor: RollingMonitor | None = None,
        overlays: bool = True,
        overlay_alpha: float = 0.5,
        scale16: Scale16 | None = None,
    ) -> None:
        rule.check_classes(method.classes)
        self.scale16 = scale16
        self.method = method
        self.rule = rule
        self.postprocess = postprocess
        self.monitor = monitor or RollingMonitor(LineReference())
        self.overlays = overlays
        self.overlay_alpha = overlay_alpha

    @property
    def classes(self) -> list[str]:
        return list(self.method.classes)

    def warm_up(self, size: int = 64) -> None:
        """Run the method once on a noise image, so lazy initialisation (threads, kernels)
        is not paid by the first part; a failure is only logged (the parts will tell)."""
        noise = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
        try:
            self.method.predict(noise)
        except Exception as err:  # noqa: BLE001 - a warm-up, not an inspection
            log.warning("warm-up prediction failed: %s: %s", type(err).__name__, err)

    def inspect(self, image: np.ndarray, name: str, decode_ms: float = 0.0) -> Inspection:
        """Predict, post-process and judge ``image``; update the monitor with it."""
        timer = _Timer({"decode": decode_ms})
        pred = self.method.predict(image)
        timer.lap("predict")
        pred, record, rows = judge_one(
            name, name, image, pred, self.classes, self.rule, self.postprocess
        )
        timer.lap("postprocess")
        stats = self.monitor.features(image)
        status = self.monitor.update(stats, record.ng)
        timer.lap("monitor")
        defects = dict.fromkeys(self.classes[1:], 0)
        for row in rows:
            defects[row.class_name] = defects.get(row.class_name, 0) + 1
        return Inspection(
            name=name,
            pred=pred,
            verdict=str(record.verdict),
            defects=defects,
            regions=rows,
            width=record.width,
            height=record.height,
            stats=None if stats is None else {k: round(v, 5) for k, v in stats.items()},
            monitor=status,
            latency_ms=timer.laps,
        )

    def write(self, output_dir: Path, image: np.ndarray, inspection: Inspection) -> None:
        """The batch writers' files for this image (``masks/``, ``overlays/``, ...); the
        ``write`` stage time is added to the inspection."""
        started = time.perf_counter()
        write_outputs(output_dir, inspection.name, image, inspection.pred,
                      len(self.classes), self.overlays, self.overlay_alpha)
        inspection.latency_ms["write"] = (time.perf_counter() - started) * 1000.0


class _Timer:
    """Milliseconds per stage, measured as laps from the previous one."""

    def __init__(self, laps: dict[str, float]) -> None:
        self.laps = dict(laps)
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = (now - self._last) * 1000.0
        self._last = now
