"""Rolling-window monitoring of a stream of inspected images.

Each image adds its statistics and its verdict to a window of the last ``window`` images;
once the window is full, every ``every`` images, each statistic's PSI against the
reference and a binomial test of the window's NG count against the expected NG rate are
computed. An alert is raised when drift enters the ``act`` band or the NG rate becomes
significantly high or low, and a note when either returns to normal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from visionseg.monitor.ngrate import ng_rate_test
from visionseg.monitor.psi import Band, window_psi
from visionseg.monitor.reference import LineReference
from visionseg.monitor.settings import MonitorSettings
from visionseg.monitor.stats import image_features

UNAVAILABLE = "unavailable"
WARMING_UP = "warming up"


@dataclass
class MonitorStatus:
    """The monitor's state after one image; ``alerts`` are the ones this image raised."""

    images: int = 0
    drift: str = UNAVAILABLE
    worst_feature: str | None = None
    worst_psi: float | None = None
    psi: dict[str, float] = field(default_factory=dict)
    ng: str = UNAVAILABLE
    ng_rate: float | None = None
    ng_expected: float | None = None
    ng_p_value: float | None = None
    alerts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """For the results log: rounded numbers, PSI per feature only when drift is known."""
        out = asdict(self)
        out["psi"] = {k: round(v, 4) for k, v in self.psi.items()}
        for key in ("worst_psi", "ng_rate", "ng_p_value"):
            if out[key] is not None:
                out[key] = round(out[key], 6)
        return out


class RollingMonitor:
    """Drift and NG-rate monitoring over a rolling window; not thread-safe (one caller)."""

    def __init__(self, reference: LineReference, settings: MonitorSettings | None = None) -> None:
        self.reference = reference
        self.settings = settings or MonitorSettings()
        self._features: deque[np.ndarray] = deque(maxlen=self.settings.window)
        self._ng: deque[bool] = deque(maxlen=self.settings.window)
        self.status = MonitorStatus(
            drift=WARMING_UP if reference.drift else UNAVAILABLE,
            ng=WARMING_UP if reference.ng else UNAVAILABLE,
            ng_expected=reference.ng.rate if reference.ng else None,
        )

    def features(self, image: np.ndarray) -> dict[str, float] | None:
        """The statistics of ``image`` the reference compares, or None without a reference."""
        drift = self.reference.drift
        return image_features(image, drift.embedding) if drift else None

    def update(self, features: Mapping[str, float] | None, ng: bool) -> MonitorStatus:
        """Add one image (its statistics, its verdict); return the status, with any alerts."""
        drift = self.reference.drift
        if drift is not None and features and all(n in features for n in drift.names):
            self._features.append(np.array([features[n] for n in drift.names]))
        self._ng.append(bool(ng))
        previous = self.status
        status = MonitorStatus(**{**asdict(previous), "alerts": []})
        status.images = previous.images + 1
        if status.images % self.settings.every == 0:
            self._drift(status)
            self._ng_rate(status)
            status.alerts = _alerts(previous, status)
        self.status = status
        return status

    def restore(self, rows: Iterable[tuple[Mapping[str, float] | None, bool]]) -> None:
        """Refill the window from earlier results (a restart), raising no alerts."""
        for features, ng in rows:
            self.update(features, ng)
        self.status.alerts = []

    def _drift(self, status: MonitorStatus) -> None:
        drift = self.reference.drift
        if drift is None or len(self._features) < self.settings.window:
            return
        table = np.stack(self._features)
        status.psi = {
            f.name: window_psi(f.proportions, f.edges, table[:, i])
            for i, f in enumerate(drift.features)
        }
        worst = max(status.psi, key=status.psi.get)
        status.worst_feature, status.worst_psi = worst, status.psi[worst]
        status.drift = Band.of(status.worst_psi, self.settings.watch, self.settings.act).value

    def _ng_rate(self, status: MonitorStatus) -> None:
        expected = self.reference.ng
        if expected is None or len(self._ng) < self.settings.window:
            return
        test = ng_rate_test(sum(self._ng), len(self._ng), expected.rate, self.settings.ng_alpha)
        status.ng, status.ng_rate, status.ng_p_value = test.status, test.rate, test.p_value


def _alerts(previous: MonitorStatus, status: MonitorStatus) -> list[str]:
    alerts = []
    act = Band.ACT.value
    if status.drift == act and previous.drift != act:
        alerts.append(
            f"drift: {status.worst_feature} PSI {status.worst_psi:.3f} >= act band "
            f"(after {status.images} image(s))"
        )
    elif previous.drift == act and status.drift != act:
        alerts.append(f"drift back to {status.drift}: worst PSI {status.worst_psi:.3f}")
    if status.ng in ("high", "low") and previous.ng != status.ng:
        alerts.append(
            f"NG rate {status.ng}: {status.ng_rate:.3f} in the window, expected "
            f"{status.ng_expected:.3f} (binomial p = {status.ng_p_value:.2g})"
        )
    elif previous.ng in ("high", "low") and status.ng == "ok":
        alerts.append(f"NG rate back to ok: {status.ng_rate:.3f}")
    return alerts
