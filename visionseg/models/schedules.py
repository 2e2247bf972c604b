"""Learning-rate schedules counted in optimiser steps.

Networks learn in optimiser steps, not epochs: an epoch of a small data set with large
crops is a few dozen steps, of a large one thousands. ``warmup_cosine`` warms up linearly
(a randomly initialised network with batch norm and Adam diverges or collapses to the
class priors at the full rate), then decays along a cosine to ``min_ratio`` of the rate at
the trainer's last step (``trainer.max_steps``). One schedule for every model: U-Nets and
Mask R-CNN from random weights alike (the detector diverges at its full rate without the
warm-up).
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR

from visionseg.core.checks import check_fraction, check_int


def warmup_cosine_factor(step: int, total_steps: int | None, warmup_steps: int,
                         min_ratio: float) -> float:
    """The rate multiplier at ``step`` (0-based); constant after warm-up without a total."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if not total_steps or total_steps <= warmup_steps:
        return 1.0
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine(LambdaLR):
    """The warm-up + cosine schedule as a scheduler whose ``total_steps`` can be set after
    it is built: a wall-time budget (:mod:`visionseg.training.time_budget`) knows the
    number of steps only once it has timed some. Saved and restored with the scheduler."""

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int | None,
                 warmup_steps: int, min_ratio: float) -> None:
        self.total_steps = total_steps
        self.warmup_steps, self.min_ratio = warmup_steps, min_ratio
        super().__init__(optimizer, self.factor)

    def factor(self, step: int) -> float:
        return warmup_cosine_factor(step, self.total_steps, self.warmup_steps, self.min_ratio)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["lr_lambdas"] = [None]  # the bound method is rebuilt, not pickled
        return state


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int | None = None,
                  warmup_steps: int = 100, min_ratio: float = 0.01) -> WarmupCosine:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``min_ratio`` x the rate
    at ``total_steps`` (the trainer's estimate, given by ``configure_optimizers``; set
    later under a wall-time budget)."""
    warmup_steps = check_int("model.scheduler.warmup_steps", warmup_steps, 0)
    min_ratio = check_fraction("model.scheduler.min_ratio", min_ratio)
    return WarmupCosine(optimizer, total_steps, max(1, int(warmup_steps)), min_ratio)
