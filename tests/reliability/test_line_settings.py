"""Faults of the line features (issue 22): every bad setting or output is one ``error:``
line with exit code 2, or the right result; leftovers of killed runs are cleared.

Most checks call the code train.py, infer.py, evaluate.py and export.py run, in-process;
one command line per behaviour shows what the user sees (one line, exit code 2).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from tests.conftest import ROOT, TINY_TRAIN, run_script
from visionseg.core.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _compose(config: str, *overrides: str):
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        return compose(config, overrides=list(overrides))


def _one_error_line(proc, *expected: str) -> str:
    """The single ``error:`` line of a command that stopped with exit code 2."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


# 1. export.py: the output is checked before the checkpoint is read -------------------

def test_export_output_inside_a_file_is_one_line_before_the_checkpoint_is_read(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    proc = run_script("export.py", f"ckpt={tmp_path / 'never-read.ckpt'}",
                      f"output={blocker / 'model'}", check=False, timeout=300)
    _one_error_line(proc, "output=", "file.txt", "existing file")


def test_export_output_on_a_read_only_folder_is_one_setting_error(tmp_path):
    from visionseg.export.onnx_export import prepare_output
    from visionseg.io.writable import OutputPathError

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.access(locked, os.W_OK):  # root: permissions do not stop it; /sys is read-only
        locked = Path("/sys/kernel")
        if not locked.is_dir() or _writes(locked):
            pytest.skip("no read-only folder here")
    try:
        with pytest.raises(OutputPathError, match=r"^output=.*cannot be written"):
            prepare_output(locked / "model")
    finally:
        if locked.is_relative_to(tmp_path):
            locked.chmod(0o755)


def _writes(folder: Path) -> bool:
    """Whether a file can really be created in ``folder`` (root ignores permission bits)."""
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


# 2. leftovers of runs killed with kill -9 ---------------------------------------------

def test_export_removes_the_staging_folders_a_killed_export_left(tmp_path, caplog):
    from visionseg.export.onnx_export import prepare_output

    staging = tmp_path / ".exp.k3x_9a2b"  # tempfile.mkdtemp(prefix=".exp.")
    staging.mkdir()
    (staging / "model.onnx").write_bytes(b"half")
    aside = tmp_path / ".exp.old-4242"  # a previous export moved aside, never deleted
    aside.mkdir()
    keep = [tmp_path / ".exp.notes", tmp_path / ".other.k3x_9a2b"]
    keep[0].write_text("a user's file")
    keep[1].mkdir()
    with caplog.at_level(logging.INFO):
        prepare_output(tmp_path / "exp")
    assert not staging.exists() and not aside.exists()
    assert all(p.exists() for p in keep)
    assert "left by an interrupted export" in caplog.text


def test_evaluate_removes_the_part_files_a_killed_evaluation_left(tiny_data, tmp_path):
    out = tmp_path / "report"
    leftovers = [out / ".metrics.json.ab12cd.part", out / "figures" / ".pr.png.ef34gh.part"]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"torn")
    run_script("evaluate.py", f"data.root={tiny_data}", "baselines=[otsu]", "chains=[none]",
               f"output={out}", timeout=600)
    assert not any(p.exists() for p in leftovers)
    assert (out / "metrics.json").is_file()


# 3. a setting that does not apply to the model ----------------------------------------

def test_score_threshold_for_a_unet_checkpoint_is_one_error_line(trained_run, tiny_data,
                                                                  tmp_path):
    proc = run_script("infer.py", f"ckpt={trained_run / 'checkpoints' / 'best.ckpt'}",
                      "score_threshold=0.5", f"input={tiny_data / 'test' / 'images'}",
                      f"output={tmp_path / 'out'}", "progress=false", check=False,
                      timeout=300)
    _one_error_line(proc, "score_threshold=0.5", "does not apply")


# 4. range checks where the settings are built -------------------------------------------

@pytest.mark.parametrize("value", [5, -1])
def test_score_threshold_out_of_range_is_one_error_line(value, tiny_data, tmp_path):
    proc = run_script("infer.py", "method=otsu", f"score_threshold={value}",
                      f"input={tiny_data / 'test' / 'images'}", f"output={tmp_path / 'out'}",
                      "progress=false", check=False, timeout=300)
    _one_error_line(proc, "score_threshold must be a number in [0, 1]", str(value))


def test_maskrcnn_thresholds_are_checked_and_written_in_the_summary(tiny_data, tmp_path):
    import torch

    from visionseg.core.method import Method
    from visionseg.core.prediction import Prediction
    from visionseg.inference.runner import run_inference
    from visionseg.models.maskrcnn.method import MaskRCNNMethod

    with pytest.raises(ConfigError, match=r"score_threshold must be a number in \[0, 1\]"):
        MaskRCNNMethod(torch.nn.Identity(), ["background", "scratch"], device="cpu",
                       score_threshold=5)
    method = MaskRCNNMethod(torch.nn.Identity(), ["background", "scratch"], device="cpu",
                            score_threshold=0.3)
    assert method.output_settings() == {"score_threshold": 0.3, "mask_threshold": 0.5}

    class Thresholded(Method):
        name, classes = "stub", ["background", "scratch"]

        def predict(self, image: np.ndarray) -> Prediction:
            return Prediction(mask=np.zeros(image.shape[:2], np.uint8))

        def output_settings(self) -> dict:
            return {"score_threshold": 0.3}

    images = sorted((tiny_data / "test" / "images").glob("*.png"))[:1]
    run_inference(Thresholded(), images, tmp_path, show_progress=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["settings"]["score_threshold"] == 0.3


def test_batch_size_nan_is_one_setting_error(tiny_data):
    from visionseg.training.run import _build

    cfg = _compose("train", f"data.root={tiny_data}", "data.synthetic=null",
                   "data.batch_size=nan")
    with pytest.raises(ConfigError, match=r"data.batch_size must be an integer >= 1, got nan"):
        _build(cfg.data)


@pytest.mark.parametrize("override, setting", [
    ("model.optimizer.lr=-0.01", "model.optimizer.lr must be a number > 0"),
    ("model.loss.terms.0.weight=-1", "model.loss.terms[0].weight must be a number >= 0"),
])
def test_negative_learning_rate_or_loss_weight_is_one_setting_error(override, setting,
                                                                    tiny_data):
    from visionseg.training.run import _build

    cfg = _compose("train", f"data.root={tiny_data}", "data.synthetic=null",
                   "model.encoder=resnet18", override)
    with pytest.raises(ConfigError) as err:
        _build(cfg.model)
    assert setting in str(err.value)


@pytest.mark.parametrize("step, key, value", [
    ("morphology", "open_radius", -1),
    ("morphology", "min_area", {1: -5}),
    ("crf", "iterations", -1),
    ("crf", "gaussian_sxy", -3.0),
])
def test_negative_post_processing_sizes_are_one_setting_error(step, key, value):
    from visionseg.registry import _load, chain_from_steps

    node = dict(_load("postprocess", step)[step])
    node[key] = value
    with pytest.raises(ConfigError, match=rf"^postprocess\.{step}\.{key}"):
        chain_from_steps({step: node})


# 5. a run that trains nothing -------------------------------------------------------------

@pytest.mark.parametrize("budget", ["trainer.max_epochs=0", "trainer.max_steps=0"])
def test_zero_training_budget_says_nothing_was_trained(budget, tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_script("train.py", f"data.root={tiny_data}", "data.synthetic=null",
                      *TINY_TRAIN, budget, f"hydra.run.dir={run_dir}", check=False,
                      timeout=300)
    _one_error_line(proc, budget, "nothing would be trained")
    assert "Checkpoints:" not in proc.stdout + proc.stderr


def test_resuming_a_finished_run_into_a_new_folder_says_nothing_was_trained(
        trained_run, tiny_data, tmp_path):
    run_dir = tmp_path / "resumed"
    last = trained_run / "checkpoints" / "last.ckpt"
    proc = run_script("train.py", f"data.root={tiny_data}", "data.synthetic=null",
                      *TINY_TRAIN, f"ckpt_path={last}", f"hydra.run.dir={run_dir}",
                      check=False, timeout=600)
    _one_error_line(proc, "nothing was trained", f"ckpt_path={last}")
    assert "Checkpoints:" not in proc.stdout + proc.stderr


# 6. the monitor on valid JSON with values of the wrong type --------------------------------

def test_monitor_skips_and_counts_records_with_wrong_types(tmp_path, capsys):
    from visionseg.monitor.__main__ import main

    good = {"status": "ok", "file": "a.png", "verdict": "NG", "time": "t1",
            "latency_ms": {"predict": 12.0}, "monitor": {"worst_psi": 0.1}}
    bad = [{**good, "file": "b.png", "latency_ms": {"predict": "fast"}},
           {**good, "file": "c.png", "latency_ms": {"predict": None}},
           {**good, "file": "d.png", "monitor": {"worst_psi": "high"}}]
    log_file = tmp_path / "results.jsonl"
    log_file.write_text("".join(json.dumps(r) + "\n" for r in [good, *bad, good]))
    assert main([str(log_file), "--no-html"]) == 0
    out = capsys.readouterr().out
    assert "Images:      2 inspected, 2 NG" in out
    assert "Skipped:     3 line(s)" in out
