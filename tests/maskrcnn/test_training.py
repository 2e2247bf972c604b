"""Mask R-CNN end to end on tiny data: training lowers the loss, the checkpoint loads as a
Method, infer.py writes instance masks and per-instance rows, evaluation takes it."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir

from tests.conftest import ROOT, run_script
from visionseg.core.errors import ConfigError
from visionseg.data.batch import SegmentationBatch
from visionseg.data.synthetic import generate
from visionseg.export.loader import load
from visionseg.io.images import read_image
from visionseg.models.checkpoint import card_of, read_checkpoint, update_card
from visionseg.models.maskrcnn.method import MaskRCNNMethod
from visionseg.models.maskrcnn.module import MaskRCNNModule
from visionseg.models.smp.network import WeightsUnavailableError

CLASSES = ["background", "scratch", "spot", "stain"]
FAST = (
    "experiment=maskrcnn_synthetic",
    "data.synthetic=null",
    "data.crop_size=64",
    "data.batch_size=4",
    "data.eval_batch_size=2",
    "model.scheduler.warmup_steps=2",
    "model.detector_kwargs.box_detections_per_img=10",
    "trainer.log_every_n_steps=1",
    "trainer.check_val_every_n_epoch=1",
    "callbacks.rich_progress_bar=null",
    "trainer.enable_progress_bar=false",
    "+trainer.enable_model_summary=false",
    "evaluation.baselines=[]",
    "evaluation.chains=[none]",
)


def compose_train(*overrides: str):
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=list(overrides))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("instances")
    return generate(root, splits={"train": 12, "val": 2, "test": 2}, size=64, seed=4, p_good=0.2,
                    mode="easy")


@pytest.fixture(scope="module")
def run(data, tmp_path_factory) -> tuple[Path, dict]:
    from visionseg.training.run import train

    out = tmp_path_factory.mktemp("maskrcnn_run")
    cfg = compose_train(*FAST, f"data.root={data}", "trainer.max_epochs=2",
                        f"paths.output_dir={out}")
    return out, train(cfg)


def test_training_lowers_the_loss_and_the_checkpoint_loads(run):
    out, summary = run
    metrics = pd.read_csv(out / "csv/metrics.csv")
    losses = metrics.dropna(subset=["train/loss_epoch"])["train/loss_epoch"].to_numpy()
    assert len(losses) == 2 and losses[1] < losses[0]
    assert {"val/mIoU", "val/AP", "train/loss_mask"} <= set(metrics.columns)
    checkpoint = read_checkpoint(out / "checkpoints/best.ckpt")
    card = card_of(checkpoint, "best.ckpt")
    assert card.module == "visionseg.models.maskrcnn.module.MaskRCNNModule"
    assert card.classes == CLASSES and card.net["backbone"] == "resnet18"
    assert set(card.method_settings) == {"score_threshold", "mask_threshold"}
    method = load(out / "checkpoints/best.ckpt", device="cpu", score_threshold=0.0).method
    assert isinstance(method, MaskRCNNMethod) and method.score_threshold == 0.0
    pred = method.predict(np.zeros((45, 70, 3), np.uint8))
    assert pred.mask.shape == pred.instances.labels.shape == (45, 70)
    # train.py's evaluation scored the trained model, instance figures included.
    assert summary["images"] == 2 and summary["instances"] is not None
    assert "trained" in json.loads((out / "metrics.json").read_text())["methods"]


def test_infer_writes_instance_masks_and_rows_with_scores(run, data, tmp_path):
    out, _ = run
    best = out / "checkpoints/best.ckpt"
    card = card_of(read_checkpoint(best), best)
    ckpt = tmp_path / "any.ckpt"  # every detection, trained a little or not
    update_card(best, ckpt, method_settings={**card.method_settings, "score_threshold": 0.0})
    result = tmp_path / "out"
    run_script("infer.py", f"ckpt={ckpt}", f"input={data / 'test/images'}", f"output={result}",
               "progress=false", "decision.min_area=1", "device=cpu")
    rows = pd.read_csv(result / "defects.csv")
    total = 0
    for png in sorted((result / "instances").glob("*.png")):
        import cv2

        labels = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        assert labels.dtype == np.uint16 and labels.shape == (64, 64)
        mine = rows[rows["image"] == png.stem]
        assert sorted(mine["instance_id"].astype(int)) == list(range(1, int(labels.max()) + 1))
        for _, row in mine.iterrows():
            assert row["area"] == (labels == row["instance_id"]).sum()
        total += len(mine)
    assert total > 0 and rows["mean_confidence"].between(0, 1).all()
    assert len(list((result / "instances").glob("*.png"))) == 2


def test_evaluation_scores_the_method_with_instances(run, data):
    from visionseg.data.folder import list_split
    from visionseg.evaluation import evaluate

    out, _ = run
    method = load(out / "checkpoints/best.ckpt", device="cpu", score_threshold=0.0).method
    results = evaluate([method], list_split(data, "test"), CLASSES)
    entry = results.entries[0]
    assert not results.failures
    assert entry.instances is not None and 0.0 <= entry.instances.mask_ap.ap.high <= 1.0


def test_images_without_defects_are_valid_training_samples():
    torch.manual_seed(0)
    cfg = compose_train(*FAST, "data.root=unused")
    from omegaconf import OmegaConf

    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    for key in ("_target_", "_recursive_"):
        model_cfg.pop(key)
    module = MaskRCNNModule(**model_cfg)
    empty = {"boxes": torch.zeros((0, 4)), "labels": torch.zeros(0, dtype=torch.int64),
             "masks": torch.zeros((0, 32, 32), dtype=torch.uint8)}
    batch = SegmentationBatch(torch.randint(0, 255, (2, 3, 32, 32), dtype=torch.uint8),
                              torch.zeros((2, 32, 32), dtype=torch.long), ["a", "b"],
                              targets=[empty, dict(empty)])
    module.train()
    losses = module.net(batch.image, batch.targets)
    loss = sum(losses.values())
    assert torch.isfinite(loss) and float(losses["loss_mask"]) == 0.0
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def test_semantic_data_module_is_refused_with_one_sentence(data, tmp_path):
    from visionseg.training.run import train

    cfg = compose_train(*FAST, "data=folder", f"data.root={data}", "data.crop_size=64",
                        "data.classes=[background,scratch,spot,stain]",
                        f"paths.output_dir={tmp_path}", "trainer.max_epochs=1")
    with pytest.raises(ConfigError, match="Mask R-CNN needs instance targets.*data=instances"):
        train(cfg)


def test_offline_weights_error_says_how_to_proceed(monkeypatch, tmp_path):
    import torchvision.models._api as api

    from visionseg.models.maskrcnn.network import InstanceSegmenter

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(api, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError, match="model.weights_backbone=null"):
        InstanceSegmenter(4, backbone="resnet18", weights_backbone="DEFAULT")
    with pytest.raises(WeightsUnavailableError, match="proceed offline"):
        InstanceSegmenter(4, version="v2", weights="DEFAULT")
    with pytest.raises(ValueError, match="not a torchvision weights name"):
        InstanceSegmenter(4, backbone="resnet18", weights_backbone="NOPE")
    # A local backbone file works offline and freezes BatchNorm as for pretrained weights.
    import torchvision

    body = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save(body.state_dict(), path)
    net = InstanceSegmenter(4, backbone="resnet18", weights_backbone=str(path))
    assert torch.equal(net.model.backbone.body.conv1.weight, body.conv1.weight)
    assert net.config["backbone_norm"] == "frozen"
    assert net.config["trainable_backbone_layers"] == 3
    assert not net.model.backbone.body.layer1[0].conv1.weight.requires_grad
    # What a checkpoint stores rebuilds the same network without the file.
    rebuilt = InstanceSegmenter.from_config(net.config)
    rebuilt.load_state_dict(net.state_dict())
    assert rebuilt.config["backbone_norm"] == "frozen"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_resnet50_networks_match_torchvision_layouts(version):
    """Same tensor names and shapes as torchvision's builders, so COCO weights load."""
    from torchvision.models.detection import maskrcnn_resnet50_fpn, maskrcnn_resnet50_fpn_v2

    from visionseg.models.maskrcnn.network import build_maskrcnn

    reference = (maskrcnn_resnet50_fpn if version == "v1" else maskrcnn_resnet50_fpn_v2)(
        weights=None, weights_backbone=None, num_classes=91)
    ours, resolved = build_maskrcnn(91, version=version)
    mine, theirs = ours.state_dict(), reference.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(mine[k].shape == theirs[k].shape for k in mine)
    assert resolved == {"backbone_norm": "batch", "trainable_backbone_layers": 5}


def test_native_resolution_is_kept(tmp_path):
    from visionseg.models.maskrcnn.network import InstanceSegmenter

    net = InstanceSegmenter(3, backbone="resnet18", fpn_channels=32, head_channels=32,
                            representation_size=64).eval()
    images, _ = net.model.transform([torch.zeros(3, 40, 72)])
    assert images.image_sizes == [(40, 72)]
    resized = InstanceSegmenter(3, backbone="resnet18", fpn_channels=32, head_channels=32,
                                representation_size=64, min_size=80, max_size=200).eval()
    images, _ = resized.model.transform([torch.zeros(3, 40, 72)])
    assert images.image_sizes == [(80, 144)]


def test_image_reader_is_shared(data):
    image = read_image(next((data / "test/images").iterdir()))
    assert image.dtype == np.uint8 and image.shape == (64, 64, 3)


def test_infer_score_threshold_reaches_the_checkpoints_method(run):
    out, _ = run
    loaded = load(out / "checkpoints/best.ckpt", device="cpu", score_threshold=0.123)
    assert loaded.method.score_threshold == 0.123
    assert load(out / "checkpoints/best.ckpt", device="cpu").method.score_threshold != 0.123
