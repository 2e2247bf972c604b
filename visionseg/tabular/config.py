"""Composing the Hydra configs of the tabular CLIs, range-checking them, and running a CLI.

The configs live in ``configs/tabular`` of the repository (found from this file, so the CLIs
work from any working directory); command-line arguments are Hydra overrides
(``key=value``, ``algorithm=gmm``). The compose API is used instead of ``@hydra.main`` so a
run creates no ``outputs/`` folder or log files: the only files written are the outputs.
The YAML files hold every default; code reads ``cfg["key"]`` and never repeats a default.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from visionseg.cli import user_errors
from visionseg.tabular.errors import TabularInputError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "tabular"
INF = math.inf
# dotted key -> (lowest, highest, whole number?) for every numeric setting of every config
RANGES: dict[str, tuple[float, float, bool]] = {
    "seed": (0, 2**32 - 1, True),
    "threads": (1, 1024, True),
    "features.observation_months": (1, 1200, True),
    "features.validation_months": (0, 120, True),
    "features.top_categories": (1, 50, True),
    "spark.max_iter": (1, 10000, True),
    "late_rows.max_gap_days": (1, 36500, True),
    "late_rows.quantile": (0.5, 1.0, False),
    "reader.max_dropped_share": (0.0, 1.0, False),
    "preprocess.skew_threshold": (0.0, INF, False),
    "preprocess.top_n": (1, 1000, True),
    "k_selection.k_min": (2, 100, True),
    "k_selection.k_max": (2, 100, True),
    "k_selection.min_segment_share": (0.0, 0.5, False),
    "k_selection.min_gain": (0.0, 1.0, False),
    "k_selection.sample": (10, 10**8, True),
    "k_selection.silhouette_sample": (10, 10**6, True),
    "k_selection.gap_references": (0, 100, True),
    "k_selection.gap_sample": (10, 10**6, True),
    "k_selection.min_stability": (-1.0, 1.0, False),
    "k_selection.stability_rounds": (0, 100, True),
    "k_selection.stability_sample": (10, 10**6, True),
    "stability.rounds": (0, 1000, True),
    "stability.sample": (10, 10**7, True),
    "cohorts.max_months": (1, 240, True),
    "cohorts.high_value_amount": (0.0, INF, False),
    "report.sample": (10, 10**6, True),
    "holdout": (0.0, 0.9, False),
    "confidence": (0.5, 0.999, False),
    "alpha": (0.0001, 0.5, False),
    "power": (0.5, 0.999, False),
    "bootstrap": (0, 10**6, True),
    "mde": (0.0, INF, False),
    "silhouette_sample": (10, 10**6, True),
    "triggers.segment_psi": (0.0, INF, False),
    "triggers.feature_psi": (0.0, INF, False),
    "triggers.sustained_periods": (1, 1000, True),
    "triggers.confidence_drop": (0.0, 1.0, False),
    "triggers.silhouette_drop": (0.0, 2.0, False),
}


def _lookup(cfg: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def check_ranges(cfg: Mapping[str, Any]) -> None:
    """Fail with one line naming the first numeric setting that is out of range."""
    for key, (low, high, whole) in RANGES.items():
        present, value = _lookup(cfg, key)
        if not present or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TabularInputError(f"{key}={value!r} must be a number")
        if whole and float(value) != int(value):
            raise TabularInputError(f"{key}={value!r} must be a whole number")
        if not low <= value <= high:
            raise TabularInputError(f"{key}={value!r} is out of range: {low:g} <= {key} <= "
                                    f"{high:g}")
    present, k_min = _lookup(cfg, "k_selection.k_min")
    if present and _lookup(cfg, "k_selection.k_max")[1] < k_min:
        raise TabularInputError("k_selection.k_max must be at least k_selection.k_min")
    check_k(cfg)
    check_winsorize(cfg)


def check_k(cfg: Mapping[str, Any]) -> None:
    """``k`` is ``auto`` or a whole number of at least 2: ``k=2.5`` is refused here rather
    than silently run as 2."""
    present, value = _lookup(cfg, "k")
    if not present or value is None or (isinstance(value, str)
                                        and value.strip().lower() == "auto"):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise TabularInputError(f"k={value!r} must be auto or a whole number of segments")
    if value < 2:
        raise TabularInputError(f"k={value!r} is out of range: a segmentation needs k >= 2")


def parse_k(value: Any) -> int | None:
    """``k=auto`` -> None, else a whole number of at least 2."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise TabularInputError(f"k must be 'auto' or a whole number, not {value!r}") from None
    if k < 2:
        raise TabularInputError(f"k={k}: a segmentation needs at least 2 segments")
    return k


def check_winsorize(cfg: Mapping[str, Any]) -> None:
    """``preprocess.winsorize`` is null or ``[low, high]`` quantiles with 0 <= low < high <= 1;
    an inverted range would clip every customer to one value."""
    present, value = _lookup(cfg, "preprocess.winsorize")
    if not present or value is None:
        return
    key = "preprocess.winsorize"
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)):
        raise TabularInputError(f"{key}={value!r} must be null or [low, high] quantiles")
    low, high = value
    if not 0 <= low < high <= 1:
        raise TabularInputError(f"{key}={list(value)!r} is out of range: 0 <= low < high <= 1 "
                                "(low below high)")


def load_config(name: str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Compose ``configs/tabular/<name>.yaml`` with ``overrides``; a plain, resolved, checked
    dict. Raises TabularInputError for unknown keys, bad syntax, missing required keys or a
    numeric setting out of range."""
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=name, overrides=list(overrides))
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise TabularInputError(
                f"missing required setting(s): {', '.join(f'{m}=...' for m in missing)}")
        plain = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise TabularInputError(f"bad configuration: {exc}") from None
    check_ranges(plain)
    return plain


def run_cli(task: Callable[[list[str]], int], argv: Sequence[str] | None, usage: str) -> int:
    """Run ``task(overrides)``; a :class:`UserError` prints one ``error:`` line and gives
    exit code 2 through the package's one handler, :func:`visionseg.cli.user_errors`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(usage)
        return 0
    # force: a command owns the root logger (a handler left on an old stream by an earlier
    # caller in the same process would fail at every log line)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr, force=True)
    try:
        with user_errors():
            return task(args)
    except SystemExit as stop:
        return int(stop.code)
    except KeyboardInterrupt:
        print("interrupted; no output was written for this step", file=sys.stderr)
        return 130
