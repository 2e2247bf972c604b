"""Gallery images: the best, median and worst image of the best (method, chain) pair.

Images are ranked by that pair's per-image defect mIoU (images with no defect on either side
have none and are not candidates). The chosen images are predicted again by every method
and chain, and only small thumbnails are kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from visionseg.data.folder import Sample
from visionseg.evaluation.entry import ImageRow
from visionseg.evaluation.predictions import copy_prediction
from visionseg.evaluation.results import GalleryItem, GalleryPanel
from visionseg.io.images import ImageReadError, read_image, read_mask
from visionseg.io.scale16 import reading_policy

if TYPE_CHECKING:
    from visionseg.core.method import Method
    from visionseg.evaluation.results import EvalResults


def pick_images(rows: Sequence[ImageRow], method: str, chain: str) -> list[tuple[str, str, float]]:
    """``(label, image, score)`` for the best, median and worst image of one pair."""
    scored = [
        (r.defect_miou, r.image)
        for r in rows
        if r.method == method and r.chain == chain and not math.isnan(r.defect_miou)
    ]
    if not scored:
        return []
    scored.sort(key=lambda t: (-t[0], t[1]))
    picks = [("best", scored[0]), ("median", scored[len(scored) // 2]), ("worst", scored[-1])]
    chosen, seen = [], set()
    for label, (score, image) in picks:
        if image not in seen:
            seen.add(image)
            chosen.append((label, image, float(score)))
    return chosen


def thumbnail(array: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    """Shrink so the longer side is at most ``size`` pixels (never enlarges)."""
    h, w = array.shape[:2]
    scale = size / max(h, w)
    if scale >= 1:
        return array.copy()
    dsize = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(array, dsize, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def build_gallery(
    results: EvalResults,
    methods: Sequence[tuple[str, Method]],
    chains: Mapping[str, object],
    samples: Sequence[Sample],
) -> list[GalleryItem]:
    best = results.best()
    if best is None:
        return []
    by_name = {s.name: s for s in samples}
    scores = {(r.image, r.method, r.chain): r.defect_miou for r in results.per_image}
    size = results.settings.gallery_size
    scale16 = reading_policy([method for _, method in methods])
    items = []
    for label, name, score in pick_images(results.per_image, best.method, best.chain):
        sample = by_name[name]
        try:
            image, gt = read_image(sample.image, scale16), read_mask(sample.mask)
        except ImageReadError:
            continue
        item = GalleryItem(label, name, score, thumbnail(image, size, False),
                           thumbnail(gt, size, True))
        for method_name, method in methods:
            try:
                raw = method.predict(image)
            except Exception:  # noqa: BLE001 - recorded during the evaluation pass
                raw = None
            for chain_name, chain in chains.items():
                mask = None
                if raw is not None:
                    try:
                        mask = thumbnail(chain(image, copy_prediction(raw)).mask, size, True)
                    except Exception:  # noqa: BLE001 - recorded during the evaluation pass
                        mask = None
                miou = scores.get((name, method_name, chain_name), float("nan"))
                item.panels.append(GalleryPanel(method_name, chain_name, mask, miou))
        items.append(item)
    return items
