"""infer.py with the exported model: the same outputs as with the checkpoint, no Lightning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir

from tests.export.conftest import RULE, TILE
from visionseg.apps.infer import infer
from visionseg.data.synthetic import make_sample
from visionseg.inference.records import InferenceSummary
from visionseg.io.images import write_png

REPO = Path(__file__).resolve().parents[2]


def _infer(model: Path, images: Path, out: Path) -> InferenceSummary:
    args = [f"ckpt={model}", f"input={images}", f"output={out}", "device=cpu",
            "progress=false", f"tile.size={TILE.size}", f"tile.overlap={TILE.overlap}"]
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "configs")):
        return infer(compose("infer", overrides=args))


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                  and p.suffix != ".log")


def test_same_outputs_from_checkpoint_and_export(calibrated_ckpt, exported, tmp_path):
    images = tmp_path / "in"
    rng = np.random.default_rng(2)
    big, _ = make_sample(rng, 160)
    write_png(images / "large.png", big[:, :150])  # tiled: 160x150 with 64 px tiles
    write_png(images / "small.png", make_sample(rng, 48)[0])
    torch_out, onnx_out = tmp_path / "torch", tmp_path / "onnx"
    torch_summary = _infer(calibrated_ckpt, images, torch_out)
    onnx_summary = _infer(exported, images, onnx_out)
    assert _files(torch_out) == _files(onnx_out)
    for name in ("large", "small"):
        a = cv2.imread(str(torch_out / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(onnx_out / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert a.shape == b.shape and (a == b).mean() >= 0.999
    assert torch_summary.decision == onnx_summary.decision == RULE.to_dict()
    assert torch_summary.method == onnx_summary.method
    verdicts = [[r.verdict for r in s.records] for s in (torch_summary, onnx_summary)]
    assert verdicts[0] == verdicts[1]
    defects = [pd.read_csv(o / "defects.csv") for o in (torch_out, onnx_out)]
    assert len(defects[0]) == len(defects[1])


def test_exported_model_runs_without_lightning_or_smp(exported):
    code = f"""
import sys, numpy as np
from visionseg.apps.infer import build_infer_method
from visionseg.export.loader import load
loaded = load({str(exported)!r}, device="cpu", tile_size=64, tile_overlap=16)
pred = loaded.method.predict(np.zeros((100, 90, 3), np.uint8))
HEAVY = ("lightning", "segmentation_models_pytorch")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(__import__("json").dumps({{"shape": list(pred.mask.shape), "heavy": heavy}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found == {"shape": [100, 90], "heavy": []}
