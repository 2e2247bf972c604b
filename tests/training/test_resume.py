"""A run killed mid-checkpoint and resumed in its own folder keeps its history.

The state ``kill -9`` leaves while ``last.ckpt`` is being replaced: the previous complete
``last.ckpt`` (written atomically), a temporary file beside it, and ``csv/metrics.csv``
with rows up to the kill, the last one possibly cut short. docs/reliability.md has the
same check done with a real ``kill -9``.
"""

import shutil

import pandas as pd
import torch
from hydra import compose, initialize_config_dir

from tests.conftest import ROOT, TINY_TRAIN
from visionseg.training.run import train


def _killed_copy(trained_run, run):
    """``trained_run`` (3 epochs) as a kill during epoch 4's checkpoint would leave it."""
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy2(trained_run / "checkpoints/last.ckpt", run / "checkpoints/last.ckpt")
    shutil.copytree(trained_run / "csv", run / "csv")
    debris = [run / "checkpoints/.last.ckpt.k7f3.part", run / "checkpoints/.best.ckpt.x.part.ckpt"]
    for path in debris:
        path.write_bytes(b"PK\x03\x04 half a checkpoint")
    metrics = run / "csv/metrics.csv"
    rows = metrics.read_text().rstrip("\n").split("\n")
    columns = rows[0].split(",")
    late = dict.fromkeys(columns, "")
    late.update({"epoch": "3", "step": "9", "train/loss_step": "0.5"})
    cut = ",".join(late[c] for c in columns)
    metrics.write_text("\n".join([*rows, cut, cut[: len(cut) // 2]]) + "\n")
    return debris, len(rows) - 1


def test_resume_in_the_same_folder_keeps_the_history(trained_run, tiny_data, tmp_path):
    run = tmp_path / "run"
    debris, kept_rows = _killed_copy(trained_run, run)
    last = run / "checkpoints/last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 2
    overrides = [o for o in TINY_TRAIN if not o.startswith("callbacks.rich_progress_bar")]
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[
            f"data.root={tiny_data}", "data.synthetic=null", *overrides,
            "trainer.max_epochs=-1", "trainer.max_steps=12", f"ckpt_path={last}", "test=false",
            f"paths.output_dir={run}",
        ])
    # The rich progress bar stays configured: enable_progress_bar=false must still work.
    assert cfg.callbacks.rich_progress_bar and cfg.trainer.enable_progress_bar is False
    train(cfg)

    assert not any(path.exists() for path in debris)
    # The budget is in optimiser steps (3 a pass): 12 steps is one more pass.
    resumed = torch.load(last, weights_only=True)
    assert (resumed["epoch"], resumed["global_step"]) == (3, 12)
    metrics = pd.read_csv(run / "csv/metrics.csv")
    epochs = metrics.dropna(subset=["train/loss_epoch"])["epoch"].astype(int).tolist()
    assert epochs == [0, 1, 2, 3]
    before = pd.read_csv(trained_run / "csv/metrics.csv")
    assert len(before) == kept_rows
    pd.testing.assert_frame_equal(metrics.iloc[:kept_rows][before.columns], before)
    steps = metrics.dropna(subset=["train/loss_step"])["step"].astype(int).tolist()
    # No duplicate, in order; exactly one more pass of 3 steps logged after the kept rows
    # (Lightning numbers the rows of a step-budget resume from global_step + 1).
    assert steps == sorted(set(steps)) and steps[:9] == list(range(9))
    assert len(steps) == 12 and steps[-1] == resumed["global_step"]
