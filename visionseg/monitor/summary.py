"""What a results log says: counts, NG rate, latency, the monitor's status, alerts, and the
drift and NG-rate trends over the stream."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visionseg.core.errors import UserError
from visionseg.monitor.results_log import RESULTS_FILE, read_results

QUANTILES = (50, 95, 99)


class ResultsNotFoundError(UserError):
    """The path is neither a results log nor a folder holding one."""


@dataclass
class Alert:
    index: int
    time: str
    file: str
    message: str


@dataclass
class LogSummary:
    """A results log reduced to what a line engineer reads; trends are per ok image."""

    path: Path
    images: int = 0
    ng: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    latency_ms: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)  # the last monitor status
    alerts: list[Alert] = field(default_factory=list)
    worst_psi: list[float] = field(default_factory=list)
    window_ng_rate: list[float] = field(default_factory=list)
    expected_ng_rate: float | None = None
    first_time: str = ""
    last_time: str = ""

    @property
    def ng_rate(self) -> float:
        return self.ng / self.images if self.images else float("nan")


def results_path(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/results.jsonl`` for an output folder."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise ResultsNotFoundError(f"{path}: no results log (results.jsonl) found")
    return path


def summarise(path: str | os.PathLike) -> LogSummary:
    """Read a results log (a file, or an output folder holding ``results.jsonl``)."""
    path = results_path(path)
    summary = LogSummary(path=path)
    latency: dict[str, list[float]] = {}
    for record in read_results(path):
        summary.first_time = summary.first_time or str(record.get("time", ""))
        summary.last_time = str(record.get("time", ""))
        if record.get("status") != "ok":
            summary.errors.append((str(record.get("file")), str(record.get("error"))))
            continue
        summary.images += 1
        summary.ng += record.get("verdict") == "NG"
        for stage, ms in (record.get("latency_ms") or {}).items():
            latency.setdefault(stage, []).append(float(ms))
        monitor = record.get("monitor") or {}
        summary.last = monitor
        summary.worst_psi.append(_num(monitor.get("worst_psi")))
        summary.window_ng_rate.append(_num(monitor.get("ng_rate")))
        if monitor.get("ng_expected") is not None:
            summary.expected_ng_rate = float(monitor["ng_expected"])
        summary.alerts += [
            Alert(summary.images, str(record.get("time")), str(record.get("file")), text)
            for text in monitor.get("alerts") or []
        ]
    summary.latency_ms = {
        stage: tuple(float(q) for q in np.percentile(values, QUANTILES))
        for stage, values in latency.items()
    }
    return summary


def summary_text(s: LogSummary) -> str:
    """A plain-text summary for the terminal."""
    last = s.last
    lines = [
        f"Results log: {s.path}",
        f"Period:      {s.first_time} .. {s.last_time}",
        f"Images:      {s.images} inspected, {s.ng} NG ({_pct(s.ng_rate)}), "
        f"{len(s.errors)} unreadable or failed",
        f"Drift:       {last.get('drift', 'unavailable')}"
        + (f" (worst {last['worst_feature']} PSI {last['worst_psi']:.3f})"
           if last.get("worst_psi") is not None else ""),
        f"NG rate:     {last.get('ng', 'unavailable')}"
        + (f" (window {_pct(last['ng_rate'])}, expected {_pct(last['ng_expected'])}, "
           f"p = {last['ng_p_value']:.2g})" if last.get("ng_rate") is not None else ""),
        "Latency (ms, p50 / p95 / p99):",
        *(f"  {stage:<12} {a:9.1f} {b:9.1f} {c:9.1f}"
          for stage, (a, b, c) in s.latency_ms.items()),
        f"Alerts:      {len(s.alerts)}",
        *(f"  #{a.index} {a.time} {a.file}: {a.message}" for a in s.alerts[-20:]),
    ]
    if s.errors:
        lines += ["Unreadable or failed:", *(f"  {f}: {r}" for f, r in s.errors[-20:])]
    return "\n".join(lines) + "\n"


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _pct(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.1f} %"
