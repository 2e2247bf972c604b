"""Each baseline with its default settings is at least the textbook scikit-image recipe
(within 0.02) on real images, measured against truths the methods did not make
(see tests/baselines/real_images.py for the images, truths and references)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from skimage.filters import sato

from tests.baselines import real_images as real
from tests.baselines.shapes import disc
from visionseg.baselines import (
    AdaptiveBaseline,
    MultiOtsuBaseline,
    OtsuBaseline,
    RidgeBaseline,
    WatershedBaseline,
)
from visionseg.baselines.ridge import sato_pair

CLASSES = ["background", "object"]
MARGIN = 0.02


@functools.cache
def case(name: str) -> real.Case:
    builders = {
        "coins": real.coins,
        "nuclei": real.nuclei,
        "nuclei_b": functools.partial(real.nuclei, seed=5),
        "blobs": real.blobs,
        "page": real.page,
        "moon_dark": functools.partial(real.scratches, "moon", sign=-1.0, contrast=(50, 80)),
        "moon_bright": functools.partial(real.scratches, "moon", sign=1.0, contrast=(50, 80)),
    }
    return builders[name]()


def test_coins_truth_is_the_24_coins():
    truth = case("coins").truth
    assert truth.max() == 24
    assert 0.30 < (truth > 0).mean() < 0.37


@pytest.mark.parametrize(
    "method_cls,reference,names",
    [
        (OtsuBaseline, real.ref_otsu, ["coins", "nuclei", "blobs"]),
        (MultiOtsuBaseline, real.ref_multi_otsu, ["coins", "nuclei"]),
        (AdaptiveBaseline, real.ref_adaptive, ["page", "coins", "nuclei"]),
        (RidgeBaseline, real.ref_ridge, ["moon_dark", "moon_bright"]),
    ],
    ids=["otsu", "multi_otsu", "adaptive", "ridge"],
)
def test_default_is_at_least_the_textbook_foreground(method_cls, reference, names):
    method = method_cls(CLASSES)
    for name in names:
        image = case(name)
        ours = real.iou(method.predict(image.rgb).mask > 0, image.foreground)
        textbook = real.iou(reference(image), image.foreground)
        assert ours >= textbook - MARGIN, f"{name}: ours {ours:.3f} < textbook {textbook:.3f}"


def test_default_otsu_is_scikit_image_otsu():
    image = case("nuclei")
    found = OtsuBaseline(CLASSES, min_area=1).predict(image.rgb).mask > 0
    assert np.array_equal(found, real.ref_otsu(image))  # same threshold, same polarity


@pytest.mark.parametrize("name", ["coins", "nuclei", "nuclei_b"])
def test_default_watershed_is_at_least_the_textbook_recipe(name):
    image = case(name)
    labels = WatershedBaseline(CLASSES).predict(image.rgb).instances.labels
    ours = real.instance_f1(labels, image.truth)
    textbook = real.instance_f1(real.ref_watershed(image), image.truth)
    assert ours >= textbook - MARGIN, f"{name}: ours {ours:.3f} < textbook {textbook:.3f}"
    assert real.iou(labels > 0, image.foreground) > 0.7


def test_watershed_separates_touching_discs_with_known_count():
    shape = (120, 120)
    rng = np.random.default_rng(0)
    gray = 20 + rng.normal(0, 4, shape)
    truth = np.zeros(shape, np.int32)
    centres = [(30 + 27 * i, 30 + 27 * j) for i in range(3) for j in range(3)]  # 3 x 3, r 15
    for index, centre in enumerate(centres, start=1):
        drawn = disc(shape, centre, 15)
        truth[drawn & (truth == 0)] = index
        gray[drawn] = 160 + rng.normal(0, 4, int(drawn.sum()))
    image = real.Case("grid", np.clip(gray, 0, 255).astype(np.uint8), truth, "bright")
    assert real.label_components_count(image.foreground) == 1  # one touching clump
    pred = WatershedBaseline(CLASSES).predict(image.rgb)
    assert len(pred.instances) == 9
    assert real.instance_f1(pred.instances.labels, truth) == 1.0


def test_instance_scores_rank_by_contrast():
    shape = (80, 160)
    gray = np.full(shape, 30.0) + np.random.default_rng(1).normal(0, 3, shape)
    faint, strong = disc(shape, (40, 40), 12), disc(shape, (120, 40), 12)
    gray[faint] += 100
    gray[strong] += 200
    image = np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    for method in (OtsuBaseline(CLASSES), WatershedBaseline(CLASSES)):
        pred = method.predict(image)
        labels, scores = pred.instances.labels, pred.instances.scores
        assert len(scores) == 2 and len(np.unique(scores)) == 2
        assert scores[labels[40, 120] - 1] > scores[labels[40, 40] - 1] > 0.5


def test_watershed_scores_on_nuclei_are_all_distinct():
    pred = WatershedBaseline(CLASSES).predict(case("nuclei").rgb)
    scores = pred.instances.scores
    assert len(np.unique(scores)) == len(scores) > 20


def test_ridge_learns_polarity_from_train():
    train = [real.scratches("moon", seed=s, sign=1.0, contrast=(50, 80)) for s in (10, 11)]
    pairs = [(c.rgb, (c.truth > 0).astype(np.uint8)) for c in train]
    method = RidgeBaseline(CLASSES, scales=(1.0, 2.0), low=0.5).fit(pairs)
    assert method.settings["polarity"] == "bright"
    image = case("moon_bright")
    fitted = real.iou(method.predict(image.rgb).mask > 0, image.foreground)
    default = real.iou(RidgeBaseline(CLASSES).predict(image.rgb).mask > 0, image.foreground)
    assert fitted > default


def test_sato_pair_equals_scikit_image_sato():
    gray = case("moon_dark").gray[:96, :128].astype(np.float32)
    for sigma in (1.0, 2.0):
        dark, bright = sato_pair(gray, sigma)
        np.testing.assert_allclose(dark, sato(gray, sigmas=(sigma,), black_ridges=True), atol=1e-4)
        np.testing.assert_allclose(
            bright, sato(gray, sigmas=(sigma,), black_ridges=False), atol=1e-4
        )
