"""Learning-rate schedule for detectors trained from scratch: linear warm-up, cosine decay.

Mask R-CNN from random weights diverges when the first steps run at full learning rate;
a short linear warm-up avoids that, and the cosine decay settles the end of training.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine(
    optimizer: Optimizer,
    total_steps: int | None = None,
    warmup_steps: int = 100,
    min_factor: float = 0.05,
) -> LambdaLR:
    """Per-step factor: ``(step + 1) / warmup_steps`` during warm-up, then a cosine from 1 to
    ``min_factor`` at ``total_steps`` (constant 1 after warm-up when ``total_steps`` is None)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if not total_steps or total_steps <= warmup_steps:
            return 1.0
        progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
        return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)
