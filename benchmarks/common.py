"""Shared helpers for the benchmark scripts: device naming and synchronised timing."""

from __future__ import annotations

import os
import platform
import time

import torch

from visionseg.core.cpu import RELEVANT_ISA, cpu_info

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timer:
    """Wall time of a block, synchronising the device at both ends."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        sync(self.device)
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        sync(self.device)
        self.seconds = time.perf_counter() - self.start


def lightning_images_per_second(cfg, warmup: int, steps: int, batch: int,
                                device: torch.device) -> float:
    """Images/s of ``lightning.Trainer.fit`` on ``cfg.data`` and ``cfg.model``, as train.py
    builds them, timed over ``steps`` steps after ``warmup`` (no validation, no logging)."""
    import lightning as L
    from hydra.utils import instantiate

    from visionseg.training.precision import trainer_precision

    class StepTimer(L.Callback):
        start: float | None = None
        end: float | None = None

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if trainer.global_step == warmup and self.start is None:
                sync(device)
                self.start = time.perf_counter()

        def on_train_end(self, trainer, module):
            sync(device)
            self.end = time.perf_counter()

    timer = StepTimer()
    trainer_cfg = {k: v for k, v in cfg.trainer.items() if k not in ("_target_", "plugins")}
    trainer_cfg.update(max_steps=warmup + steps, max_epochs=-1, limit_val_batches=0,
                       logger=False, enable_checkpointing=False, enable_progress_bar=False,
                       enable_model_summary=False, callbacks=[timer],
                       precision=trainer_precision(trainer_cfg.get("precision"),
                                                   trainer_cfg.get("accelerator")))
    L.Trainer(**trainer_cfg).fit(instantiate(cfg.model), datamodule=instantiate(cfg.data))
    return steps * batch / (timer.end - timer.start)


def cpu_facts() -> dict:
    """The CPU, the instruction sets torch can use on it, and the load while measuring
    (a figure measured while other jobs ran is not an idle machine's)."""
    model, flags = cpu_info()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "isa": [f for f in RELEVANT_ISA if f in flags],
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
