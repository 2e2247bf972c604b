"""Chains apply steps in order; instances follow mask changes; configs instantiate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from visionseg.core import Instances, Prediction
from visionseg.postprocess import Chain, DenseCRF, Morphology, PostProcess
from visionseg.postprocess.instances import sync_instances
from visionseg.registry import build_chain, chain_from_steps

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "postprocess"
IMAGE = np.zeros((30, 30, 3), np.uint8)


def test_chain_names_and_order():
    assert Chain([]).name == "none"
    grow = Morphology(close_radius=2, name="close")
    drop = Morphology(min_area=30, name="drop")
    assert Chain([grow, drop]).name == "close+drop"
    mask = np.zeros((30, 30), np.uint8)
    mask[5:10, 5:10] = 1
    mask[5:10, 11:16] = 1  # two 25 px squares 1 px apart
    pred = Prediction(mask)
    closed_first = Chain([grow, drop])(IMAGE, pred)
    dropped_first = Chain([drop, grow])(IMAGE, pred)
    assert closed_first.mask.sum() > 50  # joined into one region above 30 px
    assert dropped_first.mask.sum() == 0
    assert closed_first.meta["postprocess"] == "close+drop"
    assert Chain([])(IMAGE, pred) is pred


def test_chain_rejects_non_steps():
    with pytest.raises(TypeError, match="not a PostProcess"):
        Chain([lambda image, pred: pred])


@pytest.mark.parametrize(
    "name,expected", [("none", "none"), ("morphology", "morphology"), ("crf", "crf")]
)
def test_postprocess_configs_build_by_name(name, expected):
    if name == "crf":
        pytest.importorskip("pydensecrf.densecrf")
    chain = build_chain(name)
    assert all(isinstance(step, PostProcess) for step in chain.steps)
    assert chain.name == expected
    assert isinstance(chain(IMAGE, Prediction(np.zeros((30, 30), np.uint8))), Prediction)


def test_chain_name_and_hydra_multi_select_build_the_same_chain():
    pytest.importorskip("pydensecrf.densecrf")
    chain = build_chain("morphology+crf")
    assert chain.name == "morphology+crf"
    assert isinstance(chain.steps[0], Morphology) and isinstance(chain.steps[1], DenseCRF)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIGS.parent)):
        cfg = compose("infer", overrides=["input=x", "output=y", "postprocess=[morphology,crf]"])
    composed = chain_from_steps(OmegaConf.to_container(cfg.postprocess))
    assert composed.name == chain.name
    assert vars(composed.steps[0]) == vars(chain.steps[0])


def test_sync_instances_restricts_extends_and_creates():
    labels = np.zeros((20, 20), np.int32)
    labels[2:6, 2:6] = 1  # class 1
    labels[10:14, 10:14] = 2  # class 2, disappears
    instances = Instances(labels, [1, 2], [0.9, 0.8])
    mask = np.zeros((20, 20), np.uint8)
    mask[2:7, 2:7] = 1  # grown by one row and column
    mask[16:19, 16:19] = 3  # new class-3 region, no instance of that class
    out = sync_instances(instances, mask)
    assert out.classes.tolist() == [1, 3]
    assert out.scores.tolist() == [0.9, 0.0]
    assert np.array_equal(out.labels == 1, mask == 1)
    assert np.array_equal(out.labels == 2, mask == 3)
    assert sync_instances(None, mask) is None
