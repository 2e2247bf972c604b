"""Class-balanced drawing of training images.

Real inspection sets are mostly good parts, and the few defective images are spread
unevenly over the defect classes (magnetic tile: 952 good images, 32 of fray, 57 of
crack). Drawn uniformly, a batch is mostly background and a rare class is seen once in
dozens of steps; the network settles on the class priors. ``BalancedSampler`` draws each
defect class equally often (an image counts for every class it holds) and good images
with a share of their own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

from visionseg.core.checks import check_fraction


def class_presence(mask: np.ndarray, num_classes: int) -> frozenset[int]:
    """The defect class ids (1..num_classes-1) a mask holds."""
    counts = np.bincount(mask.ravel(), minlength=256)[1:num_classes]
    return frozenset(int(i) + 1 for i in np.flatnonzero(counts))


def balanced_weights(presence: Sequence[frozenset[int]], good_share: float) -> np.ndarray:
    """Drawing probability of each image: every defect class present gets an equal share
    of ``1 - good_share``, split among the images holding it; images with no defect share
    ``good_share``. Without good (or without defective) images all the mass goes to the
    others."""
    good_share = check_fraction("data.sampler.good_share", good_share)
    classes = sorted(set().union(*presence)) if presence else []
    good = [i for i, p in enumerate(presence) if not p]
    weights = np.zeros(len(presence), dtype=np.float64)
    if not classes or not good:
        good_share = 1.0 if not classes else 0.0
    for i in good:
        weights[i] = good_share / len(good)
    for cls in classes:
        holders = [i for i, p in enumerate(presence) if cls in p]
        weights[holders] += (1.0 - good_share) / len(classes) / len(holders)
    return weights / weights.sum()


#: A training pass costs about this many validations (see :func:`auto_epoch_steps`).
VALIDATION_RATIO = 10.0


def auto_epoch_steps(val_pixels: int, batch_size: int, crop_size: int,
                     ratio: float = VALIDATION_RATIO, min_steps: int = 50,
                     max_steps: int = 2000, budget: int | None = None) -> int:
    """Steps between validations so that training costs ``ratio`` x validating.

    A forward pass costs about a third of a training step's forward and backward per
    pixel, so one validation of ``val_pixels`` costs ``val_pixels / 3`` training pixels.
    Magnetic tile (268 validation images, 28 Mpx) at batch 8 of 128 px: 712 steps. With a
    ``budget`` (the run's total steps) the passes are made equal and end on it, so the
    last pass ends within a few steps of it and is validated.
    """
    step_pixels = max(1, batch_size * crop_size * crop_size)
    steps = int(min(max_steps, max(min_steps, round(ratio * val_pixels / 3 / step_pixels))))
    if budget:
        steps = budget // max(1, round(budget / steps))
    return steps


class BalancedSampler(Sampler[int]):
    """``length`` indices a pass, drawn with replacement by ``weights`` (a dataset index
    ``i`` serves sample ``i % len(weights)``), repeatable from ``seed`` and the pass."""

    def __init__(self, weights: np.ndarray, length: int, seed: int = 0) -> None:
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.length = int(length)
        self.seed = int(seed)
        self.passes = 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.passes)
        self.passes += 1
        drawn = torch.multinomial(self.weights, self.length, replacement=True,
                                  generator=generator)
        return iter(drawn.tolist())
