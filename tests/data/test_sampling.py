"""Class-balanced drawing and the validation interval."""

import numpy as np
import pytest

from visionseg.core.errors import ConfigError
from visionseg.data.sampling import (
    BalancedSampler,
    auto_epoch_steps,
    balanced_weights,
    class_presence,
)


def test_presence_reads_defect_classes_and_skips_ignore():
    mask = np.zeros((8, 8), np.uint8)
    mask[0, 0], mask[1, 1], mask[2, 2] = 2, 255, 3
    assert class_presence(mask, 4) == frozenset({2, 3})
    assert class_presence(np.zeros((4, 4), np.uint8), 4) == frozenset()


def test_every_defect_class_is_drawn_equally_often():
    # 90 good images, 8 with class 1, 2 with class 2 (one of them also has class 1).
    presence = [frozenset()] * 90 + [frozenset({1})] * 7 + [frozenset({1, 2}),
                                                           frozenset({2})]
    weights = balanced_weights(presence, good_share=0.2)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[:90].sum() == pytest.approx(0.2)
    drawn = list(BalancedSampler(weights, 40_000, seed=3))
    share = {c: np.mean([c in presence[i] for i in drawn]) for c in (1, 2)}
    # Each class's share is 0.4, split among its images; image 97 holds both classes, so
    # class 1 also gets half of class 2's share (0.2) and class 2 one eighth of class 1's.
    assert share[1] == pytest.approx(0.4 + 0.2, abs=0.02)
    assert share[2] == pytest.approx(0.4 + 0.05, abs=0.02)
    assert np.mean([not presence[i] for i in drawn]) == pytest.approx(0.2, abs=0.01)


def test_sampler_is_repeatable_and_differs_between_passes():
    weights = balanced_weights([frozenset(), frozenset({1})] * 5, 0.5)
    a, b = BalancedSampler(weights, 50, seed=1), BalancedSampler(weights, 50, seed=1)
    first = list(a)
    assert first == list(b) and first != list(a) and len(a) == 50


def test_without_good_images_or_defects_all_mass_goes_to_the_rest():
    assert balanced_weights([frozenset({1})] * 4, 0.3).tolist() == [0.25] * 4
    assert balanced_weights([frozenset()] * 4, 0.3).tolist() == [0.25] * 4
    with pytest.raises(ConfigError, match="good_share"):
        balanced_weights([frozenset()], 1.5)


def test_auto_interval_scales_with_the_validation_split_and_fits_the_budget():
    assert auto_epoch_steps(28_000_000, 8, 128) == 712
    assert auto_epoch_steps(500_000, 8, 128) == 50  # a small split: the floor
    steps = auto_epoch_steps(28_000_000, 8, 128, budget=4000)
    assert steps == 666 and 4000 - 6 * steps < steps
    assert auto_epoch_steps(28_000_000, 8, 128, budget=20) == 20
