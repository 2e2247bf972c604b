"""Confusion-matrix and per-image figures against scikit-learn and a direct computation.

Split-wide and per-image figures both go through ``confusion_counts`` then
``reduce_confusion``; the property-based test checks that path on arbitrary masks.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from random_masks import blob_mask, perturb
from sklearn.metrics import confusion_matrix, f1_score, jaccard_score, precision_score, recall_score

from visionseg.metrics import PerImageMeans, PixelFigures, reduce_confusion, summarize_confusion
from visionseg.metrics.confusion import confusion_counts

C = 4
NAMES = ["background", "scratch", "spot", "stain"]


def _pairs(rng, n=8):
    gts = [blob_mask(rng) for _ in range(n)]
    return gts, [perturb(rng, g) for g in gts]


def test_split_confusion_matches_sklearn(rng):
    gts, preds = _pairs(rng)
    counts = sum(confusion_counts(p, g, C) for g, p in zip(gts, preds, strict=True))
    t = np.concatenate([g.ravel() for g in gts])
    p = np.concatenate([q.ravel() for q in preds])
    valid = t != 255
    t, p = t[valid], p[valid]
    labels = list(range(C))
    np.testing.assert_array_equal(counts, confusion_matrix(t, p, labels=labels))
    figures = PixelFigures.from_counts(counts, NAMES)
    assert set(np.unique(t)) == set(labels)  # every class present: all figures defined
    iou = jaccard_score(t, p, labels=labels, average=None)
    dice = f1_score(t, p, labels=labels, average=None)
    prec = precision_score(t, p, labels=labels, average=None, zero_division=0)
    rec = recall_score(t, p, labels=labels, average=None)
    for c, name in enumerate(NAMES):
        fig = figures.per_class[name]
        ours = np.nan_to_num([fig.iou, fig.dice, fig.precision, fig.recall], nan=0.0)
        np.testing.assert_allclose(ours, [iou[c], dice[c], prec[c], rec[c]], atol=1e-6)
        assert fig.support == int((t == c).sum())
    np.testing.assert_allclose(figures.defect_miou, iou[1:].mean(), atol=1e-6)
    np.testing.assert_allclose(figures.defect_mdice, dice[1:].mean(), atol=1e-6)
    np.testing.assert_allclose(figures.miou_all, iou.mean(), atol=1e-6)
    # the training loggers' dict carries the same figures
    assert summarize_confusion(counts, NAMES)["mIoU"] == figures.defect_miou


def test_per_image_scores_match_sklearn_per_image(rng):
    gts, preds = _pairs(rng, n=10)
    means = PerImageMeans(C)
    image_mious = []
    for g, p in zip(gts, preds, strict=True):
        scores = reduce_confusion(confusion_counts(p, g, C))
        means.update(scores)
        valid = g != 255
        t, q = g[valid], p[valid]
        present = [c for c in range(C) if (t == c).any() or (q == c).any()]
        ref_iou = jaccard_score(t, q, labels=present, average=None)
        ref_dice = f1_score(t, q, labels=present, average=None)
        np.testing.assert_allclose(scores.iou[present], ref_iou, atol=1e-6)
        np.testing.assert_allclose(scores.dice[present], ref_dice, atol=1e-6)
        absent = [c for c in range(C) if c not in present]
        assert np.isnan(scores.iou[absent]).all()
        defect = [k for k, c in enumerate(present) if c > 0]
        if defect:
            np.testing.assert_allclose(scores.defect_miou, ref_iou[defect].mean(), atol=1e-6)
            image_mious.append(ref_iou[defect].mean())
        else:
            assert np.isnan(scores.defect_miou)
    summary = means.summary(NAMES)
    assert summary.images == len(image_mious)
    np.testing.assert_allclose(summary.defect_miou, np.mean(image_mious), atol=1e-6)


def _direct(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> dict:
    """Every figure from boolean masks, class by class (no confusion matrix)."""
    valid = truth != 255
    iou, dice, precision, recall = [], [], [], []
    for c in range(num_classes):
        t, p = (truth == c) & valid, (pred == c) & valid
        inter, union = int((t & p).sum()), int((t | p).sum())
        iou.append(inter / union if union else math.nan)
        dice.append(2 * inter / (t.sum() + p.sum()) if union else math.nan)
        precision.append(inter / p.sum() if p.sum() else math.nan)
        recall.append(inter / t.sum() if t.sum() else math.nan)
    right = int(((truth == pred) & valid).sum())
    return {"iou": iou, "dice": dice, "precision": precision, "recall": recall,
            "accuracy": right / valid.sum() if valid.sum() else math.nan}


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


@st.composite
def mask_pairs(draw):
    """A ground truth (class ids and some ignored pixels) and a prediction of one shape."""
    num_classes = draw(st.integers(2, 5))
    shape = draw(st.tuples(st.integers(1, 12), st.integers(1, 12)))
    truth = draw(arrays(np.uint8, shape, elements=st.sampled_from([*range(num_classes), 255])))
    pred = draw(arrays(np.uint8, shape, elements=st.integers(0, num_classes - 1)))
    return truth, pred, num_classes


@settings(max_examples=150, deadline=None)
@given(mask_pairs())
def test_confusion_figures_equal_a_direct_computation(pair):
    truth, pred, num_classes = pair
    ours = reduce_confusion(confusion_counts(pred, truth, num_classes))
    ref = _direct(truth, pred, num_classes)
    for key in ("iou", "dice", "precision", "recall"):
        np.testing.assert_allclose(getattr(ours, key), ref[key], atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ours.defect_miou, _mean(ref["iou"][1:]), atol=1e-12,
                               equal_nan=True)
    np.testing.assert_allclose(ours.miou_all, _mean(ref["iou"]), atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ours.defect_mdice, _mean(ref["dice"][1:]), atol=1e-12,
                               equal_nan=True)
    np.testing.assert_allclose(ours.pixel_accuracy, ref["accuracy"], atol=1e-12,
                               equal_nan=True)
    assert ours.support.tolist() == [int((truth == c).sum()) for c in range(num_classes)]
