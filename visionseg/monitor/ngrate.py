"""Is the NG rate of a window consistent with the model's expected NG rate? A binomial test."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binomtest


@dataclass(frozen=True)
class NgRateTest:
    """``ng`` NG parts of ``n`` against ``expected``; ``alert`` when ``p_value < alpha``."""

    ng: int
    n: int
    expected: float
    p_value: float
    alpha: float

    @property
    def rate(self) -> float:
        return self.ng / self.n if self.n else float("nan")

    @property
    def alert(self) -> bool:
        return self.p_value < self.alpha

    @property
    def status(self) -> str:
        """``ok``, or ``high``/``low`` when the rate differs significantly from expected."""
        if not self.alert:
            return "ok"
        return "high" if self.rate > self.expected else "low"


def ng_rate_test(ng: int, n: int, expected: float, alpha: float) -> NgRateTest:
    """Two-sided exact binomial test of ``ng`` successes in ``n`` trials at rate ``expected``."""
    p_value = float(binomtest(int(ng), int(n), float(expected)).pvalue) if n else 1.0
    return NgRateTest(ng=int(ng), n=int(n), expected=float(expected), p_value=p_value, alpha=alpha)
