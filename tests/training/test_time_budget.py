"""A wall-time budget: whole validated passes, the schedule ending with the time."""

from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from tests.conftest import run_script
from visionseg.core.errors import ConfigError
from visionseg.models.schedules import warmup_cosine
from visionseg.training import time_budget
from visionseg.training.time_budget import TimeBudget, budget_seconds, wants_time_budget


def test_budget_formats_and_refusals():
    assert budget_seconds("00:00:30:00") == 1800
    assert budget_seconds({"minutes": 1, "seconds": 30}) == 90
    assert budget_seconds(None) is None
    for bad in ("30 minutes", "00:00:00:00", {"weeks": "x"}):
        with pytest.raises(ConfigError, match="trainer.max_time"):
            budget_seconds(bad)
    assert wants_time_budget({"max_time": "00:00:30:00", "max_steps": -1, "max_epochs": -1})
    assert not wants_time_budget({"max_time": "00:00:30:00", "max_steps": 4000})
    assert not wants_time_budget({"max_time": None, "max_steps": -1})


def test_the_step_budget_is_whole_passes_of_the_time_left(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(time_budget.time, "monotonic", lambda: clock[0])
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_cosine(opt, None, warmup_steps=2, min_ratio=0.01)
    trainer = SimpleNamespace(global_step=0, callbacks=[],
                              lr_scheduler_configs=[SimpleNamespace(scheduler=scheduler)],
                              fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(max_steps=-1)))
    budget = TimeBudget(100.0)
    budget.on_train_start(trainer, None)
    for done, seconds, expected in ((10, 10.0, 90), (20, 22.0, 80), (30, 31.0, 90)):
        trainer.global_step, clock[0] = done, seconds
        budget.on_train_epoch_end(trainer, None)
        # 97 s planned; passes of 10 steps cost the mean time so far (10 s, 11 s, 10.3 s)
        assert trainer.fit_loop.epoch_loop.max_steps == scheduler.total_steps == expected
    trainer.global_step, clock[0] = 80, 96.0
    budget.on_train_epoch_end(trainer, None)
    assert trainer.fit_loop.epoch_loop.max_steps == 80  # no time for another pass: stop
    assert scheduler.factor(79) == pytest.approx(0.01, abs=1e-3)  # the cosine ends with it


def test_the_first_plan_comes_from_the_first_steps(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(time_budget.time, "monotonic", lambda: clock[0])
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_cosine(opt, None, warmup_steps=2, min_ratio=0.01)
    trainer = SimpleNamespace(global_step=0, callbacks=[], num_training_batches=100,
                              lr_scheduler_configs=[SimpleNamespace(scheduler=scheduler)],
                              fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(max_steps=-1)))
    budget = TimeBudget(1000.0)
    budget.on_train_start(trainer, None)
    for step in range(1, time_budget.SETTLE_STEPS + time_budget.PROBE_STEPS + 1):
        # slow first steps (not timed), then 0.5 s a step
        clock[0] += 5.0 if step <= time_budget.SETTLE_STEPS else 0.5
        trainer.global_step = step
        budget.on_train_batch_end(trainer, None, None, None, step - 1)
    # 970 s planned, 40 s used, 85 % of the rest at 0.5 s a step: 35 + 1581 steps, whole passes
    assert trainer.fit_loop.epoch_loop.max_steps == scheduler.total_steps == 1600


def test_training_ends_on_a_validated_pass(tiny_data, tmp_path):
    run_script(
        "train.py", f"data.root={tiny_data}", "data.synthetic=null", "data.crop_size=32",
        "data.batch_size=2", "model.encoder=resnet18", "data.max_steps=-1",
        "data.max_time='00:00:00:20'", "data.epoch_steps=4", "model.scheduler.warmup_steps=2",
        "trainer.log_every_n_steps=1", "callbacks.rich_progress_bar=null",
        "trainer.enable_progress_bar=false", "test=false", f"hydra.run.dir={tmp_path}",
    )
    metrics = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    last_step = int(metrics["step"].max())
    validated = metrics.dropna(subset=["val/mIoU"])["step"].astype(int).tolist()
    assert last_step % 4 == 3 and validated[-1] == last_step  # a whole pass, validated
    assert "time budget:" in (tmp_path / "train.log").read_text()
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
