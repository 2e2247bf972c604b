"""End-of-training evaluation of the best checkpoint on the test (or validation) split."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from visionseg.io.atomic import write_json
from visionseg.io.images import read_image, read_mask
from visionseg.metrics.confusion import ConfusionMatrix
from visionseg.models.checkpoint import load_method

log = logging.getLogger(__name__)


def evaluate_checkpoint(
    checkpoint: Path, datamodule: Any, settings: DictConfig, output_dir: Path
) -> dict[str, Any]:
    split = "test" if "test" in datamodule.splits else "val"
    samples = datamodule.splits[split]
    method = load_method(
        checkpoint,
        device="auto",
        tile_size=settings.tile_size,
        tile_overlap=settings.tile_overlap,
        batch_size=settings.batch_size,
    )
    confusion = ConfusionMatrix(method.num_classes)
    for sample in samples:
        image = read_image(sample.image)
        confusion.update(method.predict(image).mask, read_mask(sample.mask))
    summary = confusion.summary(method.classes)
    summary.update({"split": split, "images": len(samples), "checkpoint": str(checkpoint)})
    write_json(output_dir / "metrics.json", summary)
    return summary
