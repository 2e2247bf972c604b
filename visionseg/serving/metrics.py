"""The service's Prometheus metrics: counts, NG rate, latency, drift and NG-rate status.

One registry per service (not the process-wide default), so tests and several apps in
one process do not collide. Latency is a histogram per stage (what Prometheus aggregates)
plus p50/p95/p99 gauges over the last ``recent`` images (what a person reads).
"""

from __future__ import annotations

from collections import deque

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, generate_latest

from visionseg.monitor.psi import Band
from visionseg.monitor.window import UNAVAILABLE, WARMING_UP, MonitorStatus
from visionseg.serving.inspector import STAGES, Inspection

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUANTILES = (0.5, 0.95, 0.99)
DRIFT_STATES = [UNAVAILABLE, WARMING_UP, *(b.value for b in Band)]
NG_STATES = [UNAVAILABLE, WARMING_UP, "ok", "high", "low"]


class ServiceMetrics:
    """Updated after every inspection and every answer; rendered by ``GET /metrics``."""

    def __init__(self, recent: int = 1000) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.inspections = Counter("visionseg_inspections", "Images inspected, by verdict",
                                   ["verdict"], registry=r)
        self.responses = Counter("visionseg_responses", "Every HTTP answer, by status",
                                 ["status"], registry=r)
        self.errors = Counter("visionseg_request_errors", "Requests refused or failed, by "
                              "HTTP status", ["status"], registry=r)
        self.latency = Histogram("visionseg_latency_seconds", "Time per stage of one image",
                                 ["stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.quantiles = Gauge("visionseg_latency_recent_seconds", "Latency quantiles over "
                               "the most recent images", ["stage", "quantile"], registry=r)
        self.ng_rate = Gauge("visionseg_ng_rate", "NG share of all inspections", registry=r)
        self.window_ng_rate = Gauge("visionseg_window_ng_rate", "NG share in the monitor "
                                    "window (NaN until full)", registry=r)
        self.expected_ng_rate = Gauge("visionseg_expected_ng_rate", "NG share the model's "
                                      "evaluation found (NaN when unknown)", registry=r)
        self.ng_p_value = Gauge("visionseg_ng_rate_p_value", "Binomial test of the window's "
                                "NG count against the expected rate", registry=r)
        self.psi = Gauge("visionseg_drift_psi", "PSI of each statistic in the window",
                         ["feature"], registry=r)
        self.drift = Enum("visionseg_drift", "Drift band of the worst statistic",
                          states=DRIFT_STATES, registry=r)
        self.ng_status = Enum("visionseg_ng_rate_status", "NG rate against the expected rate",
                              states=NG_STATES, registry=r)
        self.alerts = Counter("visionseg_alerts", "Monitoring alerts raised", registry=r)
        self._recent = {stage: deque(maxlen=recent) for stage in (*STAGES, "total")}
        self._counts = {"OK": 0, "NG": 0}

    def set_status(self, status: MonitorStatus) -> None:
        """The monitor's current state (also called once at start-up)."""
        self.drift.state(status.drift)
        self.ng_status.state(status.ng)
        self.expected_ng_rate.set(_num(status.ng_expected))
        self.window_ng_rate.set(_num(status.ng_rate))
        self.ng_p_value.set(_num(status.ng_p_value))
        for feature, value in status.psi.items():
            self.psi.labels(feature).set(value)

    def observe(self, inspection: Inspection) -> None:
        self.inspections.labels(inspection.verdict).inc()
        self._counts[inspection.verdict] += 1
        self.ng_rate.set(self._counts["NG"] / sum(self._counts.values()))
        total = 0.0
        for stage, ms in inspection.latency_ms.items():
            self.latency.labels(stage).observe(ms / 1000.0)
            self._recent[stage].append(ms / 1000.0)
            total += ms
        self.latency.labels("total").observe(total / 1000.0)
        self._recent["total"].append(total / 1000.0)
        self.alerts.inc(len(inspection.monitor.alerts))
        self.set_status(inspection.monitor)

    def answered(self, status: int) -> None:
        """One HTTP answer (counted by the service's outermost middleware, so the 422s
        FastAPI gives itself and the 413s of the body limit are counted too); 4xx and 5xx
        also count as request errors."""
        self.responses.labels(str(status)).inc()
        if status >= 400:
            self.error(status)

    def error(self, status: int) -> None:
        self.errors.labels(str(status)).inc()

    def render(self) -> bytes:
        """Prometheus text exposition of every metric."""
        for stage, values in self._recent.items():
            if values:
                for q, v in zip(QUANTILES, np.quantile(np.asarray(values), QUANTILES),
                                strict=True):
                    self.quantiles.labels(stage, str(q)).set(float(v))
        return generate_latest(self.registry)


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)
