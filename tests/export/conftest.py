"""A tiny untrained U-Net checkpoint (no training), calibrated and exported once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from visionseg.calibration.store import write_calibrated_checkpoint
from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import ClassRule, PartRule

CLASSES = ["background", "scratch", "spot"]
#: The rule the checkpoint carries: a pixel threshold, so the graph's thresholds are tested.
RULE = PartRule(min_area=6, per_class={"spot": ClassRule(6, 0.0, 0.3)})
TILE = TileSettings(64, 16)


def write_checkpoint(path: Path, arch: str = "Unet", module: str | None = None) -> Path:
    """A visionseg checkpoint of a randomly initialised Segmenter (resnet18)."""
    from visionseg.models.smp.network import Segmenter

    torch.manual_seed(0)
    net = Segmenter(arch, "resnet18", num_classes=len(CLASSES))
    torch.save({
        "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
        "visionseg": {"module": module or "visionseg.models.smp.module.SegmentationModule",
                      "classes": CLASSES, "net": net.config, "image_size": 64,
                      "decision": None},
    }, path)
    return path


@pytest.fixture(scope="session")
def calibrated_ckpt(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ckpt")
    raw = write_checkpoint(root / "raw.ckpt")
    return write_calibrated_checkpoint(raw, root / "best.ckpt", RULE, {"target": "test"})


@pytest.fixture(scope="session")
def exported(calibrated_ckpt, tmp_path_factory) -> Path:
    """``DIR/model.onnx`` exported from the calibrated checkpoint (its rule carried over)."""
    from visionseg.export.onnx_export import ExportRequest, export_model
    from visionseg.models.checkpoint import carried_rule

    out = tmp_path_factory.mktemp("export") / "line"
    export_model(ExportRequest(calibrated_ckpt, out, rule=carried_rule(calibrated_ckpt),
                               rule_source="the checkpoint", tile=TILE, parity_images=2))
    return out / "model.onnx"
