"""Range checks for numeric settings, done once where the settings are built.

They live in the core so every layer (data, post-processing, models, apps) uses the same
rule and message; :mod:`visionseg.data.settings` re-exports them for older imports.

Each failure is a :class:`~visionseg.core.errors.ConfigError` whose one line names the
setting as the user writes it (``data.batch_size``), the allowed range and the value.
"""

from __future__ import annotations

import math
from typing import Any

from visionseg.core.errors import ConfigError


def check_int(
    setting: str, value: Any, minimum: int, optional: bool = False, maximum: int | None = None,
) -> int | None:
    """``value`` as an int ``>= minimum`` (and ``<= maximum`` when given; ``None`` allowed
    when ``optional``)."""
    if value is None and optional:
        return None
    span = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
    if (not _is_number(value) or value != int(value) or value < minimum
            or (maximum is not None and value > maximum)):
        raise ConfigError(f"{setting} must be an integer {span}, got {value!r}")
    return int(value)


def check_fraction(
    setting: str, value: Any, low_open: bool = False, high_open: bool = False,
    optional: bool = False,
) -> float | None:
    """``value`` as a float in [0, 1], with either end excluded on request."""
    if value is None and optional:
        return None
    lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
    text = f"{setting} must be a number in {lo}0, 1{hi}, got {value!r}"
    if not _is_number(value):
        raise ConfigError(text)
    if value < 0 or value > 1 or (low_open and value == 0) or (high_open and value == 1):
        raise ConfigError(text)
    return float(value)


def check_range(setting: str, value: Any, low: float, high: float) -> tuple[float, float]:
    """``value`` as a ``[min, max]`` pair with ``low <= min <= max <= high``."""
    text = f"{setting} must be [min, max] with {low} <= min <= max <= {high}, got {value!r}"
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(text) from None
    if not low <= a <= b <= high:
        raise ConfigError(text)
    return a, b


def check_number(
    setting: str, value: Any, minimum: float = 0.0, above: bool = False,
    optional: bool = False, maximum: float | None = None,
) -> float | None:
    """``value`` as a finite float ``>= minimum`` (``> minimum`` when ``above``), and
    ``<= maximum`` when one is given.

    For sizes, weights and rates: NaN, infinity, text and booleans are rejected too, since
    each would train or clean silently wrong.
    """
    if value is None and optional:
        return None
    if maximum is None:
        span = f"{'>' if above else '>='} {minimum:g}"
    else:
        span = f"in {'(' if above else '['}{minimum:g}, {maximum:g}]"
    if (not _is_number(value) or value < minimum or (above and value == minimum)
            or (maximum is not None and value > maximum)):
        raise ConfigError(f"{setting} must be a number {span}, got {value!r}")
    return float(value)


def _is_number(value: Any) -> bool:
    """A finite int or float, not a bool (``True`` is an int to Python, never to a user)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))
