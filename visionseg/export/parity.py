"""Parity of an exported model with the torch path, checked at export time.

The torch side is what infer.py runs for a checkpoint (``SegmenterMethod.probabilities``,
then the rule's pixel thresholds); the exported side is the whole graph under ONNX
Runtime. Images: a split of the data set, or generated ones, each cropped to at most one
tile, run in same-size batches, plus one odd-sized crop so that padding to the encoder's
stride is exercised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from visionseg.core.prediction import Prediction
from visionseg.export.errors import ExportError
from visionseg.export.metadata import Parity

log = logging.getLogger(__name__)

#: Documented default bounds (configs/export.yaml parity.*).
MAX_PROB_DIFF = 1e-3
MIN_AGREEMENT = 0.999


def parity_images(root: str | None, split: str, count: int, side: int,
                  seed: int = 0) -> tuple[list[np.ndarray], str]:
    """Up to ``count`` images of ``ROOT/split/images`` (or generated ones when there are
    none), each cropped to at most ``side`` pixels, plus one odd-sized crop."""
    from visionseg.io.images import read_image

    folder = Path(root) / split / "images" if root else None
    if folder is not None and folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        images = [read_image(p) for p in files[:count]]
        source = f"split '{split}' of {root}"
    else:
        from visionseg.data.synthetic import make_sample

        rng = np.random.default_rng(seed)
        images = [make_sample(rng, min(side, 256), p_good=0.0)[0] for _ in range(count)]
        source = "generated images"
    if not images:
        raise ExportError(f"{folder}: no images to check parity on")
    images = [im[: min(side, im.shape[0]), : min(side, im.shape[1])] for im in images]
    first = images[0]
    odd = first[: max(16, first.shape[0] - 11), : max(16, first.shape[1] - 5)]
    return [*images, np.ascontiguousarray(odd)], source


def check_parity(
    torch_probs: Callable[[np.ndarray], np.ndarray],
    exported: Callable[[np.ndarray], Mapping[str, np.ndarray]],
    images: Sequence[np.ndarray],
    thresholds: Mapping[int, float],
    source: str,
    max_prob_diff: float = MAX_PROB_DIFF,
    min_agreement: float = MIN_AGREEMENT,
) -> Parity:
    """Run both sides on the same batches; ExportError when a bound is not met."""
    groups: dict[tuple[int, ...], list[np.ndarray]] = {}
    for image in images:
        groups.setdefault(image.shape, []).append(image)
    worst, agree, total = 0.0, 0, 0
    for shape, group in groups.items():
        batch = np.stack(group)
        reference = torch_probs(batch)
        out = exported(batch)
        if out["probs"].shape != reference.shape:
            raise ExportError(f"exported model answers {out['probs'].shape} for a batch of "
                              f"{batch.shape}, torch {reference.shape}: its sizes are not dynamic")
        worst = max(worst, float(np.abs(out["probs"] - reference).max()))
        for probs, mask in zip(reference, out["mask"], strict=True):
            expected = Prediction.from_probs_thresholded(probs, dict(thresholds)).mask
            agree += int((expected == mask).sum())
            total += mask.size
        log.info("parity on %d image(s) of %dx%d: max |dp| so far %.2e", len(group), shape[1],
                 shape[0], worst)
    parity = Parity(len(images), sorted({f"{s[1]}x{s[0]}" for s in groups}), worst,
                    agree / max(total, 1), max_prob_diff, min_agreement, source)
    if not np.isfinite(worst) or worst > max_prob_diff or parity.mask_agreement < min_agreement:
        raise ExportError(
            f"exported model disagrees with the torch model on {source}: max probability "
            f"difference {worst:.2e} (bound {max_prob_diff:g}), mask agreement "
            f"{parity.mask_agreement:.5f} (bound {min_agreement:g}); nothing was written"
        )
    return parity
