"""Optimizer and scheduler from plain Hydra configs, shared by every LightningModule."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate

from visionseg.core.checks import check_number

#: Optimizer settings that must be finite and non-negative (``lr`` also above zero).
NON_NEGATIVE_OPTIMIZER_SETTINGS = ("weight_decay", "momentum", "eps")


def check_optimizer(optimizer: dict[str, Any]) -> dict[str, Any]:
    """``optimizer`` (a partial's config), its rates range-checked when the module is built:
    a negative ``lr`` would otherwise fail in torch only when training starts, after the
    data were loaded, with a traceback."""
    if "lr" in optimizer:
        check_number("model.optimizer.lr", optimizer["lr"], 0.0, above=True)
    for key in NON_NEGATIVE_OPTIMIZER_SETTINGS:
        if optimizer.get(key) is not None:
            check_number(f"model.optimizer.{key}", optimizer[key], 0.0)
    return optimizer


def configure_optimizers(
    module: L.LightningModule,
    params: Iterable[torch.nn.Parameter],
    optimizer: dict[str, Any],
    scheduler: dict[str, Any] | None,
    default_interval: str = "epoch",
) -> Any:
    """What ``configure_optimizers`` returns for an optimizer partial and an optional
    scheduler partial (``interval`` and ``monitor`` keys are Lightning's, not the
    scheduler's; a scheduler taking ``total_steps`` gets the trainer's estimate)."""
    opt = instantiate(optimizer)(params=params)
    if not scheduler:
        return opt
    scheduler_cfg = dict(scheduler)
    interval = scheduler_cfg.pop("interval", default_interval)
    monitor = scheduler_cfg.pop("monitor", "val/mIoU")
    factory = instantiate(scheduler_cfg)
    kwargs: dict[str, Any] = {}
    if "total_steps" in inspect.signature(factory).parameters:
        total = module.trainer.estimated_stepping_batches
        kwargs["total_steps"] = int(total) if np.isfinite(total) else None
    return {
        "optimizer": opt,
        "lr_scheduler": {
            "scheduler": factory(optimizer=opt, **kwargs),
            "interval": interval,
            "monitor": monitor,
        },
    }


def submodule_state(checkpoint: dict, prefix: str = "net.") -> dict[str, torch.Tensor]:
    """The tensors of one submodule of a Lightning checkpoint, prefix removed."""
    return {
        k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)
    }

