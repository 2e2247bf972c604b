"""Tiled instance inference: objects cut by tile seams become one instance, not several."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn

from visionseg.core.instance_merge import (
    Detection,
    merge_across_seams,
    paint_instances,
)
from visionseg.models.maskrcnn.method import MaskRCNNMethod


class ThresholdDetector(nn.Module):
    """A stand-in network with torchvision's output format: every 8-connected region of
    bright red pixels is an object; green encodes its class; scores fall with x."""

    def forward(self, images):
        outputs = []
        for image in images:
            array = image.permute(1, 2, 0).cpu().numpy()
            count, labels = cv2.connectedComponents((array[..., 0] > 127).astype(np.uint8))
            masks, boxes, classes, scores = [], [], [], []
            for k in range(1, count):
                binary = labels == k
                ys, xs = np.nonzero(binary)
                masks.append(binary.astype(np.float32)[None])
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                classes.append(int(array[ys[0], xs[0], 1]) // 100)
                scores.append(0.9 - 0.001 * xs.mean())
            h, w = array.shape[:2]
            outputs.append({
                "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor(classes, dtype=torch.int64),
                "scores": torch.tensor(scores, dtype=torch.float32),
                "masks": torch.from_numpy(np.stack(masks)) if masks
                else torch.zeros((0, 1, h, w)),
            })
        return outputs


def scene() -> tuple[np.ndarray, np.ndarray]:
    """An image whose objects cross the seams of 64-pixel tiles overlapping by 16."""
    truth = np.zeros((112, 160), np.int32)
    truth[30:34, 20:140] = 1  # a long scratch across both vertical seams
    truth[52:100, 100:104] = 2  # crosses the horizontal seam
    truth[10:14, 52:60] = 3  # lies inside the overlap of two tiles
    truth[70:74, 50:54] = 4  # two objects close together in an overlap: stay two
    truth[70:74, 56:60] = 5
    image = np.zeros((*truth.shape, 3), np.uint8)
    image[..., 0] = np.where(truth > 0, 255, 0)
    image[..., 1] = np.where(truth > 0, 100, 0)
    image[..., 1][truth == 2] = 200
    return image, truth


def as_sets(labels: np.ndarray) -> set[frozenset]:
    return {frozenset(np.flatnonzero(labels == i)) for i in range(1, int(labels.max()) + 1)}


def test_objects_across_seams_are_merged_not_duplicated():
    image, truth = scene()
    whole = MaskRCNNMethod(ThresholdDetector(), ["bg", "scratch", "spot"], device="cpu",
                           tile_size=None).predict(image)
    tiled = MaskRCNNMethod(ThresholdDetector(), ["bg", "scratch", "spot"], device="cpu",
                           tile_size=64, tile_overlap=16, batch_size=3).predict(image)
    assert as_sets(whole.instances.labels) == as_sets(truth)
    assert len(tiled.instances) == 5
    assert as_sets(tiled.instances.labels) == as_sets(truth)
    assert np.array_equal(tiled.mask, whole.mask)
    long_scratch = tiled.instances.labels[31, 20]
    assert tiled.instances.classes[long_scratch - 1] == 1
    assert tiled.instances.classes[tiled.instances.labels[60, 101] - 1] == 2
    assert np.all(tiled.confidence[truth > 0] >= 0.7)
    assert np.all(tiled.confidence[truth == 0] == 1.0)


def _det(y0, x0, h, w, label, tile, score=0.9):
    return Detection(y0, x0, np.ones((h, w), np.float32), score, label, tile)


def test_merge_rules():
    left, right = (0, 0, 64, 64), (0, 48, 64, 112)
    # Same object seen by both tiles, truncated at the left tile's edge.
    a, b = _det(10, 40, 4, 24, 1, left), _det(10, 40, 4, 40, 1, right)
    merged = merge_across_seams([a, b])
    assert len(merged) == 1 and (merged[0].x0, merged[0].x1) == (40, 80)
    # Another class at the same place is another object.
    assert len(merge_across_seams([a, _det(10, 40, 4, 40, 2, right)])) == 2
    # Overlapping boxes but disjoint pixels inside the shared region: two objects.
    c = _det(30, 50, 4, 4, 1, left)
    d = _det(30, 56, 4, 4, 1, right)
    assert len(merge_across_seams([c, d])) == 2
    # Detections of one tile are never merged with each other.
    assert len(merge_across_seams([a, _det(10, 40, 4, 24, 1, left)])) == 2


def test_rasterize_gives_pixels_to_the_higher_score():
    low = Detection(0, 0, np.ones((6, 6), np.float32), 0.6, 1)
    high = Detection(3, 3, np.ones((6, 6), np.float32), 0.8, 2)
    hidden = Detection(4, 4, np.ones((2, 2), np.float32), 0.55, 1)
    mask, confidence, inst = paint_instances([low, high, hidden], (10, 10))
    assert len(inst) == 2 and inst.scores.tolist() == [0.8, 0.6]
    assert (inst.labels == 1).sum() == 36 and (inst.labels == 2).sum() == 36 - 9
    assert mask[4, 4] == 2 and mask[0, 0] == 1 and mask[9, 0] == 0
    assert confidence[4, 4] == np.float32(0.8) and confidence[0, 0] == np.float32(0.6)
    assert confidence[9, 0] == 1.0
