"""Dense CRF pulls a blurred prediction onto the sharp shape in the image."""

from __future__ import annotations

import importlib.util
import sys

import cv2
import numpy as np
import pytest

from visionseg.core import Instances, Prediction
from visionseg.postprocess.crf import DenseCRF, hard_probabilities

needs_crf = pytest.mark.skipif(
    importlib.util.find_spec("pydensecrf") is None, reason='needs pip install -e ".[crf]"'
)


def sharp_shape():
    rng = np.random.default_rng(0)
    truth = np.zeros((64, 72), np.uint8)
    truth[18:46, 14:52] = 1
    image = np.where(truth[..., None] == 1, (200, 70, 60), (90, 95, 100)).astype(np.float32)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth == 1


def iou(a, b):
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


@needs_crf
def test_crf_sharpens_blurred_probabilities():
    image, truth = sharp_shape()
    fg = np.clip(cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 5) * 1.4, 0.02, 0.98)
    pred = Prediction.from_probs(np.stack([1 - fg, fg]))
    out = DenseCRF()(image, pred)
    before, after = iou(pred.mask == 1, truth), iou(out.mask == 1, truth)
    assert before < 0.9 and after > before + 0.05
    assert out.probs.shape == pred.probs.shape
    assert np.allclose(out.probs.sum(axis=0), 1.0, atol=1e-4)
    assert np.array_equal(out.probs.argmax(axis=0), out.mask)


@needs_crf
def test_crf_refines_hard_labels_with_derived_probabilities():
    image, truth = sharp_shape()
    grown = cv2.dilate(truth.astype(np.uint8), np.ones((9, 9), np.uint8))
    labels = grown.astype(np.int32)
    pred = Prediction(grown, instances=Instances(labels, [1], [0.8]))
    out = DenseCRF(hard_confidence=0.7)(image, pred)
    assert iou(out.mask == 1, truth) > iou(pred.mask == 1, truth) + 0.1
    assert out.probs is None and out.confidence is not None
    assert np.array_equal(out.instances.labels > 0, out.mask > 0)


@needs_crf
def test_reduced_resolution_refines_like_full_resolution():
    image, truth = sharp_shape()
    image = cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    truth = cv2.resize(truth.astype(np.uint8), None, fx=3, fy=3,
                       interpolation=cv2.INTER_NEAREST) == 1
    fg = np.clip(cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 15) * 1.4, 0.02, 0.98)
    pred = Prediction.from_probs(np.stack([1 - fg, fg]))
    full = DenseCRF(gaussian_sxy=9, bilateral_sxy=30)(image, pred)
    reduced = DenseCRF(gaussian_sxy=9, bilateral_sxy=30, max_pixels=64 * 72)(image, pred)
    assert reduced.probs.shape == pred.probs.shape
    assert np.allclose(reduced.probs.sum(axis=0), 1.0, atol=1e-4)
    before = iou(pred.mask == 1, truth)
    assert iou(reduced.mask == 1, truth) > before + 0.05
    assert np.mean(reduced.mask == full.mask) > 0.97
    with pytest.raises(ValueError, match="max_pixels"):
        DenseCRF(max_pixels=10)


def test_hard_probabilities():
    mask = np.array([[0, 2], [1, 0]], np.uint8)
    probs = hard_probabilities(mask, 3, 0.7)
    assert np.allclose(probs.sum(axis=0), 1.0)
    assert np.array_equal(probs.argmax(axis=0), mask)
    assert np.isclose(probs[2, 0, 1], 0.7) and np.isclose(probs[0, 0, 1], 0.15)


@needs_crf
def test_all_background_hard_prediction_is_returned_unchanged():
    image, _ = sharp_shape()
    pred = Prediction(np.zeros(image.shape[:2], np.uint8))
    assert np.array_equal(DenseCRF()(image, pred).mask, pred.mask)


@needs_crf
def test_mismatched_image_is_a_clear_error():
    image, truth = sharp_shape()
    with pytest.raises(ValueError, match="crf: image is"):
        DenseCRF()(image[:10], Prediction(truth.astype(np.uint8)))


def test_missing_pydensecrf_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydensecrf", None)
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[crf\]"'):
        DenseCRF()
