"""The thin-structure losses against hand computations on tiny masks."""

import math

import pytest
import torch

from visionseg.core.errors import ConfigError
from visionseg.models.losses import SkeletonRecall, SoftClDice, soft_skeleton

CLASSES = ["background", "scratch", "stain"]


def _logits_for(probs: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax is ``probs`` (``B x C x H x W``, strictly positive)."""
    return probs.log()


def test_soft_skeleton_of_a_three_pixel_line_is_its_centre_line():
    mask = torch.zeros(1, 1, 9, 12)
    mask[0, 0, 3:6, :] = 1.0  # a 3 px wide line across the whole image
    skeleton = soft_skeleton(mask, iterations=3)[0, 0]
    assert torch.equal(skeleton[4], torch.ones(12))
    assert float(skeleton.sum()) == 12.0


def test_skeleton_recall_is_the_mean_probability_on_the_target_skeleton():
    # Scratch: a 1 px horizontal line of 5 pixels; the network gives it P(scratch) 0.8 on
    # three pixels and 0.2 on two. Hand computation: recall = (3*0.8 + 2*0.2) / 5 = 0.56.
    target = torch.zeros(1, 7, 9, dtype=torch.long)
    target[0, 3, 2:7] = 1
    probs = torch.full((1, 3, 7, 9), 0.1)
    probs[0, 0] = 0.8
    probs[0, 1, 3, 2:5], probs[0, 0, 3, 2:5] = 0.8, 0.1
    probs[0, 1, 3, 5:7], probs[0, 0, 3, 5:7] = 0.2, 0.7
    loss = SkeletonRecall(CLASSES, ["scratch"], iterations=2, smooth=0.0)
    assert float(loss(_logits_for(probs), target)) == pytest.approx(1 - 0.56, abs=1e-5)


def test_skeleton_recall_skips_ignored_pixels_and_absent_classes():
    target = torch.zeros(1, 7, 9, dtype=torch.long)
    target[0, 3, 2:7] = 1
    target[0, 3, 5:7] = 255  # two pixels not annotated: they leave the skeleton
    probs = torch.full((1, 3, 7, 9), 1 / 3)
    probs[0, 1, 3, 2:5] = 0.9
    probs[0, 0, 3, 2:5] = probs[0, 2, 3, 2:5] = 0.05
    loss = SkeletonRecall(CLASSES, ["scratch", "stain"], iterations=2, smooth=0.0)
    # Only scratch is present; its three annotated skeleton pixels have P = 0.9.
    assert float(loss(_logits_for(probs), target)) == pytest.approx(0.1, abs=1e-5)
    empty = torch.zeros(1, 7, 9, dtype=torch.long)
    assert float(loss(_logits_for(probs), empty)) == 0.0


def test_soft_cldice_by_hand():
    # Target: a 1 px line of 5 pixels. Prediction: P(scratch) = 1 on the first 4 of them
    # and on 2 more pixels next to the line end (a 1 px line of 6, shifted right by 2).
    # Hand computation: prediction skeleton = its 6 pixels, 3 inside the target ->
    # precision 3/6; target skeleton = its 5 pixels, 3 covered -> sensitivity 3/5;
    # clDice = 2 * 0.5 * 0.6 / 1.1 = 0.5454...
    target = torch.zeros(1, 5, 12, dtype=torch.long)
    target[0, 2, 1:6] = 1
    probs = torch.zeros(1, 3, 5, 12)
    probs[0, 0] = 1.0
    probs[0, 1, 2, 3:9], probs[0, 0, 2, 3:9] = 1.0, 0.0
    logits = (probs * 40.0) - 20.0  # softmax = the hard probabilities to 1e-17
    loss = SoftClDice(CLASSES, ["scratch"], iterations=2, smooth=0.0)
    expected = 1 - 2 * 0.5 * 0.6 / 1.1
    assert float(loss(logits, target)) == pytest.approx(expected, abs=1e-5)


def test_losses_have_gradients_and_check_their_settings():
    logits = torch.randn(2, 3, 16, 16, requires_grad=True)
    target = torch.randint(0, 3, (2, 16, 16))
    for cls in (SkeletonRecall, SoftClDice):
        value = cls(CLASSES, ["scratch"])(logits, target)
        value.backward()
        assert math.isfinite(value.item()) and logits.grad is not None
        logits.grad = None
    with pytest.raises(ConfigError, match="thin_classes"):
        SkeletonRecall(CLASSES, ["crack"])
    with pytest.raises(ConfigError, match="thin_classes"):
        SkeletonRecall(CLASSES, ["background"])
    with pytest.raises(ConfigError, match="iterations"):
        SoftClDice(CLASSES, ["scratch"], iterations=0)
    with pytest.raises(ConfigError, match="smooth"):
        SoftClDice(CLASSES, ["scratch"], smooth=-1.0)
