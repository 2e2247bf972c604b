"""Connected defect regions of a class mask: the unit line engineers count."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


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
    connectivity: int = 8,
) -> list[Region]:
    """8-connected regions of every defect class (ids 1..num_classes-1), at least ``min_area``."""
    regions: list[Region] = []
    for class_id in range(1, num_classes):
        binary = (mask == class_id).astype(np.uint8)
        if not binary.any():
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            binary, connectivity=connectivity, ltype=cv2.CV_32S
        )
        mean_conf = None
        if confidence is not None:
            sums = np.bincount(labels.ravel(), weights=confidence.ravel(), minlength=count)
            mean_conf = sums / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
        for index in range(1, count):
            area = int(stats[index, cv2.CC_STAT_AREA])
            if area < min_area:
                continue
            x, y, w, h = (int(v) for v in stats[index, :4])
            conf = float(mean_conf[index]) if mean_conf is not None else float("nan")
            regions.append(
                Region(
                    class_id=class_id,
                    area=area,
                    bbox=(x, y, w, h),
                    mean_confidence=conf,
                    labels=labels,
                    index=index,
                )
            )
    return regions
