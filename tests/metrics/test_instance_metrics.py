"""Instance F1 and mask AP: perfect and empty predictions, a hand-derived case, and an
independent COCO-style AP implementation on random instances."""

from __future__ import annotations

import numpy as np
import pytest
from random_masks import blob_mask
from scipy.optimize import linear_sum_assignment

from visionseg.core import Instances
from visionseg.metrics import InstanceCounts, mask_ap, semantic_instances

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
    assert (s["tp"], s["fp"], s["fn"]) == (tp, fp, fn)
    assert s["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-9)
    assert tp > 0 and (fp > 0 or fn > 0)
