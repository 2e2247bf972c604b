"""Every baseline config in configs/method instantiates to a working Method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.baselines.shapes import disc, lit_part, to_rgb
from visionseg.baselines.base import RegionBaseline
from visionseg.core import Method, Prediction

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "method"
BASELINES = ["otsu", "multi_otsu", "adaptive", "watershed", "ridge", "kmeans"]


@pytest.mark.parametrize("name", BASELINES)
def test_method_config_instantiates_fits_and_predicts(name):
    cfg = OmegaConf.load(CONFIGS / f"{name}.yaml")
    method = instantiate(cfg, classes=["background", "scratch", "spot"])
    assert isinstance(method, Method) and isinstance(method, RegionBaseline)
    assert method.name == cfg.name == name
    assert method.classes == ["background", "scratch", "spot"]
    rng = np.random.default_rng(0)
    gray = lit_part((64, 80), rng)
    spot = disc((64, 80), (30, 30), 6)
    gray[spot] -= 60
    image = to_rgb(gray)
    method.fit([(image, spot.astype(np.uint8) * 2)])
    pred = method.predict(image)
    assert isinstance(pred, Prediction) and pred.shape == (64, 80)
    assert pred.instances is not None and pred.instances.labels.shape == (64, 80)
