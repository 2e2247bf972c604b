"""Numeric settings checked where they are built: NaN, text and out-of-range values are one
ConfigError naming the setting (the shared helpers of visionseg.core.checks)."""

from __future__ import annotations

import pytest
import torch

from visionseg.core.errors import ConfigError
from visionseg.data.sampling import balanced_weights
from visionseg.data.synthetic import generate
from visionseg.models.losses import SkeletonRecall
from visionseg.models.schedules import warmup_cosine

CLASSES = ["background", "crack"]


def _optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


@pytest.mark.parametrize(("build", "setting"), [
    (lambda: warmup_cosine(_optimizer(), 100, warmup_steps=2.5), "warmup_steps"),
    (lambda: warmup_cosine(_optimizer(), 100, min_ratio=float("nan")), "min_ratio"),
    (lambda: warmup_cosine(_optimizer(), 100, min_ratio="low"), "min_ratio"),
    (lambda: SkeletonRecall(CLASSES, ["crack"], iterations=0), "iterations"),
    (lambda: SkeletonRecall(CLASSES, ["crack"], smooth=float("inf")), "smooth"),
    (lambda: balanced_weights([frozenset(), frozenset({1})], good_share=1.5), "good_share"),
    (lambda: generate("/nonexistent", size=16), "data.synthetic.size"),
    (lambda: generate("/nonexistent", p_good=float("nan")), "data.synthetic.p_good"),
])
def test_a_bad_number_is_one_error_naming_its_setting(build, setting):
    with pytest.raises(ConfigError, match=setting):
        build()


def test_good_values_pass_through():
    weights = balanced_weights([frozenset(), frozenset({1})], good_share=0.25)
    assert weights.sum() == pytest.approx(1.0) and weights[0] == pytest.approx(0.25)
