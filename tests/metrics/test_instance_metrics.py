"""Instance F1 and mask AP: perfect and empty predictions, a hand-derived case, and an
independent COCO-style AP implementation on random instances."""

from __future__ import annotations

import numpy as np
import pytest
from random_masks import blob_mask
from scipy.optimize import linear_sum_assignment

from visionseg.core import Instances
from visionseg.metrics import (
    CocoSet,
    InstanceCounts,
    coco_mask_ap,
    mask_ap,
    ranked_mask_ap,
    semantic_instances,
)
from visionseg.metrics.ranked_ap import TIE_ORDERS

C = 4
NAMES = ["background", "scratch", "spot", "stain"]


def _squares(shape, boxes, classes, scores=None):
    labels = np.zeros(shape, np.int32)
    for i, (y0, y1, x0, x1) in enumerate(boxes, start=1):
        labels[y0:y1, x0:x1] = i
    return Instances(labels, np.array(classes), None if scores is None else np.array(scores))


def test_perfect_prediction_has_ap_one_and_empty_prediction_zero(rng):
    gts = [semantic_instances(blob_mask(rng, ignore=False), C) for _ in range(4)]
    assert sum(len(g) for g in gts) > 3
    perfect = [Instances(g.labels, g.classes, np.linspace(0.9, 0.5, len(g))) for g in gts]
    ap = mask_ap(gts, perfect, NAMES)
    assert ap["AP"] == pytest.approx(1.0) and ap["AP50"] == pytest.approx(1.0)
    assert ap["AP75"] == pytest.approx(1.0)
    empty = [Instances.empty(g.labels.shape) for g in gts]
    ap = mask_ap(gts, empty, NAMES)
    assert (ap["AP"], ap["AP50"], ap["AP75"]) == (0.0, 0.0, 0.0)


def test_hand_derived_ap():
    """Two ground-truth scratches; the best-scored detection is right, the next is wrong.

    Precision is 1 up to recall 0.5 and recall never exceeds 0.5: on COCO's 101 recall
    points 0.00..0.50 score 1 and the rest 0, so AP = 51/101 at every IoU threshold.
    """
    gt = _squares((40, 40), [(0, 10, 0, 10), (20, 30, 20, 30)], [1, 1])
    pred = _squares((40, 40), [(0, 10, 0, 10), (0, 10, 25, 35)], [1, 1], [0.9, 0.8])
    ap = mask_ap([gt], [pred], NAMES)
    assert ap["AP"] == pytest.approx(51 / 101, abs=1e-6)
    assert ap["per_class"]["scratch"]["AP50"] == pytest.approx(51 / 101, abs=1e-6)
    assert np.isnan(ap["per_class"]["spot"]["AP"])


def _iou(a, b):
    union = (a | b).sum()
    return (a & b).sum() / union if union else 0.0


def _reference_ap(gts, preds):
    """COCO-style AP (101 recall points, IoU 0.50:0.95, per class then averaged), from scratch."""
    aps = []
    for t in np.linspace(0.5, 0.95, 10):
        per_class = []
        for c in range(1, C):
            dets, npos = [], 0
            for k, (g, p) in enumerate(zip(gts, preds, strict=True)):
                npos += int((g.classes == c).sum())
                dets += [(p.scores[i], k, i) for i in range(len(p)) if p.classes[i] == c]
            if npos == 0:
                continue
            dets.sort(key=lambda d: -d[0])
            used = set()
            tp = []
            for _, k, i in dets:
                pm = preds[k].labels == i + 1
                best, best_j = t - 1e-12, None
                for j in np.flatnonzero(gts[k].classes == c):
                    if (k, j) in used:
                        continue
                    v = _iou(pm, gts[k].labels == j + 1)
                    if v >= best:
                        best, best_j = v, j
                if best_j is not None:
                    used.add((k, best_j))
                tp.append(best_j is not None)
            tp = np.array(tp, float)
            ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
            recall = ctp / npos
            precision = ctp / np.maximum(ctp + cfp, np.finfo(float).eps)
            for i in range(len(precision) - 2, -1, -1):
                precision[i] = max(precision[i], precision[i + 1])
            q = np.zeros(101)
            idx = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
            for r, j in enumerate(idx):
                if j < len(precision):
                    q[r] = precision[j]
            per_class.append(q.mean())
        aps.append(np.mean(per_class))
    return float(np.mean(aps))


def test_mask_ap_matches_reference_implementation(rng):
    gts, preds = [], []
    for _ in range(6):
        gt = semantic_instances(blob_mask(rng, ignore=False), C)
        labels = np.zeros_like(gt.labels)
        classes = []
        for i in range(len(gt)):
            if rng.random() < 0.25:
                continue  # missed
            obj = np.roll(gt.labels == i + 1, tuple(rng.integers(-3, 4, size=2)), axis=(0, 1))
            labels[obj & (labels == 0)] = len(classes) + 1
            classes.append(int(gt.classes[i]) if rng.random() < 0.85 else int(rng.integers(1, C)))
        y, x = rng.integers(0, 56, size=2)
        labels[y : y + 6, x : x + 6] = np.where(labels[y : y + 6, x : x + 6] == 0,
                                                len(classes) + 1, labels[y : y + 6, x : x + 6])
        classes.append(int(rng.integers(1, C)))  # a false positive
        gts.append(gt)
        preds.append(Instances(labels, np.array(classes), rng.uniform(0.05, 1.0, len(classes))))
    ours = mask_ap(gts, preds, NAMES)["AP"]
    assert 0.05 < ours < 0.95
    assert ours == pytest.approx(_reference_ap(gts, preds), abs=1e-6)


def test_instance_f1_matches_maximum_matching(rng):
    counts = InstanceCounts(C, iou_threshold=0.5, score_threshold=0.3)
    tp = fp = fn = 0
    for _ in range(10):
        gt = semantic_instances(blob_mask(rng, ignore=False), C)
        shifted = np.roll(gt.labels, tuple(rng.integers(-3, 4, size=2)), axis=(0, 1))
        scores = rng.uniform(0, 1, len(gt))
        pred = Instances(shifted, gt.classes.copy(), scores)
        counts.update(gt, pred)
        kept = [i for i in range(len(pred)) if scores[i] >= 0.3]
        ok = np.array([[gt.classes[g] == pred.classes[p]
                        and _iou(gt.labels == g + 1, pred.labels == p + 1) >= 0.5
                        for p in kept] for g in range(len(gt))], float).reshape(len(gt), len(kept))
        rows, cols = linear_sum_assignment(-ok) if ok.size else ([], [])
        matched = int(sum(ok[r, c] for r, c in zip(rows, cols, strict=True)))
        tp, fp, fn = tp + matched, fp + len(kept) - matched, fn + len(gt) - matched
    s = counts.summary(NAMES)
    assert (s.tp, s.fp, s.fn) == (tp, fp, fn)
    assert s.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-9)
    assert tp > 0 and (fp > 0 or fn > 0)


def _tie_case(scores):
    """Four images with one scratch each: the first two found exactly, the last two missed
    with a false detection elsewhere. ``scores`` of the four detections, in image order."""
    gt_set, dt_set = CocoSet(), CocoSet()
    for image_id, score in enumerate(scores, start=1):
        gt = _squares((32, 32), [(4, 12, 4, 12)], [1])
        where = (4, 12, 4, 12) if image_id <= 2 else (20, 28, 20, 28)
        gt_set.add(image_id, (32, 32), gt)
        dt_set.add(image_id, (32, 32), _squares((32, 32), [where], [1], [score]))
    return gt_set, dt_set


def test_tied_scores_give_a_range_not_one_number():
    gt, dt = _tie_case([1.0, 1.0, 1.0, 1.0])
    file_order = coco_mask_ap(gt, dt, NAMES)["AP"]  # what one pycocotools run reports
    best = coco_mask_ap(*_tie_case([0.9, 0.8, 0.2, 0.1]), NAMES)["AP"]
    worst = coco_mask_ap(*_tie_case([0.2, 0.1, 0.9, 0.8]), NAMES)["AP"]
    assert best == pytest.approx(51 / 101) and worst == pytest.approx(0.5 * 51 / 101)
    ranked = ranked_mask_ap(gt, dt, NAMES)
    assert ranked.ap.varies and np.isnan(ranked.ap.value)  # never one file-order number
    assert worst - 1e-9 <= ranked.ap.low < ranked.ap.high <= best + 1e-9
    assert ranked.orders == TIE_ORDERS and (ranked.tied, ranked.distinct_scores) == (4, 1)
    assert "cannot rank" in ranked.note and not np.isnan(file_order)
    assert ranked.per_class["scratch"].ap == ranked.ap and np.isnan(ranked.per_class["spot"].ap.low)


def test_ties_that_do_not_change_ap_and_distinct_scores_give_one_number():
    gt, dt = _tie_case([0.7, 0.7, 0.2, 0.1])  # the tie is between two right detections
    ranked = ranked_mask_ap(gt, dt, NAMES)
    assert ranked.tied == 2 and not ranked.ap.varies
    assert ranked.ap.value == pytest.approx(51 / 101)
    assert "the same in" in ranked.note
    gt, dt = _tie_case([0.9, 0.8, 0.2, 0.1])
    ranked = ranked_mask_ap(gt, dt, NAMES)
    assert (ranked.tied, ranked.orders, ranked.note) == (0, 1, "")
    assert ranked.ap.value == coco_mask_ap(gt, dt, NAMES)["AP"]
