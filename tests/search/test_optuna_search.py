"""The Optuna search end to end: two tiny trials through train.py and Hydra's Optuna sweeper,
scored on validation, with the trial table and the best config written out."""

import csv
import json
import math
from pathlib import Path

import yaml

from tests.conftest import run_script


def test_two_trial_search_writes_results_table_and_best_config(tmp_path):
    data, sweep = tmp_path / "search_data", tmp_path / "sweep"
    run_script(
        "train.py",
        "-m",
        "hparams_search=unet_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        f"data.root={data}",
        f"data.synthetic.root={data}",
        "data.synthetic.splits={train: 8, val: 4, test: 0}",
        "data.synthetic.size=64",
        "data.crop_size=64",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.enable_model_summary=false",
        "trainer.enable_progress_bar=false",
        "callbacks.rich_progress_bar=null",
        f"hydra.sweep.dir={sweep}",
    )
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    with open(sweep / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)
    swept = {"model.optimizer.lr", "model.optimizer.weight_decay", "model/loss", "data.batch_size"}
    assert set(best["best_params"]) == swept and swept <= set(rows[0])
    for row in rows:
        metrics = json.loads((Path(row["folder"]) / "metrics.json").read_text())
        assert metrics["context"]["split"] == "val"  # the test split stays out of the search
        trained = next(iter(metrics["methods"].values()))["none"]
        assert math.isclose(float(row["objective"]), trained["defect_mIoU"], abs_tol=1e-6)
    assert float(rows[0]["objective"]) >= float(rows[1]["objective"])
    assert math.isclose(best["best_value"], float(rows[0]["objective"]), abs_tol=1e-6)
    assert "| trial | objective |" in (sweep / "trials.md").read_text()
    config = yaml.safe_load((sweep / "best_config.yaml").read_text())
    assert math.isclose(config["model"]["optimizer"]["lr"],
                        float(best["best_params"]["model.optimizer.lr"]), rel_tol=1e-6)
