"""The model card: its round trip and errors, and one verdict from a calibrated checkpoint and
its export through evaluate.py, infer.py and the service (16-bit policy and drift included)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from tests.export.conftest import CLASSES, RULE, TILE, TWELVE_BIT
from visionseg.core.model_card import SCHEMA_VERSION, ModelCard, ModelCardError, Provenance
from visionseg.core.verdict import PartRule
from visionseg.data.synthetic import make_sample
from visionseg.export.errors import ExportError
from visionseg.export.loader import load
from visionseg.io.images import write_png

REPO = Path(__file__).resolve().parents[2]
OVERRIDES = ["device=cpu", f"tile.size={TILE.size}", f"tile.overlap={TILE.overlap}"]

CARD = ModelCard("visionseg.models.smp.module.SegmentationModule", CLASSES,
                 {"arch": "Unet", "mean": [0.5] * 3, "std": [0.25] * 3}, image_size=[64, 48],
                 image16=TWELVE_BIT, tile=TILE, decision=RULE, calibration={"target": "x"},
                 method_settings={"score_threshold": 0.4},
                 provenance=Provenance({"torch": "2.14"}, "2026-12-03T20:00:00Z"))


def test_card_round_trips_through_json():
    again = ModelCard.from_dict(json.loads(json.dumps(CARD.to_dict())))
    assert again == CARD and again.schema_version == SCHEMA_VERSION
    assert again.mean == [0.5] * 3 and again.std == [0.25] * 3


def test_version_1_dicts_are_read_by_their_keys():
    old = {"module": "m.M", "classes": ["bg", "a"], "net": {}, "score_threshold": 0.3,
           "decision": RULE.to_dict(), "image16": None}
    card = ModelCard.from_dict(old, "old.ckpt")
    assert card.method_settings == {"score_threshold": 0.3} and card.decision == RULE
    assert card.schema_version == SCHEMA_VERSION and card.image16 is None


@pytest.mark.parametrize("change, message", [
    ({"classes": None}, "field 'classes' must be list or tuple, got NoneType"),
    ({"net": [1]}, "field 'net' must be dict, got list"),
    ({"colour": "red"}, r"unknown model card field\(s\) \['colour'\]"),
    ({"decision": {"min_area": 0}}, "field 'decision' is malformed: decision min_area"),
    ({"provenance": {"created": "now"}}, "field 'provenance' is malformed"),
    ({"schema_version": 9}, "schema_version 9, this visionseg reads 1 and 2"),
    ({"classes": []}, "'classes' must be a non-empty list"),
])
def test_each_bad_field_is_one_error_naming_it(change, message):
    with pytest.raises(ModelCardError, match=f"^best.ckpt: .*{message}"):
        ModelCard.from_dict({**CARD.to_dict(), **change}, "best.ckpt")


def test_a_missing_field_is_named():
    value = CARD.to_dict()
    del value["module"]
    with pytest.raises(ModelCardError, match=r"best.ckpt: model card lacks field\(s\) \['modu"):
        ModelCard.from_dict(value, "best.ckpt")


def test_a_foreign_model_json_is_refused_with_one_line(exported, calibrated_ckpt, tmp_path):
    """Another export's model.json (same format, another graph) beside model.onnx."""
    from visionseg.export.onnx_export import ExportRequest, export_model

    other = tmp_path / "other"
    export_model(ExportRequest(calibrated_ckpt, other, rule=PartRule(min_area=3), tile=TILE,
                               parity_images=1))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(exported, mixed / "model.onnx")
    shutil.copy(other / "model.json", mixed / "model.json")
    with pytest.raises(ExportError, match="describes another graph") as caught:
        load(mixed, device="cpu")
    assert "\n" not in str(caught.value)
    assert load(other, device="cpu").rule == PartRule(min_area=3)  # its own pair is fine


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Path:
    """A test split of synthetic parts (some defective) with masks."""
    root = tmp_path_factory.mktemp("parts")
    rng = np.random.default_rng(7)
    for i in range(6):
        image, mask = make_sample(rng, 64 if i % 2 else 80, p_good=0.3)
        write_png(root / "test/images" / f"p{i}.png", image)
        write_png(root / "test/masks" / f"p{i}.png", np.where(mask < 3, mask, 0))  # 3 classes
    return root


def _cfg(name: str, overrides: list[str]):
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "configs")):
        return compose(name, overrides=overrides)


def _evaluate(model: Path, root: Path, out: Path) -> list[bool]:
    from visionseg.apps.evaluate import run

    code = run(_cfg("evaluate", [f"ckpt={model}", f"data.root={root}", f"output={out}",
                                 "baselines=[]", "train_split=null", "data.classes=null",
                                 *OVERRIDES]))
    assert code == 0
    rows = pd.read_csv(out / "per_image.csv").sort_values("image")
    return [bool(v) for v in rows["pred_ng"]]


def _infer(model: Path, images: Path, out: Path) -> list[bool]:
    from visionseg.apps.infer import infer

    summary = infer(_cfg("infer", [f"ckpt={model}", f"input={images}", f"output={out}",
                                   "progress=false", *OVERRIDES]))
    assert summary.decision == RULE.to_dict()
    return [r.ng for r in sorted(summary.records, key=lambda r: r.image)]


def _inspector(model: Path):
    from visionseg.apps.serve import build_inspector

    return build_inspector(_cfg("serve", [f"ckpt={model}", *OVERRIDES]))


def _serve(model: Path, images: Path) -> list[bool]:
    from visionseg.io.images import read_image

    inspector = _inspector(model)
    assert inspector.rule == RULE
    return [inspector.inspect(read_image(p, inspector.scale16), p.name).verdict == "NG"
            for p in sorted(images.iterdir())]


def test_checkpoint_and_export_give_one_verdict_everywhere(calibrated_ckpt, exported, parts,
                                                           tmp_path):
    images = parts / "test/images"
    verdicts = {
        "evaluate ckpt": _evaluate(calibrated_ckpt, parts, tmp_path / "e1"),
        "evaluate export": _evaluate(exported.parent, parts, tmp_path / "e2"),
        "infer ckpt": _infer(calibrated_ckpt, images, tmp_path / "i1"),
        "infer export": _infer(exported, images, tmp_path / "i2"),
        "serve ckpt": _serve(calibrated_ckpt, images),
        "serve export": _serve(exported, images),
    }
    first = verdicts["evaluate ckpt"]
    assert len(first) == 6
    assert all(v == first for v in verdicts.values()), verdicts


def test_a_twelve_bit_image_reads_as_the_checkpoint_reads_it(calibrated_ckpt, exported,
                                                             tmp_path):
    from visionseg.io.images import read_image

    image, _ = make_sample(np.random.default_rng(3), 96)
    path = tmp_path / "twelve.png"
    dark = image[:, :, ::-1].astype(np.int64) * 1023 // 255  # a dark 12-bit part: 0..1023
    cv2.imwrite(str(path), dark.astype(np.uint16))
    masks = []
    for model in (calibrated_ckpt, exported):
        loaded = load(model, device="cpu", tile_size=TILE.size, tile_overlap=TILE.overlap)
        assert loaded.scale16.to_dict() == TWELVE_BIT
        read = read_image(path, loaded.scale16)
        expected = (dark[:, :, ::-1] * 255 / 4095 + 0.5).astype(np.uint8)  # as 0..4095
        assert np.abs(read.astype(int) - expected).max() <= 1  # not 4x brighter (auto)
        masks.append(loaded.method.predict(read).mask)
    assert (masks[0] == masks[1]).mean() >= 0.999


def test_an_export_copied_alone_serves_with_drift_monitoring(exported, tmp_path):
    alone = tmp_path / "line-pc" / "model"
    shutil.copytree(exported.parent, alone)  # no source checkpoint on this machine
    inspector = _inspector(alone)
    assert inspector.monitor.reference.drift is not None
    assert inspector.monitor.reference.drift.images == 40
