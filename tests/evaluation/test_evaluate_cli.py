"""evaluate.py: configs by name, outputs, and one clear message on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from eval_data import make_split
from hydra import compose, initialize_config_dir

from visionseg.apps.evaluate import run
from visionseg.io import write_png

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def project_root(tmp_path, monkeypatch) -> Path:
    """A VISIONSEG_ROOT whose configs/method/ holds the toy methods (as evaluate.py sets it)."""
    root = tmp_path / "project"
    configs = root / "configs"
    (configs / "method").mkdir(parents=True)
    (configs / "postprocess").mkdir()
    (configs / "method" / "dark.yaml").write_text("_target_: toy_methods.DarkSpots\nlevel: 60\n")
    (configs / "method" / "bright.yaml").write_text("_target_: toy_methods.BrightScratches\n")
    (configs / "postprocess" / "none.yaml").write_text("{}\n")
    for name, class_id in (("no_scratch", 1), ("no_spot", 2)):
        (configs / "postprocess" / f"{name}.yaml").write_text(
            f"{name}:\n  _target_: toy_methods.ClearClass\n  class_id: {class_id}\n"
        )
    monkeypatch.setenv("VISIONSEG_ROOT", str(root))
    return root


def _cfg(data_root: Path, out: Path, *overrides: str):
    """The config evaluate.py composes from the same command-line arguments."""
    args = [f"data.root={data_root}", f"output={out}", *overrides]
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "configs")):
        return compose("evaluate", overrides=args)


def test_runs_named_baselines_and_writes_every_output(data, tmp_path):
    root, _, _ = data
    out = tmp_path / "out"
    chains = ["none", "no_spot", "no_spot+no_scratch"]
    cfg = _cfg(root, out, "baselines=[dark,bright]", f"chains=[{','.join(chains)}]")
    assert run(cfg) == 0
    for name in ("report.html", "report.md", "metrics.json", "metrics.csv", "per_image.csv"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"dark", "bright"}
    assert list(metrics["methods"]["dark"]) == chains
    dark = metrics["methods"]["dark"]
    assert dark["none"]["per_class"]["spot"]["iou"] > 0.5
    assert dark["no_spot"]["per_class"]["spot"]["iou"] == 0.0
    gains = {(g["method"], g["chain"]): g for g in metrics["postprocess_gain"]}
    combined = gains[("dark", "no_spot+no_scratch")]
    assert (combined["reference"], combined["step"]) == ("no_spot", "no_scratch")
    assert gains[("dark", "no_spot")]["reference"] == "none"
    assert metrics["context"]["split"] == "test" and metrics["context"]["train_split"] == "train"
    assert metrics["decision"]["min_area"] == cfg.decision.min_area


@pytest.mark.parametrize("problem", ["missing_split", "unpaired", "bad_mask", "unknown_baseline"])
def test_bad_input_is_one_clear_message(problem, data, tmp_path, capsys):
    root, _, _ = data
    overrides = ["baselines=[dark]"]
    expected = ""
    if problem == "missing_split":
        overrides.append("split=holdout")
        expected = str(root / "holdout" / "images")
    elif problem == "unpaired":
        extra = root / "test" / "images" / "orphan.png"
        write_png(extra, np.zeros((8, 8, 3), np.uint8))
        expected = str(extra)
    elif problem == "bad_mask":
        mask_path = root / "test" / "masks" / "test_0.png"
        write_png(mask_path, np.full((24, 32), 7, np.uint8), rgb=False)
        expected = f"{mask_path}: values [7]"
    else:
        overrides[0] = "baselines=[dark,otsu_typo]"
        expected = "method=otsu_typo: no such option; available: bright, dark"
    out = tmp_path / "out"
    assert run(_cfg(root, out, *overrides)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err
    assert not out.exists()


def test_command_line_exits_non_zero_without_traceback(tmp_path, project_root):
    make_split(tmp_path / "data", "test", 2)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent),
           "VISIONSEG_ROOT": str(project_root)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "evaluate.py"), f"data.root={tmp_path / 'data'}",
         "split=val", f"output={tmp_path / 'out'}", "chains=[none]", "baselines=[dark]"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode != 0
    assert "split 'val' has no images/ folder" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_ground_truth_instances_come_from_the_instance_folder(tmp_path, project_root):
    """Two touching scratches form one connected region; instances/ says they are two."""
    (project_root / "configs" / "method" / "bars.yaml").write_text(
        "_target_: toy_methods.TwoBars\n"
    )
    root = tmp_path / "data"
    make_split(root, "train", 2)
    for i in range(3):
        image = np.full((24, 32, 3), 128, np.uint8)
        mask = np.zeros((24, 32), np.uint8)
        labels = np.zeros((24, 32), np.uint8)
        image[5:8, 4:16], image[5:8, 16:28] = 230, 240
        mask[5:8, 4:28] = 1
        labels[5:8, 4:16], labels[5:8, 16:28] = 1, 2
        write_png(root / "test" / "images" / f"t{i}.png", image)
        write_png(root / "test" / "masks" / f"t{i}.png", mask, rgb=False)
        if i < 2:
            write_png(root / "test" / "instances" / f"t{i}.png", labels, rgb=False)
    out = tmp_path / "out"
    assert run(_cfg(root, out, "baselines=[bars]")) == 0
    instances = json.loads((out / "metrics.json").read_text())["methods"]["bars"]["none"][
        "instances"
    ]
    # The two annotated images: 2 + 2 matches. The third has no instance file, so its
    # ground truth is the one connected region: one half-bar matches it (IoU exactly 0.5),
    # the other is a false positive. From connected regions alone it would be 3 TP, 3 FP.
    assert instances["tp"] == 5 and instances["fn"] == 0 and instances["fp"] == 1


OTHER_CLASSES = ["background", "crack", "pit"]


@pytest.fixture
def checkpoint_with_other_classes(monkeypatch, tmp_path):
    """ckpt=... loads a method trained on other class names than data.classes."""
    from toy_methods import DarkSpots

    import visionseg.apps.evaluate as app
    from visionseg.export.loader import LoadedModel

    monkeypatch.setattr(app, "load_models", lambda paths, *a, **k: [
        LoadedModel(DarkSpots(classes=OTHER_CLASSES, name="trained"), None, "test")
        for _ in paths])
    return tmp_path / "model.ckpt"


def test_checkpoint_classes_never_silently_replace_the_declared_ones(
    data, tmp_path, capsys, checkpoint_with_other_classes
):
    root, _, _ = data
    out = tmp_path / "out"
    ckpt = f"ckpt={checkpoint_with_other_classes}"
    assert run(_cfg(root, out, ckpt, "baselines=[]")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(OTHER_CLASSES) in err
    assert str(["background", "scratch", "spot", "stain"]) in err and "data.classes=null" in err
    assert not out.exists()
    assert run(_cfg(root, out, ckpt, "baselines=[dark]", "data.classes=null")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classes"] == OTHER_CLASSES and set(metrics["methods"]) == {"trained", "dark"}


def test_data_classes_null_needs_a_checkpoint(data, tmp_path, capsys):
    root, _, _ = data
    assert run(_cfg(root, tmp_path / "out", "baselines=[dark]", "data.classes=null")) == 2
    assert "data.classes=null" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["inside_file", "is_file"])
def test_an_unwritable_output_stops_before_any_work(where, data, tmp_path, capsys):
    root, _, _ = data
    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder")
    out = blocker / "run1" if where == "inside_file" else blocker
    # an unknown baseline too: the output is checked first, before anything is built
    assert run(_cfg(root, out, "baselines=[dark,otsu_typo]")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: output={out} ") and "existing file, not a folder" in err
    assert err.count("\n") == 1 and blocker.read_text() == "not a folder"


def test_out_of_range_metrics_settings_are_one_clear_message(data, tmp_path, capsys):
    root, _, _ = data
    assert run(_cfg(root, tmp_path / "out", "baselines=[dark]", "metrics.defect_iou=1.5")) == 2
    assert capsys.readouterr().err == ("error: metrics.defect_iou must be a number in (0, 1], "
                                       "got 1.5\n")
