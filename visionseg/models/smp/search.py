"""A table of hyper-parameter search trials, written by a Hydra callback at the end of a sweep.

Hydra's Optuna sweeper writes only the best trial (``optimization_results.yaml``). With
``hydra.callbacks.trial_table._target_: visionseg.models.smp.search.TrialTable`` (as in
``configs/hparams_search/unet_optuna.yaml``) the sweep folder also gets ``trials.csv`` and
``trials.md``: every trial's number, objective, minutes, status and swept settings, best
first, and ``best_config.yaml``, the full resolved config of the best trial (what
``train.py`` wrote into that trial's folder), ready to copy into an experiment.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from visionseg.io.atomic import write_text


@dataclass
class Trial:
    """One finished trial of a sweep."""

    number: int
    objective: float
    minutes: float
    status: str
    folder: str
    settings: dict[str, str] = field(default_factory=dict)


def _objective(job_return: JobReturn) -> tuple[float, str]:
    if job_return.status != JobStatus.COMPLETED:
        return math.nan, f"failed: {type(job_return._return_value).__name__}"
    value = job_return._return_value
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value), "ok"
    return math.nan, f"no objective ({value!r})"


class TrialTable(Callback):
    """Collects each job's objective and swept overrides; writes the tables at sweep end."""

    def __init__(self, swept_only: bool = True) -> None:
        self.swept_only = swept_only
        self.trials: list[Trial] = []
        self._started = time.perf_counter()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._started = time.perf_counter()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        hydra_cfg = job_return.hydra_cfg.hydra if job_return.hydra_cfg else None
        swept = set(hydra_cfg.sweeper.get("params") or {}) if hydra_cfg else set()
        settings = {}
        for override in job_return.overrides or []:
            key, _, value = override.partition("=")
            if not self.swept_only or key.lstrip("+~") in swept:
                settings[key] = value
        objective, status = _objective(job_return)
        # The trial's output folder (working_dir is the launch folder when job.chdir=false).
        folder = hydra_cfg.runtime.output_dir if hydra_cfg else job_return.working_dir or ""
        self.trials.append(Trial(
            number=int(hydra_cfg.job.num) if hydra_cfg else len(self.trials),
            objective=objective,
            minutes=(time.perf_counter() - self._started) / 60,
            status=status,
            folder=str(folder),
            settings=settings,
        ))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.trials:
            return
        out = Path(config.hydra.sweep.dir)
        ranked = sorted(self.trials, key=lambda t: (math.isnan(t.objective), -t.objective
                                                    if not math.isnan(t.objective) else 0))
        write_text(out / "trials.csv", trials_csv(ranked))
        write_text(out / "trials.md", trials_markdown(ranked))
        best = ranked[0]
        source = Path(best.folder) / "config.yaml"
        if not math.isnan(best.objective) and source.is_file():
            shutil.copyfile(source, out / "best_config.yaml")


def _keys(trials: list[Trial]) -> list[str]:
    return sorted({k for t in trials for k in t.settings})


def trials_csv(trials: list[Trial]) -> str:
    """CSV text: one row per trial, one column per swept setting."""
    keys = _keys(trials)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["trial", "objective", "minutes", "status", *keys, "folder"])
    for t in trials:
        writer.writerow([t.number, "" if math.isnan(t.objective) else f"{t.objective:.6f}",
                         f"{t.minutes:.2f}", t.status,
                         *(t.settings.get(k, "") for k in keys), t.folder])
    return buffer.getvalue()


def trials_markdown(trials: list[Trial]) -> str:
    """A Markdown table of the trials in the given order (best first)."""
    keys = _keys(trials)
    lines = ["| trial | objective | minutes | status | " + " | ".join(keys) + " |",
             "|---|---|---|---|" + "---|" * len(keys)]
    for t in trials:
        value = "n/a" if math.isnan(t.objective) else f"{t.objective:.4f}"
        cells = " | ".join(t.settings.get(k, "") for k in keys)
        lines.append(f"| {t.number} | {value} | {t.minutes:.1f} | {t.status} | {cells} |")
    return "\n".join(lines) + "\n"
