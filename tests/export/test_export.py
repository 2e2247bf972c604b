"""Export: a checked self-contained graph, its metadata, parity, and dynamic sizes."""

from __future__ import annotations

import json

import numpy as np
import onnx

from tests.export.conftest import CLASSES, RULE, TILE
from visionseg.core.prediction import Prediction
from visionseg.export.loader import load
from visionseg.export.metadata import read_metadata, sha256
from visionseg.export.runtime import OnnxMethod


def test_calibrated_checkpoint_carries_its_rule(calibrated_ckpt):
    loaded = load(calibrated_ckpt, device="cpu")
    assert loaded.rule == RULE and loaded.card.calibration == {"target": "test"}


def test_export_writes_a_checked_model_and_its_metadata(exported, calibrated_ckpt):
    assert sorted(p.name for p in exported.parent.iterdir()) == ["model.json", "model.onnx"]
    onnx.checker.check_model(str(exported))
    meta = read_metadata(exported)
    source = load(calibrated_ckpt, device="cpu").card
    assert meta.classes == CLASSES and meta.decision == RULE
    assert meta.card == source.with_changes(tile=TILE)  # the card whole, tiles added
    assert meta.card.image_size == 64 and meta.source_sha256 == sha256(calibrated_ckpt)
    assert meta.graph_sha256 == sha256(exported)
    assert meta.versions["onnxruntime"] != "not installed"
    assert meta.parity.max_abs_prob_diff <= meta.parity.max_prob_diff_bound == 1e-3
    assert meta.parity.mask_agreement >= 0.999 and len(meta.parity.sizes) == 2
    raw = json.loads(exported.with_suffix(".json").read_text())
    assert raw["format_version"] == 2 and raw["parity"]["source"] == "generated images"
    assert raw["card"]["schema_version"] == 2 and raw["card"]["classes"] == CLASSES


def test_dynamic_batch_and_sizes_match_torch(exported, calibrated_ckpt):
    runtime = OnnxMethod(exported, device="cpu")
    torch_method = load(calibrated_ckpt, device="cpu", tile_size=None).method
    rng = np.random.default_rng(0)
    for shape in [(1, 40, 56, 3), (3, 64, 48, 3)]:
        images = rng.integers(0, 256, shape, dtype=np.uint8)
        out = runtime.run(images)
        reference = torch_method.probabilities(images)
        assert out["probs"].shape == reference.shape
        assert np.abs(out["probs"] - reference).max() < 1e-4
        thresholds = RULE.thresholds(CLASSES)
        for probs, mask, conf in zip(out["probs"], out["mask"], out["confidence"], strict=True):
            expected = Prediction.from_probs_thresholded(probs, thresholds)
            assert (expected.mask == mask).mean() >= 0.999
            assert np.abs(expected.confidence - conf).max() < 1e-5
