"""A small synthetic split with known probabilities, and a method that reads them back.

Each image encodes class probabilities in its pixels (red = P(scratch), green = P(spot)),
so predictions are exact and every rule's decision can be counted by brute force.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from visionseg.core.method import Method
from visionseg.core.prediction import Prediction
from visionseg.data.folder import Sample
from visionseg.io.images import write_png

CLASSES = ["background", "scratch", "spot"]


class EncodedProbs(Method):
    """Probabilities straight from the image; ``hard=True`` gives the argmax mask only."""

    def __init__(self, hard: bool = False, empty: bool = False, classes=CLASSES) -> None:
        self.classes = list(classes)
        self.name = "hard" if hard else "encoded"
        self.hard = hard
        self.empty = empty

    def predict(self, image: np.ndarray) -> Prediction:
        p1 = image[..., 0].astype(np.float32) / 255.0
        p2 = image[..., 1].astype(np.float32) / 255.0
        probs = np.stack([1.0 - p1 - p2, p1, p2])
        if self.empty:
            probs = np.zeros_like(probs)
            probs[0] = 1.0
        pred = Prediction.from_probs(probs)
        return Prediction(pred.mask) if self.hard else pred


def make_split(root: Path, count: int = 16, size: int = 24, seed: int = 0,
               p_good: float = 0.4) -> list[Sample]:
    """``count`` images with blobs of random size, class and probability; the ground truth
    holds the blobs drawn as real (some real ones faint, some strong ones false)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(count):
        image = np.zeros((size, size, 3), np.uint8)
        mask = np.zeros((size, size), np.uint8)
        image[..., 0] = rng.integers(0, 60, (size, size))  # background noise in P(scratch)
        defective = rng.random() >= p_good
        for _ in range(int(rng.integers(1, 4))):
            h, w = (int(v) for v in rng.integers(1, 8, 2))
            y, x = (int(v) for v in rng.integers(0, size - 8, 2))
            channel = int(rng.integers(0, 2))
            real = defective and rng.random() < 0.7
            level = int(rng.integers(70, 250)) if real or rng.random() < 0.5 else 100
            image[y : y + h, x : x + w] = 0
            image[y : y + h, x : x + w, channel] = level
            if real:
                mask[y : y + h, x : x + w] = channel + 1
        if i % 5 == 0:
            mask[:2, :] = 255  # an ignored band: left out of the decision
        name = f"s{i:02d}"
        write_png(root / "images" / f"{name}.png", image)
        write_png(root / "masks" / f"{name}.png", mask, rgb=False)
        samples.append(Sample(name, root / "images" / f"{name}.png",
                              root / "masks" / f"{name}.png"))
    return samples
