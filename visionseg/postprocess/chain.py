"""Several post-processing steps applied in order, under one name for the report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visionseg.core.prediction import Prediction
from visionseg.postprocess.base import PostProcess


class Chain(PostProcess):
    """Apply ``steps`` in order; named ``"morphology+crf"``, or ``"none"`` when empty.

    The applied chain's name is recorded in ``meta["postprocess"]``.
    """

    def __init__(self, steps: Sequence[PostProcess] = ()) -> None:
        self.steps = list(steps)
        for step in self.steps:
            if not isinstance(step, PostProcess):
                raise TypeError(f"Chain: {step!r} is not a PostProcess step")
        self.name = "+".join(step.name for step in self.steps) or "none"

    def __call__(self, image: np.ndarray, pred: Prediction) -> Prediction:
        for step in self.steps:
            pred = step(image, pred)
        if not self.steps:
            return pred
        return pred.with_(meta={**pred.meta, "postprocess": self.name})

    def __len__(self) -> int:
        return len(self.steps)
