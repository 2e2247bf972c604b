"""Image-level (OK/NG) and defect-level figures: a hand-made case and independent references."""

from __future__ import annotations

import numpy as np
import pytest
from random_masks import blob_mask, perturb
from scipy.optimize import linear_sum_assignment
from skimage.measure import label, regionprops
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from visionseg.core.verdict import PartRule
from visionseg.metrics import DefectCounts, ImageLevelCounts, class_regions

C = 4
NAMES = ["background", "scratch", "spot", "stain"]


def _regions_skimage(mask):
    """[(class, boolean mask, area)] with 8-connectivity, by scikit-image."""
    out = []
    for c in range(1, C):
        lab = label(mask == c, connectivity=2)
        out += [(c, lab == r.label, int(r.area)) for r in regionprops(lab)]
    return out


def test_image_level_matches_sklearn(rng):
    min_area = 30
    rule = PartRule(min_area=min_area)
    truth, decided = [], []
    counts = ImageLevelCounts()
    for _ in range(40):
        gt = blob_mask(rng)
        pred = perturb(rng, gt)
        pred = np.where(gt == 255, 0, pred)
        t = any(a >= min_area for _, _, a in _regions_skimage(gt))
        p = any(a >= min_area for _, _, a in _regions_skimage(pred))
        assert rule.judge_mask(gt, NAMES).ng == t
        assert rule.judge_mask(pred, NAMES).ng == p
        counts.update(t, p)
        truth.append(int(t))
        decided.append(int(p))
    assert 0 < sum(truth) < len(truth)
    summary = counts.summary()
    np.testing.assert_array_equal(summary.confusion, confusion_matrix(truth, decided))
    prec, rec, f1, _ = precision_recall_fscore_support(truth, decided, average="binary")
    np.testing.assert_allclose([summary.precision, summary.recall, summary.f1],
                               [prec, rec, f1], atol=1e-6)


def test_defect_matching_hand_made_case():
    gt = np.zeros((100, 100), np.uint8)
    gt[2:6, 2:6] = 1  # small scratch, 16 px: predicted exactly
    gt[20:60, 20:60] = 1  # large scratch, 1600 px: predicted half of it (IoU 0.5)
    gt[70:80, 70:80] = 2  # medium spot, 100 px: predicted as the wrong class
    gt[85:95, 5:15] = 3  # medium stain: missed
    pred = np.zeros_like(gt)
    pred[2:6, 2:6] = 1
    pred[20:60, 20:40] = 1
    pred[70:80, 70:80] = 1
    pred[90:93, 50:53] = 2  # 9 px false spot
    counts = DefectCounts(C, size_thresholds=(64, 1024), iou_threshold=0.5)
    per_image = counts.update(class_regions(gt, C), class_regions(pred, C))
    assert per_image == {"gt": 4, "pred": 4, "matched": 2}
    s = counts.summary(NAMES)
    assert s.recall == pytest.approx(2 / 4)
    assert s.precision == pytest.approx(2 / 4)
    assert s.per_class["scratch"].recall == 1.0
    assert s.per_class["scratch"].precision == pytest.approx(2 / 3)
    assert s.per_class["spot"].recall == 0.0
    assert s.per_class["spot"].precision == 0.0
    assert s.per_class["stain"].recall == 0.0
    assert np.isnan(s.per_class["stain"].precision)
    by_size = s.by_size
    assert (by_size["small"].gt_regions, by_size["small"].found) == (1, 1)
    assert (by_size["medium"].gt_regions, by_size["medium"].found) == (2, 0)
    assert (by_size["large"].gt_regions, by_size["large"].found) == (1, 1)
    # predicted: 16 px (matched a small one), 800 px (matched the large one: large),
    # 100 px (unmatched, medium by its own area), 9 px (unmatched, small)
    assert (by_size["small"].pred_regions, by_size["small"].correct) == (2, 1)
    assert (by_size["medium"].pred_regions, by_size["medium"].correct) == (1, 0)
    assert (by_size["large"].pred_regions, by_size["large"].correct) == (1, 1)


def test_a_matched_pair_across_a_size_edge_counts_in_its_truth_bucket():
    """Truth 48 px (small, < 50), prediction 56 px (medium), IoU 48/56: one found defect,
    one correct prediction, both small. Bucketing the prediction by its own area made
    'medium' precision 1/1 with no medium defect at all."""
    gt = np.zeros((30, 30), np.uint8)
    gt[5:11, 5:13] = 1  # 6 x 8 = 48 px
    pred = np.zeros_like(gt)
    pred[5:12, 5:13] = 1  # 7 x 8 = 56 px
    counts = DefectCounts(C, size_thresholds=(50, 500), iou_threshold=0.5)
    assert counts.update(class_regions(gt, C), class_regions(pred, C))["matched"] == 1
    small, medium = counts.summary(NAMES).by_size["small"], counts.summary(NAMES).by_size["medium"]
    assert (small.gt_regions, small.found, small.pred_regions, small.correct) == (1, 1, 1, 1)
    assert (small.recall, small.precision) == (1.0, 1.0)
    assert (medium.gt_regions, medium.pred_regions) == (0, 0)
    assert np.isnan(medium.precision)


def test_defect_counts_match_maximum_matching(rng):
    thresholds = (40, 200)
    counts = DefectCounts(C, thresholds, 0.5)
    expected = {k: np.zeros((C, 3), int) for k in ("gt", "found", "pred", "correct")}
    bucket = lambda a: 0 if a < thresholds[0] else (1 if a < thresholds[1] else 2)  # noqa: E731
    for _ in range(25):
        gt = blob_mask(rng)
        pred = np.where(gt == 255, 0, perturb(rng, gt)).astype(np.uint8)
        counts.update(class_regions(gt, C), class_regions(pred, C))
        g_regions, p_regions = _regions_skimage(gt), _regions_skimage(pred)
        for c in range(1, C):
            g = [(m, a) for k, m, a in g_regions if k == c]
            p = [(m, a) for k, m, a in p_regions if k == c]
            ok = np.zeros((len(g), len(p)))
            for i, (gm, _) in enumerate(g):
                for j, (pm, _) in enumerate(p):
                    ok[i, j] = (gm & pm).sum() / (gm | pm).sum() >= 0.5
            rows, cols = linear_sum_assignment(-ok) if ok.size else ([], [])
            pairs = [(i, j) for i, j in zip(rows, cols, strict=True) if ok[i, j]]
            for i, (_, a) in enumerate(g):
                expected["gt"][c, bucket(a)] += 1
                expected["found"][c, bucket(a)] += any(i == r for r, _ in pairs)
            for j, (_, a) in enumerate(p):
                truth = [g[r][1] for r, q in pairs if q == j]  # a match: its truth's area
                expected["pred"][c, bucket(truth[0] if truth else a)] += 1
                expected["correct"][c, bucket(truth[0] if truth else a)] += bool(truth)
    np.testing.assert_array_equal(counts.gt_total, expected["gt"])
    np.testing.assert_array_equal(counts.gt_found, expected["found"])
    np.testing.assert_array_equal(counts.pred_total, expected["pred"])
    np.testing.assert_array_equal(counts.pred_correct, expected["correct"])
    assert counts.gt_found.sum() > 0 and (counts.gt_found < counts.gt_total).any()
