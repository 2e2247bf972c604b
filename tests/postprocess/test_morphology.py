"""Morphology removes specks and fills small holes, class by class (checked against skimage)."""

from __future__ import annotations

import numpy as np
from skimage.morphology import remove_small_holes, remove_small_objects

from visionseg.core import Instances, Prediction
from visionseg.core.regions import remove_small_regions
from visionseg.postprocess import Morphology
from visionseg.postprocess.morphology import fill_small_holes

IMAGE = np.zeros((48, 64, 3), np.uint8)


def square_with_speck_and_holes() -> np.ndarray:
    mask = np.zeros((48, 64), np.uint8)
    mask[5:35, 5:35] = 1
    mask[10:12, 10:12] = 0  # small hole (4 px)
    mask[18:28, 18:28] = 0  # large hole (100 px)
    mask[40:42, 50:52] = 1  # speck (4 px)
    return mask


def test_speck_removed_small_hole_filled_large_hole_kept():
    pred = Prediction(square_with_speck_and_holes())
    out = Morphology(min_area=10, max_hole_area=20)(IMAGE, pred)
    assert out.mask[40:42, 50:52].max() == 0
    assert (out.mask[10:12, 10:12] == 1).all()
    assert out.mask[18:28, 18:28].max() == 0
    assert np.count_nonzero(out.mask != pred.mask) == 8
    assert pred.mask[40, 50] == 1  # the input is not modified


def test_helpers_match_skimage_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(5):
        binary = rng.random((40, 50)) < 0.45
        ours = remove_small_regions(binary, 5)
        theirs = remove_small_objects(binary, max_size=4, connectivity=2)
        assert np.array_equal(ours, theirs)
        # skimage also fills small areas touching the border; a background frame joins
        # them all into one large area, which is what "not a hole" means here
        framed = np.pad(binary, 1, constant_values=False)
        theirs = remove_small_holes(framed, max_size=6, connectivity=1)[1:-1, 1:-1]
        assert np.array_equal(fill_small_holes(binary, 6), theirs)


def test_per_class_settings_and_classes_do_not_overwrite_each_other():
    mask = np.zeros((40, 40), np.uint8)
    mask[2:4, 2:4] = 1  # speck of class 1
    mask[30:32, 30:32] = 2  # speck of class 2
    mask[10:20, 10:20] = 2
    mask[14:16, 14:16] = 1  # class 1 inside a hole of class 2
    out = Morphology(min_area={2: 10}, max_hole_area={2: 10})(IMAGE[:40, :40], Prediction(mask))
    assert out.mask[2:4, 2:4].min() == 1  # class 1 has no min_area: kept
    assert out.mask[30:32, 30:32].max() == 0  # class 2 speck removed
    assert (out.mask[14:16, 14:16] == 1).all()  # the hole holds class 1: never overwritten


def test_opening_and_closing():
    mask = np.zeros((40, 40), np.uint8)
    mask[5:25, 5:25] = 1
    mask[12, 25:35] = 1  # 1 px spur
    mask[5:25, 14] = 0  # 1 px gap splitting the square
    opened = Morphology(open_radius=1)(IMAGE[:40, :40], Prediction(mask)).mask
    assert opened[12, 28:35].max() == 0
    closed = Morphology(close_radius=1)(IMAGE[:40, :40], Prediction(mask)).mask
    assert (closed[6:24, 14] == 1).all()


def test_probabilities_confidence_and_instances_stay_consistent():
    mask = square_with_speck_and_holes()
    rng = np.random.default_rng(1)
    probs = rng.random((3, *mask.shape)).astype(np.float32)
    np.put_along_axis(probs, mask[None].astype(np.int64), 3.0, axis=0)
    probs /= probs.sum(axis=0, keepdims=True)
    labels = np.zeros(mask.shape, np.int32)
    labels[mask == 1] = 1
    labels[40:42, 50:52] = 2
    pred = Prediction.from_probs(probs, instances=Instances(labels, [1, 1], [0.9, 0.4]))
    out = Morphology(min_area=10, max_hole_area=20)(IMAGE, pred)
    assert np.array_equal(out.probs.argmax(axis=0), out.mask)
    assert np.allclose(out.probs.sum(axis=0), 1.0)
    assert np.allclose(out.confidence, out.probs.max(axis=0))
    assert len(out.instances) == 1 and out.instances.scores.tolist() == [0.9]
    assert np.array_equal(out.instances.labels > 0, out.mask > 0)
