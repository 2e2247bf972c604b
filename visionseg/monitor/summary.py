"""What a results log says: counts, NG rate, latency, the monitor's status, alerts, and the
drift and NG-rate trends over the stream."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visionseg.core.errors import UserError
from visionseg.monitor.results_log import RESULTS_FILE, read_results

log = logging.getLogger(__name__)

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
    skipped: int = 0  # valid JSON lines with values of the wrong type

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


class RecordTypeError(ValueError):
    """A results-log record that is valid JSON but holds a value of the wrong type."""


@dataclass
class _OkRecord:
    """The fields of one ``status: ok`` record the summary uses, type-checked."""

    time: str
    file: str
    ng: bool
    latency_ms: dict[str, float]
    monitor: dict[str, Any]
    alerts: list[str]


#: Monitor fields that the summary formats as numbers (``None`` = not measured yet).
NUMERIC_MONITOR_FIELDS = ("worst_psi", "ng_rate", "ng_expected", "ng_p_value")


def _number(value: Any, field_name: str) -> float:
    """``value`` as a float; RecordTypeError naming the field for text, lists, booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordTypeError(f"{field_name} is {value!r}, not a number")
    return float(value)


def _mapping(value: Any, field_name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordTypeError(f"{field_name} is {value!r}, not an object")
    return value


def parse_ok_record(record: dict[str, Any]) -> _OkRecord:
    """The summary's view of an ok record; RecordTypeError when a field has the wrong type
    (``"latency_ms": {"predict": "fast"}``, ``"monitor": {"worst_psi": "high"}``), so such
    a line is skipped whole instead of counting half of it or stopping the summary."""
    latency = {str(k): _number(v, f"latency_ms.{k}")
               for k, v in _mapping(record.get("latency_ms"), "latency_ms").items()}
    monitor = _mapping(record.get("monitor"), "monitor")
    for name in NUMERIC_MONITOR_FIELDS:
        if monitor.get(name) is not None:
            _number(monitor[name], f"monitor.{name}")
    alerts = monitor.get("alerts") or []
    if not isinstance(alerts, list):
        raise RecordTypeError(f"monitor.alerts is {alerts!r}, not a list")
    return _OkRecord(str(record.get("time", "")), str(record.get("file")),
                     record.get("verdict") == "NG", latency, monitor, [str(a) for a in alerts])


def summarise(path: str | os.PathLike) -> LogSummary:
    """Read a results log (a file, or an output folder holding ``results.jsonl``)."""
    path = results_path(path)
    summary = LogSummary(path=path)
    latency: dict[str, list[float]] = {}
    for number, record in enumerate(read_results(path), 1):
        if record.get("status") != "ok":
            _time(summary, str(record.get("time", "")))
            summary.errors.append((str(record.get("file")), str(record.get("error"))))
            continue
        try:
            ok = parse_ok_record(record)
        except RecordTypeError as err:
            log.warning("%s: record %d skipped: %s", path, number, err)
            summary.skipped += 1
            continue
        _time(summary, ok.time)
        _add_ok(summary, ok, latency)
    summary.latency_ms = {
        stage: tuple(float(q) for q in np.percentile(values, QUANTILES))
        for stage, values in latency.items()
    }
    return summary


def _time(summary: LogSummary, time: str) -> None:
    summary.first_time = summary.first_time or time
    summary.last_time = time


def _add_ok(summary: LogSummary, ok: _OkRecord, latency: dict[str, list[float]]) -> None:
    """Count one checked ok record into ``summary`` (and its latencies into ``latency``)."""
    summary.images += 1
    summary.ng += ok.ng
    for stage, ms in ok.latency_ms.items():
        latency.setdefault(stage, []).append(ms)
    monitor = ok.monitor
    summary.last = monitor
    summary.worst_psi.append(_num(monitor.get("worst_psi")))
    summary.window_ng_rate.append(_num(monitor.get("ng_rate")))
    if monitor.get("ng_expected") is not None:
        summary.expected_ng_rate = float(monitor["ng_expected"])
    summary.alerts += [Alert(summary.images, ok.time, ok.file, text) for text in ok.alerts]


def summary_text(s: LogSummary) -> str:
    """A plain-text summary for the terminal."""
    last = s.last
    lines = [
        f"Results log: {s.path}",
        f"Period:      {s.first_time} .. {s.last_time}",
        f"Images:      {s.images} inspected, {s.ng} NG ({_pct(s.ng_rate)}), "
        f"{len(s.errors)} unreadable or failed",
        f"Drift:       {last.get('drift', 'unavailable')}"
        + (f" (worst {last.get('worst_feature', '?')} PSI {last['worst_psi']:.3f})"
           if last.get("worst_psi") is not None else ""),
        f"NG rate:     {last.get('ng', 'unavailable')}"
        + (f" (window {_pct(last['ng_rate'])}, expected {_pct(last['ng_expected'])}, "
           f"p = {_num(last.get('ng_p_value')):.2g})" if last.get("ng_rate") is not None
           else ""),
        "Latency (ms, p50 / p95 / p99):",
        *(f"  {stage:<12} {a:9.1f} {b:9.1f} {c:9.1f}"
          for stage, (a, b, c) in s.latency_ms.items()),
        f"Alerts:      {len(s.alerts)}",
        *(f"  #{a.index} {a.time} {a.file}: {a.message}" for a in s.alerts[-20:]),
    ]
    if s.skipped:
        lines.append(f"Skipped:     {s.skipped} line(s) with values of the wrong type "
                     "(see the warnings above)")
    if s.errors:
        lines += ["Unreadable or failed:", *(f"  {f}: {r}" for f, r in s.errors[-20:])]
    return "\n".join(lines) + "\n"


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _pct(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.1f} %"
