"""The region class rule: learned from train regions, with a documented fallback."""

from __future__ import annotations

import numpy as np

from tests.baselines.shapes import disc, line, lit_part, to_rgb
from visionseg.baselines import OtsuBaseline, WatershedBaseline
from visionseg.baselines.features import FEATURE_NAMES, region_features, region_majority

CLASSES = ["background", "scratch", "spot"]
SHAPE = (96, 96)


def scene(rng: np.random.Generator, dx: int, dy: int, speck: bool = False):
    """A dark line (scratch, class 1) and a dark filled disc (spot, class 2)."""
    scratch = line(SHAPE, (8 + dx, 10 + dy), (50 + dx, 40 + dy))
    spot = disc(SHAPE, (70 - dx, 70 - dy), 5 + dx % 3)
    gray = lit_part(SHAPE, rng)
    gray[scratch | spot] -= 60
    mask = np.zeros(SHAPE, np.uint8)
    mask[scratch] = 1
    mask[spot] = 2
    if speck:
        gray[85:88, 10:13] -= 60
    return to_rgb(gray), mask


def test_classes_are_learned_from_train_regions():
    rng = np.random.default_rng(0)
    train = [scene(rng, dx, dy, speck=dx == 4) for dx in (0, 4, 8) for dy in (0, 6, 12)]
    method = OtsuBaseline(CLASSES, polarity="dark", min_contrast=3.0, flatten_sigma=0.1).fit(train)
    assert method.rule.fitted
    image, truth = scene(np.random.default_rng(99), 5, 9, speck=True)
    pred = method.predict(image)
    assert set(pred.instances.classes.tolist()) == {1, 2}
    for class_id in (1, 2):
        found, wanted = pred.mask == class_id, truth == class_id
        assert np.count_nonzero(found & wanted) / np.count_nonzero(found | wanted) > 0.8
    assert pred.mask[85:88, 10:13].max() == 0  # a train-like speck was learned as background
    assert pred.instances.scores is not None and (pred.instances.scores > 0.5).all()


def test_unfitted_rule_names_every_region_with_the_first_defect_class():
    image, _ = scene(np.random.default_rng(1), 2, 3)
    pred = OtsuBaseline(CLASSES, polarity="dark", min_contrast=3.0, flatten_sigma=0.1).predict(
        image
    )
    assert pred.instances.classes.tolist() == [1, 1]
    scores = pred.instances.scores
    assert scores is not None and ((scores > 0.5) & (scores <= 1.0)).all()
    assert set(np.unique(pred.mask)) == {0, 1}


def test_watershed_shares_the_learned_rule():
    rng = np.random.default_rng(0)
    train = [scene(rng, dx, dy) for dx in (0, 4, 8) for dy in (0, 6, 12)]
    settings = {"polarity": "dark", "min_contrast": 3.0, "flatten_sigma": 0.1}
    method = WatershedBaseline(CLASSES, classify=True, smooth=0.0, **settings).fit(train)
    image, truth = scene(np.random.default_rng(5), 6, 3)
    pred = method.predict(image)
    assert set(pred.instances.classes.tolist()) == {1, 2}


def test_region_features_against_direct_computation():
    labels = np.zeros((40, 60), np.int32)
    labels[5:8, 10:40] = 1  # 3 x 30 bar
    yy, xx = np.mgrid[:40, :60]
    labels[(yy - 25) ** 2 + (xx - 30) ** 2 <= 64] = 2  # disc of radius 8
    image = np.full((40, 60, 3), 128, np.uint8)
    image[labels == 1] = (40, 40, 40)
    feats = region_features(image, labels, 2)
    assert feats.shape == (2, len(FEATURE_NAMES))
    for index in (1, 2):
        ys, xs = np.nonzero(labels == index)
        cov = np.cov(np.stack([xs, ys]), bias=True) + np.eye(2) / 12
        major, minor = np.linalg.eigvalsh(cov)[::-1]
        assert np.isclose(feats[index - 1, 0], np.log(len(xs) / labels.size))
        assert np.isclose(feats[index - 1, 1], 0.5 * np.log(major / minor))
        assert np.isclose(feats[index - 1, 2], len(xs) / (4 * np.pi * np.sqrt(major * minor)))
    assert feats[0, 3] < -20  # the bar is much darker (L*) than the grey background
    assert abs(feats[1, 3]) < 1 and feats[1, 6] < 1  # the disc has the background colour
    assert 0.9 < feats[1, 2] < 1.1  # a filled disc fills its moment ellipse


def test_region_majority_votes_per_region_and_skips_ignored():
    labels = np.array([[1, 1, 2, 2, 3]], np.int32)
    truth = np.array([[2, 0, 0, 0, 255]], np.uint8)
    truth_major = np.array([[2, 2, 0, 1, 255]], np.uint8)
    assert region_majority(labels, 3, truth_major, 3).tolist() == [2, 0, -1]
    assert region_majority(labels, 3, truth, 3).tolist()[1:] == [0, -1]
