"""Confusion-matrix and per-image figures against scikit-learn on random masks."""

from __future__ import annotations

import numpy as np
from random_masks import blob_mask, perturb
from sklearn.metrics import confusion_matrix, f1_score, jaccard_score, precision_score, recall_score

from visionseg.metrics import ConfusionMatrix, PerImageMeans, image_scores, summarize_confusion
from visionseg.metrics.confusion import confusion_counts

C = 4
NAMES = ["background", "scratch", "spot", "stain"]


def _pairs(rng, n=8):
    gts = [blob_mask(rng) for _ in range(n)]
    return gts, [perturb(rng, g) for g in gts]


def test_split_confusion_matches_sklearn(rng):
    gts, preds = _pairs(rng)
    cm = ConfusionMatrix(C)
    for g, p in zip(gts, preds, strict=True):
        cm.update(p, g)
    t = np.concatenate([g.ravel() for g in gts])
    p = np.concatenate([q.ravel() for q in preds])
    valid = t != 255
    t, p = t[valid], p[valid]
    labels = list(range(C))
    np.testing.assert_array_equal(cm.matrix, confusion_matrix(t, p, labels=labels))
    summary = summarize_confusion(cm.matrix, NAMES)
    assert set(np.unique(t)) == set(labels)  # every class present: all figures defined
    iou = jaccard_score(t, p, labels=labels, average=None)
    dice = f1_score(t, p, labels=labels, average=None)
    prec = precision_score(t, p, labels=labels, average=None, zero_division=0)
    rec = recall_score(t, p, labels=labels, average=None)
    for c, name in enumerate(NAMES):
        fig = summary["per_class"][name]
        ours = np.nan_to_num([fig["iou"], fig["dice"], fig["precision"], fig["recall"]], nan=0.0)
        np.testing.assert_allclose(ours, [iou[c], dice[c], prec[c], rec[c]], atol=1e-6)
        assert fig["support"] == int((t == c).sum())
    np.testing.assert_allclose(summary["mIoU"], iou[1:].mean(), atol=1e-6)
    np.testing.assert_allclose(summary["mDice"], dice[1:].mean(), atol=1e-6)
    np.testing.assert_allclose(summary["mIoU_all"], iou.mean(), atol=1e-6)


def test_per_image_scores_match_sklearn_per_image(rng):
    gts, preds = _pairs(rng, n=10)
    means = PerImageMeans(C)
    image_mious = []
    for g, p in zip(gts, preds, strict=True):
        scores = image_scores(confusion_counts(p, g, C))
        means.update(scores)
        valid = g != 255
        t, q = g[valid], p[valid]
        present = [c for c in range(C) if (t == c).any() or (q == c).any()]
        ref_iou = jaccard_score(t, q, labels=present, average=None)
        ref_dice = f1_score(t, q, labels=present, average=None)
        np.testing.assert_allclose(scores["iou"][present], ref_iou, atol=1e-6)
        np.testing.assert_allclose(scores["dice"][present], ref_dice, atol=1e-6)
        absent = [c for c in range(C) if c not in present]
        assert np.isnan(scores["iou"][absent]).all()
        defect = [k for k, c in enumerate(present) if c > 0]
        if defect:
            np.testing.assert_allclose(scores["mIoU"], ref_iou[defect].mean(), atol=1e-6)
            image_mious.append(ref_iou[defect].mean())
        else:
            assert np.isnan(scores["mIoU"])
    summary = means.summary(NAMES)
    assert summary["images"] == len(image_mious)
    np.testing.assert_allclose(summary["mIoU"], np.mean(image_mious), atol=1e-6)
