"""Threshold baselines on small images with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.filters import threshold_otsu

from tests.baselines.shapes import disc, iou, lit_part, to_rgb
from visionseg.baselines import (
    AdaptiveBaseline,
    KMeansBaseline,
    MultiOtsuBaseline,
    OtsuBaseline,
    RidgeBaseline,
    WatershedBaseline,
)
from visionseg.baselines.base import BaselineError
from visionseg.core.errors import ConfigError
from visionseg.core.regions import remove_small_regions

CLASSES = ["background", "defect"]
SHAPE = (96, 96)


def two_dark_discs(seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b = disc(SHAPE, (28, 30), 8), disc(SHAPE, (66, 62), 9)
    gray = lit_part(SHAPE, rng)
    gray[a | b] -= 60
    return to_rgb(gray), a, b


def instance_matches(pred, objects):
    """Best IoU of each object with any predicted instance."""
    masks = pred.instances.masks()
    return [max((iou(m, obj) for m in masks), default=0.0) for obj in objects]


@pytest.mark.parametrize(
    "method",
    [
        OtsuBaseline(CLASSES, polarity="dark", min_contrast=3.0, flatten_sigma=0.1),
        MultiOtsuBaseline(CLASSES, polarity="dark", min_contrast=3.0, flatten_sigma=0.1),
        AdaptiveBaseline(CLASSES, polarity="dark", min_contrast=3.0, block=0.4),
    ],
    ids=lambda m: m.name,
)
def test_threshold_finds_both_separated_discs(method):
    image, a, b = two_dark_discs()
    pred = method.predict(image)
    assert pred.shape == SHAPE
    assert len(pred.instances) == 2
    assert min(instance_matches(pred, [a, b])) > 0.9
    assert iou(pred.mask == 1, a | b) > 0.9
    assert set(np.unique(pred.mask)) == {0, 1}


def test_otsu_without_flattening_agrees_with_skimage_on_the_raw_image():
    rng = np.random.default_rng(3)
    gray = 120 + rng.normal(0, 6, SHAPE)
    blob = disc(SHAPE, (40, 50), 14)
    gray[blob] -= 50
    image = to_rgb(gray)
    method = OtsuBaseline(CLASSES, min_area=1)  # textbook: polarity from the histogram
    reference = image[..., 0] < threshold_otsu(image[..., 0])
    found = method.predict(image).mask == 1
    assert np.count_nonzero(found != reference) <= 0.002 * found.size


def test_illumination_gradient_needs_flattening():
    rng = np.random.default_rng(1)
    h, w = SHAPE
    gray = 100 + np.linspace(0, 120, w)[None, :].repeat(h, 0) + rng.normal(0, 2, SHAPE)
    spots = disc(SHAPE, (15, 48), 6) | disc(SHAPE, (80, 48), 6)
    gray[spots] -= 40
    image = to_rgb(gray)
    flat = OtsuBaseline(CLASSES, polarity="dark", min_contrast=3.0, flatten_sigma=0.1)
    flat = flat.predict(image)
    raw = OtsuBaseline(CLASSES, polarity="dark", min_contrast=3.0, flatten_sigma=0.0)
    assert iou(flat.mask == 1, spots) > 0.85
    assert iou(raw.predict(image).mask == 1, spots) < 0.5


def test_multi_otsu_polarity_keeps_one_side_or_both():
    rng = np.random.default_rng(2)
    gray = lit_part(SHAPE, rng)
    dark, bright = disc(SHAPE, (25, 25), 8), disc(SHAPE, (70, 70), 8)
    gray[dark] -= 60
    gray[bright] += 60
    image = to_rgb(gray)
    settings = {"min_contrast": 3.0, "flatten_sigma": 0.1}
    both = MultiOtsuBaseline(CLASSES, polarity="both", **settings).predict(image)
    only_dark = MultiOtsuBaseline(CLASSES, polarity="dark", **settings).predict(image)
    assert iou(both.mask == 1, dark | bright) > 0.9
    assert iou(only_dark.mask == 1, dark) > 0.9


def _pairs(sign: float, count: int = 4):
    """Defect blobs of one sign; an unlabelled blob of the other sign is part of the part."""
    rng = np.random.default_rng(10)
    pairs = []
    for i in range(count):
        blob = disc(SHAPE, (20 + 12 * i, 30 + 8 * i), 6 + i)
        feature = disc(SHAPE, (78, 18), 12)
        gray = lit_part(SHAPE, rng)
        gray[blob] += sign * 50
        gray[feature] -= sign * 50
        pairs.append((to_rgb(gray), blob.astype(np.uint8)))
    return pairs


@pytest.mark.parametrize("sign,polarity", [(-1.0, "dark"), (1.0, "bright")])
def test_polarity_is_learned_from_the_train_split(sign, polarity):
    method = OtsuBaseline(CLASSES).fit(_pairs(sign))
    assert method.settings["polarity"] == polarity
    rng = np.random.default_rng(20)
    gray = lit_part(SHAPE, rng)
    wanted, other = disc(SHAPE, (25, 25), 8), disc(SHAPE, (70, 70), 8)
    gray[wanted] += sign * 55
    gray[other] -= sign * 55
    found = method.predict(to_rgb(gray)).mask > 0
    assert iou(found, wanted) > 0.9


def test_open_settings_fall_back_without_train_data():
    method = OtsuBaseline(CLASSES, classify=True).fit(_pairs(-1.0, 2))
    assert method.settings["polarity"] == "dark" and method.rule.fitted
    method.fit([])  # refitting starts from scratch: the textbook method
    assert method.settings == {"polarity": "auto", "min_contrast": 0.0, "flatten_sigma": 0.0}
    assert not method.rule.fitted
    image, a, b = two_dark_discs()
    gray = image[..., 0]
    textbook = remove_small_regions(gray <= threshold_otsu(gray), method.min_area)
    assert np.array_equal(method.predict(image).mask == 1, textbook)


def test_given_settings_are_not_refitted():
    given = {"polarity": "bright", "min_contrast": 4.0, "flatten_sigma": 0.0}
    method = OtsuBaseline(CLASSES, **given).fit(_pairs(-1.0))
    assert method.settings == given


@pytest.mark.parametrize(
    "method_cls",
    [OtsuBaseline, MultiOtsuBaseline, AdaptiveBaseline, WatershedBaseline, KMeansBaseline],
)
def test_single_colour_image_raises_baseline_error(method_cls):
    method = method_cls(CLASSES)
    with pytest.raises(BaselineError, match="single"):
        method.predict(np.full((32, 40, 3), 77, np.uint8))
    assert isinstance(BaselineError("x"), ValueError)


def test_single_colour_train_image_is_skipped_not_fatal():
    pairs = _pairs(-1.0, 2) + [(np.zeros((20, 20, 3), np.uint8), np.zeros((20, 20), np.uint8))]
    method = OtsuBaseline(CLASSES).fit(pairs)
    assert method.fit_report["skipped_images"] == 1
    assert method.settings["polarity"] == "dark"


def test_wrong_input_is_a_clear_error():
    method = OtsuBaseline(CLASSES)
    with pytest.raises(BaselineError, match="H x W x 3 uint8"):
        method.predict(np.zeros((10, 10), np.uint8))
    image, mask = _pairs(-1.0, 1)[0]
    with pytest.raises(ValueError, match="train pair 0"):
        method.fit(iter([(image, mask[:-1])]))
    with pytest.raises(ValueError, match="polarity"):
        OtsuBaseline(CLASSES, polarity="darker")


def test_region_rule_stays_off_when_it_does_not_beat_plain_naming():
    method = OtsuBaseline(CLASSES).fit(_pairs(-1.0))
    assert method.fit_report["region_rule"] is False and not method.rule.fitted
    forced = OtsuBaseline(CLASSES, classify=True).fit(_pairs(-1.0))
    assert forced.rule.fitted


@pytest.mark.parametrize(
    "build,setting",
    [
        (lambda: OtsuBaseline(CLASSES, min_contrast=-1.0), "min_contrast"),
        (lambda: OtsuBaseline(CLASSES, flatten_sigma=2.0), "flatten_sigma"),
        (lambda: OtsuBaseline(CLASSES, min_area=0), "min_area"),
        (lambda: MultiOtsuBaseline(CLASSES, levels=1), "levels"),
        (lambda: AdaptiveBaseline(CLASSES, block=1.5), "block"),
        (lambda: WatershedBaseline(CLASSES, min_distance=-0.5), "min_distance"),
        (lambda: WatershedBaseline(CLASSES, markers="peaks"), "markers"),
        (lambda: RidgeBaseline(CLASSES, scales=[0.1]), "scales"),
        (lambda: RidgeBaseline(CLASSES, low=1.5), "low"),
        (lambda: KMeansBaseline(CLASSES, k=1), "k"),
        (lambda: OtsuBaseline(CLASSES, classify="yes"), "classify"),
    ],
)
def test_out_of_range_settings_name_the_setting(build, setting):
    with pytest.raises(ConfigError, match=setting):
        build()
