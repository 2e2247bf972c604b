"""A training budget in wall time: ``trainer.max_time`` with no step or epoch budget.

Lightning alone stops at ``max_time`` wherever training is: the cosine schedule cut near
its top and the last pass never validated. Here a first plan is made from the time of the
first ``PROBE_STEPS`` steps (validation not yet timed, so a share is held back for it), and
at the end of every training pass (after its validation) the passes that still fit in the
time left are estimated from the passes done; the step budget is set to a whole number of
passes: the schedule decays to its end when the time does, and training ends on a
validated, checkpointed pass before ``max_time`` (which stays the hard stop). The same 30
minutes then buy as many steps as the machine gives: twice as many on a CPU with bf16
instructions as on one without.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Timer

from visionseg.core.errors import ConfigError
from visionseg.models.schedules import WarmupCosine

log = logging.getLogger(__name__)

#: Share of the budget planned for: the estimate leaves room for one slow pass.
PLANNED_SHARE = 0.97
#: Steps timed for the first plan, after ``SETTLE_STEPS`` untimed ones (allocator, caches).
SETTLE_STEPS, PROBE_STEPS = 5, 30
#: Share of the time the first plan keeps for validation, before any validation is timed.
FIRST_PLAN_TRAIN_SHARE = 0.85


def budget_seconds(max_time: Any) -> float | None:
    """``trainer.max_time`` in seconds: ``"DD:HH:MM:SS"``, a dict of ``days``, ``hours``,
    ``minutes``, ``seconds``, or null (no time budget). One clear error otherwise."""
    if max_time is None:
        return None
    try:
        if isinstance(max_time, str):
            days, hours, minutes, seconds = (int(part) for part in max_time.split(":"))
            value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        elif isinstance(max_time, timedelta):
            value = max_time
        else:
            value = timedelta(**{str(k): float(v) for k, v in dict(max_time).items()})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"trainer.max_time must be 'DD:HH:MM:SS' or a dict of days, hours, "
                          f"minutes, seconds; got {max_time!r} ({err})") from None
    if value.total_seconds() <= 0:
        raise ConfigError(f"trainer.max_time must be positive, got {max_time!r}")
    return value.total_seconds()


def wants_time_budget(trainer_cfg: Any) -> bool:
    """Whether the wall time is the only budget (no ``max_steps``, no ``max_epochs``)."""
    unset = (None, -1)
    return (trainer_cfg.get("max_time") is not None
            and trainer_cfg.get("max_steps") in unset and trainer_cfg.get("max_epochs") in unset)


class TimeBudget(L.Callback):
    """Turns the wall-time budget ``seconds`` into a step budget of whole passes, re-estimated
    after every pass; the warm-up + cosine schedule's ``total_steps`` follows it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._started = 0.0
        self._start_step = 0
        self._passes = 0
        self._probe_started: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started, self._start_step, self._passes = time.monotonic(), trainer.global_step, 0
        self._probe_started = None
        if _cosine(trainer) is None:
            log.warning("trainer.max_time budget: the scheduler is not warmup_cosine, so the "
                        "rate does not follow the time left")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._passes:
            return  # the plans of whole passes rule from the first pass on
        done = trainer.global_step - self._start_step
        if done == SETTLE_STEPS:
            self._probe_started = time.monotonic()
        elif done == SETTLE_STEPS + PROBE_STEPS and self._probe_started is not None:
            step_s = (time.monotonic() - self._probe_started) / PROBE_STEPS
            run_seconds = time.monotonic() - self._started
            left = self.seconds * PLANNED_SHARE - _elapsed(trainer, run_seconds)
            steps = trainer.global_step + max(0, math.floor(
                left * FIRST_PLAN_TRAIN_SHARE / step_s))
            batches = trainer.num_training_batches
            pass_steps = int(batches) if math.isfinite(batches) and batches >= 1 else 1
            total = max(pass_steps, steps // pass_steps * pass_steps)
            self._apply(trainer, total)
            log.info("time budget: %.2f s a step over %d steps: first plan ends at step %d",
                     step_s, PROBE_STEPS, total)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._passes += 1
        run_seconds = time.monotonic() - self._started  # this run's passes, validations too
        left = self.seconds * PLANNED_SHARE - _elapsed(trainer, run_seconds)
        pass_steps = max(1, (trainer.global_step - self._start_step) // self._passes)
        more = max(0, math.floor(left / (run_seconds / self._passes)))
        total = trainer.global_step + more * pass_steps
        self._apply(trainer, total)
        log.info("time budget: %d more pass(es) of %d steps fit in %.0f s: training ends at "
                 "step %d", more, pass_steps, max(left, 0.0), total)

    @staticmethod
    def _apply(trainer: L.Trainer, total: int) -> None:
        trainer.fit_loop.epoch_loop.max_steps = total
        scheduler = _cosine(trainer)
        if scheduler is not None:
            scheduler.total_steps = total


def _elapsed(trainer: L.Trainer, fallback: float) -> float:
    """Seconds of the budget used: Lightning's Timer (it counts earlier runs of a resumed
    training too), else this run's."""
    for callback in trainer.callbacks:
        if isinstance(callback, Timer):
            return callback.time_elapsed("train")
    return fallback


def _cosine(trainer: L.Trainer) -> WarmupCosine | None:
    for config in trainer.lr_scheduler_configs:
        if isinstance(config.scheduler, WarmupCosine):
            return config.scheduler
    return None
