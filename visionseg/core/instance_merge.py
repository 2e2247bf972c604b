"""Instances from tiled detection: merge objects cut by tile seams, then rasterise.

A detector run tile by tile sees an object lying across a seam twice: whole or in part
in each tile that overlaps it. Within the region two tiles share, both see the same
pixels of that object, so two detections of one class from different tiles are the same
object when, inside the shared region, their masks overlap by at least ``min_overlap`` of
the smaller one. Merged objects take the union of the masks and the highest score;
chains of merges (a long scratch over several tiles) follow by union-find. Tiles must
overlap for this to work (``tile.overlap`` > 0).

Rasterising paints objects in ascending score, so where objects overlap the
higher-scoring one owns the pixel; an object left without pixels is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from visionseg.core.prediction import Instances


@dataclass
class Detection:
    """One detected object in image coordinates.

    ``prob`` is its mask probability over the box ``y0:y0+h, x0:x0+w`` (``h, w`` its
    shape); ``tile`` is ``(y0, x0, y1, x1)`` of the tile it was found in, ``None`` when
    the whole image was one tile.
    """

    y0: int
    x0: int
    prob: np.ndarray
    score: float
    label: int
    tile: tuple[int, int, int, int] | None = None

    @property
    def y1(self) -> int:
        return self.y0 + self.prob.shape[0]

    @property
    def x1(self) -> int:
        return self.x0 + self.prob.shape[1]

    def shifted(self, dy: int, dx: int, tile: tuple[int, int, int, int]) -> Detection:
        return Detection(self.y0 + dy, self.x0 + dx, self.prob, self.score, self.label, tile)


def detections_from_arrays(
    masks: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    score_threshold: float,
    mask_threshold: float,
) -> list[Detection]:
    """Detections from full-size mask probabilities (``N x H x W``), cropped to the box of
    their pixels at ``mask_threshold``; those below ``score_threshold`` or without any
    pixel are left out."""
    out = []
    for prob, score, label in zip(masks, scores, labels, strict=True):
        if score < score_threshold:
            continue
        binary = prob >= mask_threshold
        rows, cols = np.flatnonzero(binary.any(axis=1)), np.flatnonzero(binary.any(axis=0))
        if not len(rows):
            continue
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        out.append(Detection(int(y0), int(x0), np.array(prob[y0:y1, x0:x1], np.float32),
                             float(score), int(label)))
    return out


def _shared(a: tuple[int, int, int, int], b: tuple[int, int, int, int]):
    y0, x0 = max(a[0], b[0]), max(a[1], b[1])
    y1, x1 = min(a[2], b[2]), min(a[3], b[3])
    return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None


def _binary_in(det: Detection, region: tuple[int, int, int, int], threshold: float) -> np.ndarray:
    """``det``'s binary mask over ``region`` (zeros where the box does not reach)."""
    y0, x0, y1, x1 = region
    out = np.zeros((y1 - y0, x1 - x0), bool)
    sy0, sx0 = max(det.y0, y0), max(det.x0, x0)
    sy1, sx1 = min(det.y1, y1), min(det.x1, x1)
    if sy0 < sy1 and sx0 < sx1:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = (
            det.prob[sy0 - det.y0 : sy1 - det.y0, sx0 - det.x0 : sx1 - det.x0] >= threshold
        )
    return out


def same_object(a: Detection, b: Detection, mask_threshold: float, min_overlap: float) -> bool:
    """Whether two detections from overlapping tiles are one object (see module docstring)."""
    if a.label != b.label or a.tile is None or b.tile is None or a.tile == b.tile:
        return False
    shared = _shared(a.tile, b.tile)
    box = _shared((a.y0, a.x0, a.y1, a.x1), (b.y0, b.x0, b.y1, b.x1))
    if shared is None or box is None:
        return False
    ma, mb = _binary_in(a, shared, mask_threshold), _binary_in(b, shared, mask_threshold)
    smaller = min(int(ma.sum()), int(mb.sum()))
    return smaller > 0 and int((ma & mb).sum()) >= min_overlap * smaller


def _union(group: Sequence[Detection]) -> Detection:
    y0, x0 = min(d.y0 for d in group), min(d.x0 for d in group)
    y1, x1 = max(d.y1 for d in group), max(d.x1 for d in group)
    prob = np.zeros((y1 - y0, x1 - x0), np.float32)
    for d in group:
        view = prob[d.y0 - y0 : d.y1 - y0, d.x0 - x0 : d.x1 - x0]
        np.maximum(view, d.prob, out=view)
    best = max(group, key=lambda d: d.score)
    return Detection(y0, x0, prob, best.score, best.label, None)


def merge_across_seams(
    detections: Sequence[Detection], mask_threshold: float = 0.5, min_overlap: float = 0.5
) -> list[Detection]:
    """Merge detections of one object found in several overlapping tiles.

    Only detections of tiles that overlap each other are compared, box against box
    first, so the cost grows with the number of tiles, not its square.
    """
    by_tile: dict[tuple[int, int, int, int], list[int]] = defaultdict(list)
    for i, det in enumerate(detections):
        by_tile[det.tile].append(i)  # type: ignore[index]
    parent = list(range(len(detections)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tiles = sorted(t for t in by_tile if t is not None)
    for k, ta in enumerate(tiles):
        for tb in tiles[k + 1 :]:
            if tb[0] >= ta[2]:  # sorted by y0: no later tile reaches back up into ta
                break
            if _shared(ta, tb) is None:
                continue
            for i in by_tile[ta]:
                for j in by_tile[tb]:
                    if find(i) != find(j) and same_object(
                        detections[i], detections[j], mask_threshold, min_overlap
                    ):
                        parent[find(j)] = find(i)
    groups: dict[int, list[Detection]] = defaultdict(list)
    for i, det in enumerate(detections):
        groups[find(i)].append(det)
    return [group[0] if len(group) == 1 else _union(group) for group in groups.values()]


def paint_instances(
    detections: Sequence[Detection], shape: tuple[int, int], mask_threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, Instances]:
    """``(class mask uint8, confidence float32, Instances)`` of detections in an image.

    Instance ids run by descending score (1 = most confident). Confidence is the owning
    object's score on its pixels and ``1 - max(score x mask probability)`` elsewhere.
    """
    order = sorted(range(len(detections)), key=lambda i: -detections[i].score)
    labels = np.zeros(shape, np.int32)
    peak = np.zeros(shape, np.float32)
    for rank in reversed(range(len(order))):
        det = detections[order[rank]]
        view = labels[det.y0 : det.y1, det.x0 : det.x1]
        view[det.prob >= mask_threshold] = rank + 1
        p = peak[det.y0 : det.y1, det.x0 : det.x1]
        np.maximum(p, det.prob * det.score, out=p)
    visible = np.bincount(labels.ravel(), minlength=len(order) + 1)[1:]
    keep = np.flatnonzero(visible > 0)
    lut = np.zeros(len(order) + 1, np.int32)
    lut[keep + 1] = np.arange(1, len(keep) + 1, dtype=np.int32)
    labels = lut[labels]
    kept = [detections[order[i]] for i in keep]
    classes = np.array([d.label for d in kept], np.int64)
    scores = np.array([d.score for d in kept], np.float64)
    mask = np.concatenate([[0], classes]).astype(np.uint8)[labels]
    confidence = 1.0 - peak
    owned = labels > 0
    confidence[owned] = scores[labels[owned] - 1]
    return mask, confidence.astype(np.float32), Instances(labels, classes, scores)
