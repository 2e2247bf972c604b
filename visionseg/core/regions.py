"""Connected regions: the one connected-components helper of the package.

Line engineers count defects as connected regions; metrics, baselines, post-processing,
the part verdict and the defect table all label them here, with 8-connectivity unless a
caller needs 4 (hole filling). ``cv2.connectedComponents`` plus ``np.bincount`` for the
areas: in OpenCV 5 several times faster than ``connectedComponentsWithStats``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CONNECTIVITY = 8


def label_components(
    binary: np.ndarray, connectivity: int = CONNECTIVITY
) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of a boolean mask: ``(labels int32, areas int64)``.

    ``areas[i - 1]`` is the pixel count of component ``i``; ``labels`` is 0 off the mask.
    """
    binary = np.ascontiguousarray(binary)
    count, labels = cv2.connectedComponents(
        binary.view(np.uint8) if binary.dtype == bool else (binary != 0).astype(np.uint8),
        connectivity=connectivity,
        ltype=cv2.CV_32S,
    )
    areas = np.bincount(labels.ravel(), minlength=count)[1:].astype(np.int64)
    return labels, areas


def drop_small(
    labels: np.ndarray, areas: np.ndarray, min_area: int
) -> tuple[np.ndarray, np.ndarray]:
    """Remove components smaller than ``min_area`` and renumber the rest 1..n."""
    if min_area <= 1 or not len(areas) or areas.min() >= min_area:
        return labels, areas
    keep = areas >= min_area
    lut = np.zeros(len(areas) + 1, np.int32)
    lut[1:][keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels], areas[keep]


def connected_regions(binary: np.ndarray, min_area: int = 0) -> tuple[np.ndarray, int]:
    """Components of at least ``min_area`` pixels, numbered 1..n: ``(labels, n)``."""
    labels, areas = drop_small(*label_components(binary), min_area)
    return labels, len(areas)


def remove_small_regions(binary: np.ndarray, min_area: int) -> np.ndarray:
    """``binary`` without its regions of fewer than ``min_area`` pixels."""
    labels, areas = label_components(binary)
    keep = np.zeros(len(areas) + 1, bool)
    keep[1:] = areas >= min_area
    return keep[labels]


@dataclass
class Region:
    """One connected region of one defect class."""

    class_id: int
    area: int
    bbox: tuple[int, int, int, int]  # x, y, width, height
    mean_confidence: float
    labels: np.ndarray  # label image of this class (int32), the region is ``labels == index``
    index: int

    def mask(self) -> np.ndarray:
        return self.labels == self.index


def extract_regions(
    mask: np.ndarray,
    num_classes: int,
    confidence: np.ndarray | None = None,
    min_area: int = 0,
    connectivity: int = CONNECTIVITY,
) -> list[Region]:
    """Regions of every defect class (ids 1..num_classes-1) with at least ``min_area`` pixels."""
    regions: list[Region] = []
    for class_id in range(1, num_classes):
        binary = mask == class_id
        if not binary.any():
            continue
        labels, areas = label_components(binary, connectivity)
        count = len(areas) + 1
        mean_conf = None
        if confidence is not None:
            sums = np.bincount(labels.ravel(), weights=confidence.ravel(), minlength=count)
            mean_conf = sums[1:] / np.maximum(areas, 1)
        boxes = _boxes(labels, count)
        for index in range(1, count):
            area = int(areas[index - 1])
            if area < min_area:
                continue
            conf = float(mean_conf[index - 1]) if mean_conf is not None else float("nan")
            regions.append(
                Region(class_id, area, boxes[index], conf, labels, index)
            )
    return regions


def _boxes(labels: np.ndarray, count: int) -> list[tuple[int, int, int, int]]:
    """``(x, y, width, height)`` of each label 1..count-1 (index 0 unused)."""
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs]
    big = np.iinfo(np.int64).max
    x0 = np.full(count, big)
    y0 = np.full(count, big)
    x1 = np.full(count, -1)
    y1 = np.full(count, -1)
    np.minimum.at(x0, ids, xs)
    np.minimum.at(y0, ids, ys)
    np.maximum.at(x1, ids, xs)
    np.maximum.at(y1, ids, ys)
    return [(0, 0, 0, 0)] + [
        (int(x0[i]), int(y0[i]), int(x1[i] - x0[i] + 1), int(y1[i] - y0[i] + 1))
        for i in range(1, count)
    ]
