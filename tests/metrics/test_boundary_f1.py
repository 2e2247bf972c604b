"""Boundary F1: identical masks, shifted masks, and a brute-force distance reference."""

from __future__ import annotations

import numpy as np
import pytest
from random_masks import blob_mask, perturb
from scipy.spatial.distance import cdist

from visionseg.metrics import BoundaryF1, boundary_map

C = 4
NAMES = ["background", "scratch", "spot", "stain"]


def _edges_brute(binary: np.ndarray) -> np.ndarray:
    """Pixels of ``binary`` with a 4-neighbour inside the image that is not in ``binary``."""
    h, w = binary.shape
    out = np.zeros_like(binary)
    for y, x in zip(*np.nonzero(binary), strict=True):
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            yy, xx = y + dy, x + dx
            if 0 <= yy < h and 0 <= xx < w and not binary[yy, xx]:
                out[y, x] = True
    return out


def _score(gt, pred, tolerance=2.0):
    bf = BoundaryF1(C, tolerance)
    valid = gt != 255
    bf.update(bf.target(gt, valid if not valid.all() else None), np.where(valid, pred, 0))
    return bf


def test_boundary_map_matches_brute_force(rng):
    for _ in range(5):
        mask = blob_mask(rng, ignore=False)
        for c in range(1, C):
            np.testing.assert_array_equal(boundary_map(mask == c), _edges_brute(mask == c))


def test_identical_masks_score_one_and_shifted_masks_lower():
    gt = np.zeros((64, 64), np.uint8)
    gt[10:30, 10:30] = 1
    gt[40:55, 35:60] = 2
    assert _score(gt, gt).summary(NAMES)["mean_f1"] == 1.0
    near = np.roll(gt, 1, axis=1)  # within the 2 px tolerance
    assert _score(gt, near).summary(NAMES)["mean_f1"] == 1.0
    far = _score(gt, np.roll(gt, 5, axis=1)).summary(NAMES)
    farther = _score(gt, np.roll(gt, 8, axis=1)).summary(NAMES)
    assert 0 < farther["mean_f1"] < far["mean_f1"] < 1.0
    assert np.isnan(far["per_class"]["stain"]["f1"])


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
            ge = np.argwhere(_edges_brute(gt == c) & valid)
            pe = np.argwhere(_edges_brute(pred == c) & valid)
            if len(ge) and len(pe):
                d = cdist(pe, ge)
                totals[c] += [len(pe), (d.min(axis=1) <= tolerance).sum(), len(ge),
                              (d.min(axis=0) <= tolerance).sum()]
            else:
                totals[c] += [len(pe), 0, len(ge), 0]
    np.testing.assert_array_equal(bf.pred_total, totals[:, 0])
    np.testing.assert_array_equal(bf.pred_correct, totals[:, 1])
    np.testing.assert_array_equal(bf.gt_total, totals[:, 2])
    np.testing.assert_array_equal(bf.gt_found, totals[:, 3])
    summary = bf.summary(NAMES)
    for c in range(1, C):
        p = totals[c, 1] / totals[c, 0]
        r = totals[c, 3] / totals[c, 2]
        assert summary["per_class"][NAMES[c]]["f1"] == pytest.approx(2 * p * r / (p + r), abs=1e-6)
