"""One image's prediction gets the same OK/NG verdict through evaluate.py's path and
infer.py's path: one rule (visionseg.core.verdict.PartRule), one default, both configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir

from visionseg.core import Method, Prediction
from visionseg.core.verdict import PartRule
from visionseg.data.folder import list_split
from visionseg.evaluation import evaluate
from visionseg.inference.inputs import expand_inputs
from visionseg.inference.runner import run_inference
from visionseg.io import write_png
from visionseg.registry import to_plain

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
CLASSES = ["background", "scratch", "spot"]


class DarkIsSpot(Method):
    """Pixels darker than 60 are spots, with a confidence that falls with brightness."""

    name = "dark"

    def __init__(self) -> None:
        self.classes = CLASSES

    def predict(self, image: np.ndarray) -> Prediction:
        grey = image[..., 0].astype(np.float32)
        mask = np.where(grey < 60, 2, 0).astype(np.uint8)
        confidence = np.where(mask > 0, 1.0 - grey / 120.0, 1.0).astype(np.float32)
        return Prediction(mask, confidence=confidence)


def _images(root: Path) -> None:
    """Spots of 8 to 12 pixels (around the default minimum area) at two darknesses."""
    for i, (area, level) in enumerate([(8, 10), (9, 10), (10, 10), (11, 50), (12, 10), (0, 0)]):
        image = np.full((16, 20, 3), 128, np.uint8)
        image.reshape(-1, 3)[40 : 40 + area] = level  # one row-major run: one region
        mask = np.where(image[..., 0] < 60, 2, 0).astype(np.uint8)
        write_png(root / "test" / "images" / f"p{i}.png", image)
        write_png(root / "test" / "masks" / f"p{i}.png", mask, rgb=False)


def _default_rule(config: str) -> PartRule:
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIGS)):
        cfg = compose(config, overrides=["input=x", "output=y"] if config == "infer" else [])
    return PartRule.from_dict(to_plain(cfg.decision))


def test_evaluate_and_infer_share_the_default_rule():
    assert _default_rule("evaluate") == _default_rule("infer") == PartRule()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIGS)):
        train = compose("train")
    assert PartRule.from_dict(to_plain(train.decision)) == PartRule()


def _verdicts(tmp_path: Path, rule: PartRule) -> tuple[dict[str, bool], dict[str, bool]]:
    samples = list_split(tmp_path, "test")
    results = evaluate([DarkIsSpot()], samples, CLASSES, rule=rule)
    per_image = pd.DataFrame(results.per_image_frame())
    evaluated = dict(zip(per_image["image"], per_image["pred_ng"], strict=True))
    out = tmp_path / "out"
    run_inference(DarkIsSpot(), expand_inputs(str(tmp_path / "test" / "images")), out,
                  show_progress=False, rule=rule)
    summary = json.loads((out / "summary.json").read_text())
    inferred = {r["name"]: r["verdict"] == "NG" for r in summary["results"]}
    return evaluated, inferred


def test_same_verdict_through_both_paths(tmp_path):
    _images(tmp_path)
    for rule in (PartRule(), PartRule(min_area=9, min_confidence=0.7)):
        evaluated, inferred = _verdicts(tmp_path, rule)
        assert evaluated == inferred
        assert set(inferred.values()) == {True, False}  # the edge cases split both ways
    evaluated, _ = _verdicts(tmp_path, PartRule())
    assert [evaluated[f"p{i}"] for i in range(6)] == [False, False, True, True, True, False]
