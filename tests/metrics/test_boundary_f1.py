"""Boundary F1: identical and shifted masks, ignored pixels, per-image vs pooled figures,
and a brute-force distance reference."""

from __future__ import annotations

import numpy as np
import pytest
from random_masks import blob_mask, perturb
from scipy.spatial.distance import cdist

from visionseg.metrics import BoundaryF1, boundary_map

C = 4
NAMES = ["background", "scratch", "spot", "stain"]


def _edges_brute(binary: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Valid pixels of ``binary`` with a 4-neighbour inside the image that is valid and not
    in ``binary`` (ignored pixels are neither)."""
    valid = np.ones_like(binary) if valid is None else valid
    h, w = binary.shape
    out = np.zeros_like(binary)
    for y, x in zip(*np.nonzero(binary & valid), strict=True):
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            yy, xx = y + dy, x + dx
            if 0 <= yy < h and 0 <= xx < w and valid[yy, xx] and not binary[yy, xx]:
                out[y, x] = True
    return out


def _score(gt, pred, tolerance=2.0):
    bf = BoundaryF1(C, tolerance)
    valid = gt != 255
    bf.update(bf.target(gt, valid if not valid.all() else None), np.where(valid, pred, 0))
    return bf.summary(NAMES)


def test_boundary_map_matches_brute_force(rng):
    for _ in range(5):
        mask = blob_mask(rng)
        valid = mask != 255
        for c in range(1, C):
            np.testing.assert_array_equal(boundary_map(mask == c), _edges_brute(mask == c))
            np.testing.assert_array_equal(boundary_map(mask == c, valid),
                                          _edges_brute(mask == c, valid))


def test_identical_masks_score_one_and_shifted_masks_lower():
    gt = np.zeros((64, 64), np.uint8)
    gt[10:30, 10:30] = 1
    gt[40:55, 35:60] = 2
    assert _score(gt, gt).f1 == 1.0
    near = np.roll(gt, 1, axis=1)  # within the 2 px tolerance
    assert _score(gt, near).f1 == 1.0
    far = _score(gt, np.roll(gt, 5, axis=1))
    farther = _score(gt, np.roll(gt, 8, axis=1))
    assert 0 < farther.f1 < far.f1 < 1.0
    assert np.isnan(far.per_class["stain"].f1)


def test_an_ignore_stripe_does_not_change_a_shifted_prediction_score():
    """Ignored pixels inside a defect made matching edges around them in the truth and the
    (cleaned) prediction alike: this score rose from 0.156 to 0.571 with the stripe, and to
    0.294 with one across the image, before such edges stopped counting."""
    gt = np.zeros((64, 64), np.uint8)
    gt[4:60, 24:34] = 1
    pred = np.roll(gt, 4, axis=1)  # 4 px off: beyond the 2 px tolerance on the long sides
    plain = _score(gt, pred)
    assert plain.f1 == pytest.approx(0.15625)
    striped = gt.copy()
    striped[16:48, 29:33] = 255  # a 4 px ignore stripe inside the defect and the prediction
    assert _score(striped, pred).f1 == pytest.approx(plain.f1, abs=1e-12)
    across = gt.copy()
    across[30:34, :] = 255  # across the image: only the real edge pixels under it are lost
    assert _score(across, pred).f1 == pytest.approx(plain.f1, abs=0.015)


def test_csurka_score_averages_images_and_pooled_score_sums_pixels():
    """Image A: a 20 px scratch square found exactly (76 edge px, F1 1). Image B: a 4 px
    scratch square predicted elsewhere (12 px each side, F1 0) and a 6 px spot square
    found exactly (20 px, F1 1), so B scores (0 + 1) / 2."""
    a_gt = np.zeros((48, 48), np.uint8)
    a_gt[10:30, 10:30] = 1
    b_gt = np.zeros((48, 48), np.uint8)
    b_gt[5:9, 5:9] = 1
    b_gt[30:36, 30:36] = 2
    b_pred = b_gt.copy()
    b_pred[5:9, 5:9] = 0
    b_pred[5:9, 30:34] = 1
    bf = BoundaryF1(C, 2.0)
    assert bf.update(bf.target(a_gt), a_gt) == 1.0
    assert bf.update(bf.target(b_gt), b_pred) == 0.5
    s = bf.summary(NAMES)
    assert s.f1 == pytest.approx((1.0 + 0.5) / 2) and s.images == 2
    assert s.per_class["scratch"].f1 == pytest.approx(0.5) and s.per_class["scratch"].images == 2
    assert s.per_class["spot"].f1 == 1.0 and s.per_class["spot"].images == 1
    scratch_pooled = 2 * (76 / 88) * (76 / 88) / (2 * 76 / 88)  # P = R = 76 / 88
    assert s.per_class["scratch"].pooled_f1 == pytest.approx(scratch_pooled)
    assert s.pooled_f1 == pytest.approx((scratch_pooled + 1.0) / 2)


def test_boundary_counts_match_brute_force_distances(rng):
    tolerance = 2.0
    bf = BoundaryF1(C, tolerance)
    totals = np.zeros((C, 4))
    for _ in range(12):
        gt = blob_mask(rng)
        valid = gt != 255
        pred = np.where(valid, perturb(rng, gt), 0).astype(np.uint8)
        bf.update(bf.target(gt, None if valid.all() else valid), pred)
        for c in range(1, C):
            ge = np.argwhere(_edges_brute(gt == c, valid))
            pe = np.argwhere(_edges_brute(pred == c, valid))
            if len(ge) and len(pe):
                d = cdist(pe, ge)
                totals[c] += [len(pe), (d.min(axis=1) <= tolerance).sum(), len(ge),
                              (d.min(axis=0) <= tolerance).sum()]
            else:
                totals[c] += [len(pe), 0, len(ge), 0]
    np.testing.assert_array_equal(bf.counts, totals)
    summary = bf.summary(NAMES)
    for c in range(1, C):
        p = totals[c, 1] / totals[c, 0]
        r = totals[c, 3] / totals[c, 2]
        assert summary.per_class[NAMES[c]].pooled_f1 == pytest.approx(2 * p * r / (p + r),
                                                                      abs=1e-6)
