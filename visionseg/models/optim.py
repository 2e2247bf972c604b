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


def checkpoint_meta(
    module: L.LightningModule, decision: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """What :func:`~visionseg.models.checkpoint.load_method` needs to rebuild ``module``'s
    network without Hydra: its class, classes, network config, training size, ``extra``.

    ``decision``: the part rule (``PartRule.to_dict()``) the checkpoint was calibrated
    with; None (a fresh training run) means infer.py uses the configured ``decision`` node.
    """
    return {
        "module": f"{type(module).__module__}.{type(module).__qualname__}",
        "classes": module.classes,
        "net": module.net.config,
        "image_size": module.hparams.image_size,
        "image16": _training_scale16(module),
        "decision": decision,
        **extra,
    }


def _training_scale16(module: L.LightningModule) -> dict[str, Any] | None:
    """How the training images were read from 16-bit files (the data module's resolved
    ``Scale16``), so infer.py and evaluate.py read theirs the same way; None without one."""
    trainer = getattr(module, "_trainer", None)
    scale16 = getattr(getattr(trainer, "datamodule", None), "scale16", None)
    return scale16.to_dict() if scale16 is not None else None
