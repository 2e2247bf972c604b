"""Watershed splits touching objects; colour K-means finds a coloured blob."""

from __future__ import annotations

import numpy as np

from tests.baselines.shapes import disc, iou, lit_part, to_rgb
from visionseg.baselines import KMeansBaseline, OtsuBaseline, WatershedBaseline

CLASSES = ["background", "defect"]
SHAPE = (96, 96)


def touching_discs():
    rng = np.random.default_rng(4)
    a, b = disc(SHAPE, (36, 48), 12), disc(SHAPE, (58, 48), 12)
    gray = lit_part(SHAPE, rng)
    gray[a | b] -= 60
    return to_rgb(gray), a, b


def test_watershed_splits_two_touching_discs_into_two_instances():
    image, a, b = touching_discs()
    settings = {"polarity": "dark", "min_contrast": 3.0, "flatten_sigma": 0.1, "smooth": 0.0}
    pred = WatershedBaseline(CLASSES, **settings).predict(image)
    assert len(pred.instances) == 2
    masks = pred.instances.masks()
    for obj in (a & ~b, b & ~a):  # the non-overlapping part of each disc
        owner = max(masks, key=lambda m: np.count_nonzero(m & obj))
        assert np.count_nonzero(owner & obj) > 0.95 * np.count_nonzero(obj)
    assert iou(pred.mask == 1, a | b) > 0.9
    assert (pred.instances.labels > 0).sum() == (pred.mask > 0).sum()
    single = OtsuBaseline(CLASSES, polarity="dark", min_contrast=3.0, flatten_sigma=0.1).predict(
        image
    )
    assert len(single.instances) == 1  # plain connected components cannot separate them


def test_gradient_markers_and_unmarked_thin_objects_keep_every_pixel():
    image, a, b = touching_discs()
    scratch = np.zeros(SHAPE, bool)
    scratch[80, 5:60] = True  # 1 px wide: no distance peak is deep enough to mark it
    gray = image[..., 0].astype(np.float32)
    gray[scratch] -= 70
    image = to_rgb(gray)
    for markers in ("distance", "gradient"):
        method = WatershedBaseline(
            CLASSES,
            markers=markers,
            polarity="dark",
            min_contrast=3.0,
            flatten_sigma=0.1,
            smooth=0.0,
        )
        pred = method.predict(image)
        assert iou(pred.mask == 1, a | b | scratch) > 0.9
        assert (pred.instances.labels > 0).sum() == (pred.mask > 0).sum()
        assert len(pred.instances) >= 2


def coloured_blob(seed: int, centre=(40, 50), radius=10):
    rng = np.random.default_rng(seed)
    gray = lit_part(SHAPE, rng, noise=4.0)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    blob = disc(SHAPE, centre, radius)
    rgb[blob] = rgb[blob] + np.array([60.0, -30.0, -30.0])  # reddish, same-ish brightness
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8), blob


def test_kmeans_finds_a_coloured_blob_without_train_data():
    image, blob = coloured_blob(0)
    method = KMeansBaseline(CLASSES)
    pred = method.predict(image)
    assert iou(pred.mask == 1, blob) > 0.9
    again = method.predict(image)
    assert np.array_equal(pred.mask, again.mask)  # cv2.setRNGSeed makes it repeatable


def test_kmeans_learns_defect_clusters_from_train():
    train = []
    for i in range(6):
        image, blob = coloured_blob(10 + i, (25 + 8 * i, 30 + 5 * i), 6 + i)
        train.append((image, blob.astype(np.uint8)))
    method = KMeansBaseline(CLASSES, position_weight=0.2).fit(train)
    assert method.cluster_rule is not None
    image, blob = coloured_blob(50, (60, 35), 9)
    assert iou(method.predict(image).mask == 1, blob) > 0.9
    plain = lit_part(SHAPE, np.random.default_rng(7), noise=4.0)
    assert method.predict(to_rgb(plain)).mask.max() == 0  # a good part stays clean
