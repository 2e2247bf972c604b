"""train.py end to end on tiny data: loss goes down, outputs exist, resume, bad data."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir

from tests.conftest import ROOT, TINY_TRAIN, run_script
from visionseg.export.loader import load
from visionseg.models.checkpoint import (
    AtomicCheckpointIO,
    CheckpointError,
    card_of,
    read_checkpoint,
)


def test_training_lowers_the_loss_and_writes_everything(trained_run):
    metrics = pd.read_csv(trained_run / "csv" / "metrics.csv")
    epoch_loss = metrics.dropna(subset=["train/loss_epoch"])["train/loss_epoch"].to_numpy()
    assert len(epoch_loss) == 3 and epoch_loss[-1] < epoch_loss[0]
    for name in (
        "config.yaml",
        "manifest.json",
        "metrics.json",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
    ):
        assert (trained_run / name).is_file(), name
    metrics_json = json.loads((trained_run / "metrics.json").read_text())
    assert set(metrics_json["methods"]) == {"trained", "otsu"}
    assert metrics_json["context"]["split"] == "test"
    summary = metrics_json["methods"]["trained"]["none"]
    assert 0 <= summary["defect_mIoU"] <= 1
    assert set(summary["per_class"]) == {"background", "scratch", "spot", "stain"}
    for stats in summary["per_class"].values():
        assert {"iou", "dice", "precision", "recall", "support"} <= set(stats)
    manifest = json.loads((trained_run / "manifest.json").read_text())
    assert manifest["packages"]["torch"] and len(manifest["dataset_fingerprint"]) == 16


def test_checkpoint_carries_what_inference_needs(trained_run):
    ckpt = read_checkpoint(trained_run / "checkpoints/best.ckpt")
    card = card_of(ckpt, "best.ckpt")
    assert card.classes == ["background", "scratch", "spot", "stain"]
    assert card.net["arch"] == "Unet" and card.net["encoder"] == "resnet18"
    assert card.image_size == 64 and card.schema_version == 2
    assert card.provenance.versions["torch"] and card.provenance.created.endswith("Z")
    method = load(trained_run / "checkpoints/best.ckpt", device="cpu").method
    pred = method.predict(np.zeros((45, 70, 3), np.uint8))
    assert pred.mask.shape == (45, 70) and pred.probs.shape == (4, 45, 70)


def test_a_checkpoints_encoder_starts_another_training(trained_run):
    """model.encoder_weights=<run>/checkpoints/best.ckpt (how planted-defect pre-training is
    used): the new network starts from that checkpoint's encoder, whatever its classes."""
    from visionseg.models.smp.network import Segmenter

    checkpoint = trained_run / "checkpoints" / "best.ckpt"
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state = saved["state_dict"]
    # Same network (input channels included), other classes.
    net = Segmenter(**{**saved["visionseg"]["net"], "num_classes": 3,
                       "encoder_weights": str(checkpoint)})
    encoder = net.model.encoder.state_dict()
    assert len(encoder) > 50
    for key, value in encoder.items():
        assert torch.equal(value, state[f"net.model.encoder.{key}"]), key


def test_init_from_takes_the_whole_network_and_maps_the_class_head(trained_run):
    """model.init_from=<checkpoint>: encoder and decoder copied, head rows mapped by class
    name; a new defect class starts as the mean of the source's defect rows."""
    from visionseg.models.smp.network import Segmenter
    from visionseg.models.smp.warm_start import warm_start

    checkpoint = trained_run / "checkpoints" / "best.ckpt"
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    source = saved["visionseg"]["classes"]  # background, scratch, spot, stain
    state = {k.removeprefix("net."): v for k, v in saved["state_dict"].items()
             if k.startswith("net.")}
    net = Segmenter(**{**saved["visionseg"]["net"], "num_classes": 3})
    assert warm_start(net, checkpoint, ["background", "crack", "stain"]) > 100
    mine = net.state_dict()
    for key in ("model.encoder.layer4.1.conv2.weight", "model.decoder.blocks.4.conv1.0.weight"):
        assert torch.equal(mine[key], state[key])
    head = "model.segmentation_head.0.weight"
    assert torch.equal(mine[head][0], state[head][0])
    assert torch.equal(mine[head][2], state[head][source.index("stain")])
    assert torch.allclose(mine[head][1], state[head][1:].mean(0))

def test_init_from_refuses_what_does_not_fit(tmp_path):
    from visionseg.models.smp.network import Segmenter, WeightsUnavailableError
    from visionseg.models.smp.warm_start import warm_start

    net = Segmenter("Unet", "resnet18", num_classes=2)
    other = tmp_path / "other.ckpt"
    torch.save({"visionseg": {"module": "x.Y", "classes": ["a", "b"]},
                "state_dict": {"net.model.other.weight": torch.zeros(3)}}, other)
    with pytest.raises(WeightsUnavailableError, match="none of its tensors fit"):
        warm_start(net, other, ["a", "b"])
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="not a visionseg segmentation checkpoint"):
        warm_start(net, tmp_path / "text.ckpt", ["a", "b"])
    with pytest.raises(WeightsUnavailableError, match="checkpoint not found"):
        warm_start(net, tmp_path / "missing.ckpt", ["a", "b"])


def test_resume_continues_the_epoch_count(trained_run, tiny_data, tmp_path):
    last = trained_run / "checkpoints/last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 2
    run_script(
        "train.py",
        f"data.root={tiny_data}",
        "data.synthetic=null",
        *TINY_TRAIN,
        "trainer.max_epochs=-1",
        "trainer.max_steps=12",  # the budget in optimiser steps: one more pass of 3
        f"ckpt_path={last}",
        "test=false",
        f"hydra.run.dir={tmp_path}",
    )
    metrics = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    epochs = sorted(metrics.dropna(subset=["train/loss_epoch"])["epoch"].astype(int))
    assert epochs == [3]
    assert torch.load(tmp_path / "checkpoints/last.ckpt", weights_only=True)["epoch"] == 3


def test_infer_loads_the_checkpoint(trained_run, tiny_data, tmp_path):
    out = tmp_path / "out"
    run_script(
        "infer.py",
        f"ckpt={trained_run / 'checkpoints/best.ckpt'}",
        f"input={tiny_data / 'test/images'}",
        f"output={out}",
        "progress=false",
        "tile.size=32",
        "tile.overlap=8",
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 6 and summary["failed"] == 0
    assert len(list((out / "masks").glob("*.png"))) == 6
    assert (out / "defects.csv").is_file()


def test_missing_and_corrupt_checkpoints_are_one_sentence(tmp_path, tiny_data):
    proc = run_script(
        "infer.py",
        f"ckpt={tmp_path / 'nope.ckpt'}",
        f"input={tiny_data}",
        f"output={tmp_path / 'o'}",
        check=False,
    )
    assert proc.returncode == 2 and "nope.ckpt: checkpoint file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="bad.ckpt: not a readable checkpoint"):
        load(bad)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="foreign.ckpt: not a visionseg checkpoint"):
        load(foreign)


def test_bad_data_stops_training_with_the_file_list(tiny_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_data, root)
    (root / "train/masks/train_0000.png").unlink()
    (root / "val/images/val_0001.png").write_bytes(b"junk")
    proc = run_script(
        "train.py",
        f"data.root={root}",
        "data.synthetic=null",
        *TINY_TRAIN,
        f"hydra.run.dir={tmp_path / 'run'}",
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "train_0000.png: image has no mask" in proc.stderr
    proc = run_script(
        "train.py",
        f"data.root={tmp_path / 'absent'}",
        "data.synthetic=null",
        f"hydra.run.dir={tmp_path / 'run2'}",
        check=False,
    )
    assert proc.returncode == 2 and "data root not found" in proc.stderr


def test_crash_mid_checkpoint_leaves_previous_file(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"epoch": 1}, target)

    def dies_half_way(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"epoch": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


@pytest.mark.parametrize(
    "experiment", sorted(p.stem for p in (ROOT / "configs/experiment").glob("*.yaml"))
)
def test_every_experiment_composes_and_runs_one_step(experiment, tiny_data, tmp_path):
    from visionseg.training.run import train

    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"experiment={experiment}",
                "debug=fdr",
                "trainer=cpu",
                f"data.root={tiny_data}",
                "data.synthetic=null",
                "data.crop_size=64",
                "data.batch_size=2",
                "data.num_workers=0",
                "data.pin_memory=false",
                "data.persistent_workers=false",
                "data.prefetch_factor=null",
                *([] if experiment == "pretrain_planted"
                  else ["data.classes=[background,scratch,spot,stain]"]),
                "callbacks.rich_progress_bar=null",
                "trainer.enable_progress_bar=false",
                "logger=csv",
                f"paths.output_dir={tmp_path}",
            ],
        )
    assert cfg.model._target_ and cfg.data._target_
    # Offline, whatever the experiment asks for in weights.
    for key in ("encoder_weights", "weights", "weights_backbone"):
        if key in cfg.model:
            cfg.model[key] = None
    train(cfg)
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "manifest.json").is_file()
