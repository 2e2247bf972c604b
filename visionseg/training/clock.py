"""Training cost beside the validation figures: CPU- and wall-seconds at each validation,
so learning curves can be read against compute, not only against optimiser steps."""

from __future__ import annotations

import time

import lightning as L


class CostClock(L.Callback):
    """Logs ``time/cpu_s`` (this process's CPU time, all threads) and ``time/wall_s``
    since training started, at the end of every validation."""

    def __init__(self) -> None:
        self.cpu0 = self.wall0 = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self.wall0:
            return
        pl_module.log_dict({"time/cpu_s": time.process_time() - self.cpu0,
                            "time/wall_s": time.perf_counter() - self.wall0})
