"""Bad input to export.py and to an exported model: one clear line, exit 2, nothing written."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.export.conftest import TILE, write_checkpoint
from visionseg.core.errors import UserError
from visionseg.export.errors import ExportError
from visionseg.export.metadata import sha256
from visionseg.export.onnx_export import ExportRequest, export_model
from visionseg.export.runtime import OnnxMethod

REPO = Path(__file__).resolve().parents[2]


def _request(ckpt: Path, out: Path, **kwargs) -> ExportRequest:
    return ExportRequest(ckpt, out, tile=TILE, parity_images=1, **kwargs)


def test_missing_and_foreign_checkpoints(tmp_path):
    with pytest.raises(UserError, match="checkpoint file not found"):
        export_model(_request(tmp_path / "nope.ckpt", tmp_path / "out"))
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(UserError, match="not a visionseg checkpoint"):
        export_model(_request(foreign, tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_unknown_format_and_mask_rcnn(tmp_path):
    ckpt = tmp_path / "m.ckpt"
    torch.save({"state_dict": {}, "visionseg": {  # a version-1 card: no schema_version
        "module": "visionseg.models.maskrcnn.module.MaskRCNNModule", "classes": ["a", "b"]}},
        ckpt)
    with pytest.raises(ExportError, match="unknown export format; available: onnx"):
        export_model(_request(ckpt, tmp_path / "out", format="tflite"))
    with pytest.raises(ExportError, match="Mask R-CNN checkpoints cannot be exported"):
        export_model(_request(ckpt, tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(ExportError, match=r'needs onnxruntime.*pip install -e "\.\[onnx\]"'):
        export_model(_request(tmp_path / "m.ckpt", tmp_path / "out"))


def test_failed_parity_leaves_the_previous_export_untouched(exported, calibrated_ckpt,
                                                            tmp_path):
    out = tmp_path / "line"
    shutil.copytree(exported.parent, out)
    before = {p.name: sha256(p) for p in out.iterdir()}
    with pytest.raises(ExportError, match="disagrees with the torch model.*nothing was written"):
        export_model(_request(calibrated_ckpt, out, max_prob_diff=0.0))
    assert {p.name: sha256(p) for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["line"]


def test_output_folder_with_other_files_is_refused(calibrated_ckpt, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="holds other files \\(notes.txt\\)"):
        export_model(_request(calibrated_ckpt, tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_exported_model_without_or_with_foreign_metadata(exported, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(exported, alone / "model.onnx")
    with pytest.raises(ExportError, match="metadata model.json is missing"):
        OnnxMethod(alone / "model.onnx")
    meta = json.loads(exported.with_suffix(".json").read_text())
    (alone / "model.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ExportError, match="format version 99, this visionseg reads version 2"):
        OnnxMethod(alone / "model.onnx")


def test_command_line_bad_input_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "export.py"), f"ckpt={tmp_path / 'm.ckpt'}",
         "format=tflite", f"output={tmp_path / 'out'}"],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: format=tflite: unknown export format; "
                                   "available: onnx, openvino")
    assert not (tmp_path / "out").exists()


def test_unsupported_operation_is_named(tmp_path):
    ckpt = write_checkpoint(tmp_path / "psp.ckpt", arch="PSPNet")
    with pytest.raises(ExportError, match="model.arch=PSPNet with encoder resnet18 cannot be "
                       "exported to ONNX: .*Unsupported: ONNX export of operator "
                       "adaptive_avg_pool2d, input size not accessible.$"):
        export_model(_request(ckpt, tmp_path / "out"))
    assert [p.name for p in tmp_path.iterdir()] == ["psp.ckpt"]
