"""The one part rule: areas, confidences, per-class overrides, pixel thresholds, checks."""

import numpy as np
import pytest

from visionseg.core.errors import ConfigError
from visionseg.core.prediction import Prediction
from visionseg.core.verdict import DEFAULT_MIN_AREA, PartRule

CLASSES = ["background", "scratch", "stain"]


def _mask_with(area: int, class_id: int = 1, shape=(32, 32)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask.ravel()[:area] = class_id  # one row-major run: one 8-connected region
    return mask


def test_area_rule_on_the_edge():
    rule = PartRule(min_area=10)
    assert rule.judge_mask(_mask_with(10), CLASSES).ng
    assert not rule.judge_mask(_mask_with(9), CLASSES).ng
    assert PartRule().min_area == DEFAULT_MIN_AREA


def test_regions_are_8_connected():
    mask = np.zeros((8, 8), np.uint8)
    for i in range(6):
        mask[i, i] = 1  # a diagonal line: one region under 8-connectivity, six under 4
    verdict = PartRule(min_area=6).judge_mask(mask, CLASSES)
    assert verdict.ng and len(verdict.defects) == 1 and verdict.defects[0].area == 6


def test_confidence_and_per_class_overrides():
    mask = _mask_with(20, class_id=2)
    conf = np.where(mask > 0, 0.6, 1.0).astype(np.float32)
    pred = Prediction(mask=mask, confidence=conf)
    assert PartRule(min_confidence=0.5).judge(pred, CLASSES).ng
    assert not PartRule(min_confidence=0.7).judge(pred, CLASSES).ng
    rule = PartRule.from_dict({"min_area": 5, "per_class": {"stain": {"min_area": 30}}})
    assert not rule.judge(pred, CLASSES).ng
    assert rule.for_class("scratch").min_area == 5
    assert PartRule.from_dict(rule.to_dict()) == rule


def test_pixel_threshold_replaces_argmax_for_its_class():
    probs = np.zeros((3, 4, 4), np.float32)
    probs[0] = 0.7
    probs[1] = 0.3  # scratch never wins argmax
    probs[1, 0, 0], probs[0, 0, 0] = 0.1, 0.9
    pred = Prediction.from_probs(probs)
    assert not (pred.mask == 1).any()
    rule = PartRule(min_area=1, per_class={"scratch": {"pixel_threshold": 0.25}})
    thresholded = rule.apply(pred, CLASSES)
    assert (thresholded.mask == 1).sum() == 15 and thresholded.mask[0, 0] == 0
    np.testing.assert_allclose(thresholded.confidence[1, 1], 0.3)
    assert rule.judge(thresholded, CLASSES).ng


@pytest.mark.parametrize(
    "value",
    [{"min_area": 0}, {"min_confidence": 1.5}, {"per_class": {"scratch": {"pixel_threshold": 0}}},
     {"min_aera": 3}, {"per_class": {"scratch": {"area": 3}}}],
)
def test_bad_settings_are_one_clear_error(value):
    with pytest.raises(ConfigError, match="decision|per-class"):
        PartRule.from_dict(value)


def test_unknown_class_in_rule_is_named():
    rule = PartRule.from_dict({"per_class": {"crack": {"min_area": 3}}})
    with pytest.raises(ConfigError, match="crack"):
        rule.check_classes(CLASSES)
