"""Tolerant skeleton precision/recall/F1 against hand-computed cases and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from visionseg.core.errors import ConfigError
from visionseg.evaluation import EvalSettings
from visionseg.evaluation.settings import thin_classes_of
from visionseg.metrics.skeleton import SkeletonPRF, skeleton, skeleton_counts

CLASSES = ["background", "crack", "spot"]


def _lines(shape=(30, 40)):
    """Truth: a 1-px line on row 10, columns 0..19; prediction: row 12, columns 10..29."""
    gt = np.zeros(shape, np.uint8)
    gt[10, 0:20] = 1
    pred = np.zeros(shape, np.uint8)
    pred[12, 10:30] = 1
    return gt, pred


def test_two_pixel_offset_hand_computed():
    gt, pred = _lines()
    # k = 2: predicted (12, c) is 2 px from the truth for c in 10..19, farther beyond: 10 of
    # 20 correct; symmetrically 10 of 20 truth pixels found. P = R = F1 = 0.5.
    # Relative tolerance 0.06 x diagonal 50 = 3 px: sqrt(2^2 + 1^2) and sqrt(2^2 + 2^2)
    # also fit (c = 20, 21 and, on the truth side, c = 9, 8): 12 of 20 each way.
    prf = SkeletonPRF([1], tolerance_px=2.0, diagonal_ratio=0.06)
    prf.update(prf.target(gt), pred)
    fig = prf.summary(CLASSES).per_class["crack"]
    assert (fig.fixed.precision, fig.fixed.recall, fig.fixed.f1) == (0.5, 0.5, 0.5)
    assert (fig.relative.precision, fig.relative.recall) == (0.6, 0.6)
    assert fig.relative.f1 == pytest.approx(0.6)
    assert (fig.fixed.predicted_px, fig.fixed.true_px) == (20, 20)
    # At 1 px nothing matches, as 0-px IoU says.
    strict = SkeletonPRF([1], tolerance_px=1.0, diagonal_ratio=0.0)
    strict.update(strict.target(gt), pred)
    assert strict.summary(CLASSES).per_class["crack"].fixed.f1 == 0.0


def test_a_centre_line_on_a_wide_annotation_scores_full_marks():
    """A 1-px prediction on the centre of a 5-px annotated crack: IoU 0.2, skeleton F1 1."""
    gt = np.zeros((32, 48), np.uint8)
    gt[14:19, 4:44] = 1
    pred = np.zeros_like(gt)
    pred[16, 4:44] = 1
    assert ((gt == 1) & (pred == 1)).sum() / ((gt == 1) | (pred == 1)).sum() == 0.2
    prf = SkeletonPRF([1], tolerance_px=2.0)
    prf.update(prf.target(gt), pred)
    fixed = prf.summary(CLASSES).per_class["crack"].fixed
    assert fixed.precision == 1.0 and fixed.recall == 1.0


def _brute_force(pred_sk, gt_sk, tol):
    p, g = np.argwhere(pred_sk), np.argwhere(gt_sk)
    if not len(p) or not len(g):
        return [len(p), 0, len(g), 0]
    d = np.sqrt(((p[:, None, :] - g[None, :, :]) ** 2).sum(-1))
    return [len(p), int((d.min(1) <= tol).sum()), len(g), int((d.min(0) <= tol).sum())]


@pytest.mark.parametrize("seed", range(5))
def test_counts_match_brute_force_distances(seed):
    rng = np.random.default_rng(seed)
    gt = np.zeros((40, 40), bool)
    pred = np.zeros((40, 40), bool)
    for mask in (gt, pred):
        for _ in range(3):
            y, x = rng.integers(0, 36, 2)
            mask[y : y + rng.integers(1, 4), x : x + rng.integers(3, 20)] = True
    pred_sk, gt_sk = skeleton(pred), skeleton(gt)
    for tol in (0.0, 1.0, 1.5, 2.0, 3.7):
        assert skeleton_counts(pred_sk, gt_sk, tol).tolist() == _brute_force(pred_sk, gt_sk, tol)


def test_ignored_pixels_are_no_prediction_and_empty_sides():
    gt, pred = _lines()
    valid = np.ones(gt.shape, bool)
    valid[:, 20:] = False  # the prediction's unmatched half lies in an ignored region
    prf = SkeletonPRF([1], tolerance_px=2.0)
    prf.update(prf.target(gt, valid), np.where(valid, pred, 0))
    fixed = prf.summary(CLASSES).per_class["crack"].fixed
    assert fixed.precision == 1.0 and fixed.predicted_px == 10
    # Nothing predicted, nothing true: undefined; only one side: 0.
    empty = SkeletonPRF([1])
    empty.update(empty.target(np.zeros((8, 8), np.uint8)), np.zeros((8, 8), np.uint8))
    assert math.isnan(empty.summary(CLASSES).per_class["crack"].fixed.f1)
    empty.update(empty.target(gt), np.zeros_like(gt))
    assert empty.summary(CLASSES).per_class["crack"].fixed.f1 == 0.0


def test_thin_classes_default_by_name_and_are_checked():
    assert thin_classes_of(["background", "scratch", "spot", "Crack_fine"], EvalSettings()) == [
        1, 3]
    assert thin_classes_of(CLASSES, EvalSettings(thin_classes=["spot"])) == [2]
    assert thin_classes_of(CLASSES, EvalSettings(thin_classes=[])) == []
    with pytest.raises(ConfigError, match=r"metrics.thin_classes: \['crak'\] are not defect"):
        thin_classes_of(CLASSES, EvalSettings(thin_classes=["crak"]))
    with pytest.raises(ConfigError, match="metrics.thin_classes must be a list"):
        EvalSettings(thin_classes="crack")
    with pytest.raises(ConfigError, match="metrics.thin_tolerance_diagonal"):
        EvalSettings(thin_tolerance_diagonal=0.5)
    with pytest.raises(ConfigError, match="metrics.thin_tolerance "):
        EvalSettings(thin_tolerance=-1)
