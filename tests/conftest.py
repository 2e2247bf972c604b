"""Shared fixtures: tiny synthetic data sets and one short training run for the session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("VISIONSEG_ROOT", str(ROOT))


def _limit_threads() -> None:
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


_limit_threads()


def run_script(script: str, *overrides: str, check: bool = True, timeout: int = 900):
    """Run train.py / infer.py / evaluate.py as a user would, return the CompletedProcess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / script), *overrides],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{script} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A tiny synthetic data set (64x64 images) in the folder layout."""
    from visionseg.data.synthetic import generate

    root = tmp_path_factory.mktemp("tiny_data")
    return generate(root, splits={"train": 24, "val": 6, "test": 6}, size=64, seed=1, p_good=0.1)


TINY_TRAIN = (
    "data.crop_size=64",
    "data.batch_size=8",
    "model.encoder=resnet18",
    "trainer.max_epochs=3",
    "data.epoch_steps=null",
    "trainer.log_every_n_steps=1",
    "callbacks.rich_progress_bar=null",
    "trainer.enable_progress_bar=false",
    "evaluation.baselines=[]",
    "evaluation.chains=[none]",
)


@pytest.fixture(scope="session")
def trained_run(tiny_data, tmp_path_factory) -> Path:
    """One short real training run through train.py; tests read its outputs."""
    run_dir = tmp_path_factory.mktemp("run")
    run_script(
        "train.py",
        f"data.root={tiny_data}",
        "data.synthetic=null",
        *TINY_TRAIN,
        "evaluation.baselines=[otsu]",
        f"hydra.run.dir={run_dir}",
    )
    return run_dir
