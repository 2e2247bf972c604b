"""Campaign lift statistics: treatment against a holdout control, per segment and overall.

- Conversion (a 0/1 outcome): the difference of proportions with a Wald interval (unpooled
  standard error) and the two-proportion z-test (pooled standard error).
- Revenue per customer: the difference of means with Welch's t-test; the interval is
  Welch's, or a bootstrap percentile interval when either group's values are skewed
  (|skewness| > 1, typical of revenue with many zeros).
- p-values over the segments are corrected with Holm's step-down method (family-wise error).
- The sample size per group that a minimum detectable effect (``mde``, absolute) would have
  needed at the given significance and power, by the usual normal approximations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Lift:
    """One comparison of treatment with control."""

    metric: str
    treatment_n: int
    control_n: int
    treatment: float
    control: float
    lift: float
    relative_lift: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    required_n: float


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def proportion_lift(x_t: int, n_t: int, x_c: int, n_c: int, confidence: float = 0.95,
                    mde: float | None = None, power: float = 0.8) -> Lift:
    """Difference of conversion rates ``x_t/n_t - x_c/n_c`` with its interval and p-value."""
    if min(n_t, n_c) == 0:
        nan = float("nan")
        return Lift("conversion", n_t, n_c, nan, nan, nan, nan, nan, nan, nan, "no data", nan)
    p_t, p_c = x_t / n_t, x_c / n_c
    diff = p_t - p_c
    se = np.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    z = _z(confidence)
    pooled = (x_t + x_c) / (n_t + n_c)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 > 0 else float("nan")
    required = (proportion_sample_size(p_c, mde, 1 - confidence, power)
                if mde else float("nan"))
    return Lift("conversion", n_t, n_c, p_t, p_c, diff, diff / p_c if p_c else float("nan"),
                diff - z * se, diff + z * se, p_value, "difference of proportions (Wald, z-test)",
                required)


def _skewed(values: np.ndarray) -> bool:
    return len(values) > 2 and np.std(values) > 0 and abs(stats.skew(values)) > 1


def mean_lift(treatment: np.ndarray, control: np.ndarray, confidence: float = 0.95,
              bootstrap: int = 2000, seed: int = 0, mde: float | None = None,
              power: float = 0.8) -> Lift:
    """Difference of mean revenue per customer, Welch's test, Welch or bootstrap interval."""
    t = np.asarray(treatment, dtype="float64")
    c = np.asarray(control, dtype="float64")
    if min(len(t), len(c)) < 2:
        nan = float("nan")
        return Lift("revenue", len(t), len(c), nan, nan, nan, nan, nan, nan, nan, "no data",
                    nan)
    diff = float(t.mean() - c.mean())
    var_t, var_c = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    se = np.sqrt(var_t + var_c)
    if se == 0:
        p_value, low, high, method = float("nan"), diff, diff, "no variation"
    else:
        welch = stats.ttest_ind(t, c, equal_var=False)
        p_value = float(welch.pvalue)
        dof = (var_t + var_c) ** 2 / (var_t**2 / (len(t) - 1) + var_c**2 / (len(c) - 1))
        q = float(stats.t.ppf(0.5 + confidence / 2, dof))
        low, high, method = diff - q * se, diff + q * se, "difference of means (Welch)"
        if bootstrap > 0 and (_skewed(t) or _skewed(c)):
            low, high = bootstrap_interval(t, c, confidence, bootstrap, seed)
            method = f"difference of means (Welch test, bootstrap interval, {bootstrap} resamples)"
    sigma = np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
    required = mean_sample_size(sigma, mde, 1 - confidence, power) if mde else float("nan")
    return Lift("revenue", len(t), len(c), float(t.mean()), float(c.mean()), diff,
                diff / c.mean() if c.mean() else float("nan"), float(low), float(high), p_value,
                method, required)


def bootstrap_interval(t: np.ndarray, c: np.ndarray, confidence: float, rounds: int,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the mean difference over ``rounds`` resamples of each group."""
    rng = np.random.default_rng(seed)
    diffs = np.empty(rounds)
    for i in range(rounds):
        diffs[i] = (t[rng.integers(0, len(t), len(t))].mean()
                    - c[rng.integers(0, len(c), len(c))].mean())
    tail = (1 - confidence) / 2
    return float(np.quantile(diffs, tail)), float(np.quantile(diffs, 1 - tail))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN and is not counted)."""
    p = np.asarray(p_values, dtype="float64")
    out = np.full(len(p), np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out


def proportion_sample_size(p_control: float, mde: float, alpha: float = 0.05,
                           power: float = 0.8) -> float:
    """Customers per group to detect ``p_control`` -> ``p_control + mde`` (two-sided)."""
    p_t = min(max(p_control + mde, 1e-9), 1 - 1e-9)
    p_bar = (p_control + p_t) / 2
    z_a, z_b = _z(1 - alpha), float(stats.norm.ppf(power))
    top = (z_a * np.sqrt(2 * p_bar * (1 - p_bar))
           + z_b * np.sqrt(p_control * (1 - p_control) + p_t * (1 - p_t))) ** 2
    return float(np.ceil(top / mde**2))


def mean_sample_size(sigma: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Customers per group to detect a mean difference ``mde`` with standard deviation
    ``sigma`` in each group (two-sided)."""
    z_a, z_b = _z(1 - alpha), float(stats.norm.ppf(power))
    return float(np.ceil(2 * (z_a + z_b) ** 2 * sigma**2 / mde**2))
