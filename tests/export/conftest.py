"""A tiny untrained U-Net checkpoint (no training), calibrated and exported once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from visionseg.calibration.store import write_calibrated_checkpoint
from visionseg.core.model_card import ModelCard
from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import ClassRule, PartRule
from visionseg.models.checkpoint import save_checkpoint

CLASSES = ["background", "scratch", "spot"]
#: The rule the checkpoint carries: a pixel threshold, so the graph's thresholds are tested.
RULE = PartRule(min_area=6, per_class={"spot": ClassRule(6, 0.0, 0.3)})
TILE = TileSettings(64, 16)
#: How the checkpoint's training images were read: a 12-bit camera (0..4095).
TWELVE_BIT = {"mode": "range", "low": 0, "high": 4095}


def write_checkpoint(path: Path, arch: str = "Unet", module: str | None = None,
                     **card_fields: Any) -> Path:
    """A visionseg checkpoint of a randomly initialised Segmenter (resnet18)."""
    from visionseg.models.smp.network import Segmenter

    torch.manual_seed(0)
    net = Segmenter(arch, "resnet18", num_classes=len(CLASSES))
    card = ModelCard(module or "visionseg.models.smp.module.SegmentationModule", CLASSES,
                     net.config, image_size=64, **card_fields)
    return save_checkpoint(path, card, {f"net.{k}": v for k, v in net.state_dict().items()})


@pytest.fixture(scope="session")
def calibrated_ckpt(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ckpt")
    from tests.monitor.streams import line_images
    from visionseg.monitor.reference import build_reference

    raw = write_checkpoint(root / "raw.ckpt", image16=TWELVE_BIT,  # a 12-bit camera's model
                           drift_reference=build_reference(line_images(5, 40)).to_dict())
    return write_calibrated_checkpoint(raw, root / "best.ckpt", RULE, {"target": "test"})


@pytest.fixture(scope="session")
def exported(calibrated_ckpt, tmp_path_factory) -> Path:
    """``DIR/model.onnx`` exported from the calibrated checkpoint (its rule carried over)."""
    from visionseg.export.onnx_export import ExportRequest, export_model

    out = tmp_path_factory.mktemp("export") / "line"  # rule=None: the one it carries
    export_model(ExportRequest(calibrated_ckpt, out, rule_source="the checkpoint", tile=TILE,
                               parity_images=2))
    return out / "model.onnx"
