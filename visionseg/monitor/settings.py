"""Monitoring settings (``configs/monitor/``), range-checked where they are built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from visionseg.core.errors import ConfigError, settings_from

#: PSI bands used for features in credit scoring and customer segmentation alike.
PSI_WATCH = 0.1
PSI_ACT = 0.25


@dataclass(frozen=True)
class MonitorSettings:
    """How line images are compared with the model's reference.

    ``window`` images form the rolling window; PSI and the NG-rate test are evaluated
    every ``every`` images once the window is full. ``bins`` is the most quantile bins of a
    reference feature (fewer for a small training set, see :mod:`.reference`).
    ``ng_alpha`` is the two-sided binomial test's level for an NG-rate alert: low, because
    the test is repeated on overlapping windows.
    """

    window: int = 200
    every: int = 1
    bins: int = 10
    watch: float = PSI_WATCH
    act: float = PSI_ACT
    ng_alpha: float = 0.001

    def __post_init__(self) -> None:
        if int(self.bins) != self.bins or not 2 <= self.bins <= 50:
            raise ConfigError(f"monitor.bins must be an integer in [2, 50], got {self.bins}")
        if int(self.window) != self.window or not 5 * self.bins <= self.window <= 100_000:
            raise ConfigError(
                f"monitor.window must be an integer in [{5 * self.bins}, 100000] (at least "
                f"5 images per PSI bin, bins={self.bins}), got {self.window}"
            )
        if int(self.every) != self.every or not 1 <= self.every <= self.window:
            raise ConfigError(
                f"monitor.every must be an integer in [1, window={self.window}], got {self.every}"
            )
        if not 0.0 < float(self.watch) < float(self.act) <= 10.0:
            raise ConfigError(
                f"monitor.watch and monitor.act must satisfy 0 < watch < act <= 10, got "
                f"watch={self.watch}, act={self.act}"
            )
        if not 0.0 < float(self.ng_alpha) < 0.5:
            raise ConfigError(f"monitor.ng_alpha must be in (0, 0.5), got {self.ng_alpha}")

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> MonitorSettings:
        """Settings from a config node; unknown keys are an error naming them."""
        return settings_from(cls, value, "monitor")
