"""End-of-training evaluation: the best checkpoint and the configured baselines on the test
split (validation when there is none), through the same code as ``evaluate.py``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from visionseg.evaluation import evaluate_and_report
from visionseg.evaluation.cli import build_baselines, build_chains, names
from visionseg.models.checkpoint import load_method

log = logging.getLogger(__name__)


def evaluate_checkpoint(
    checkpoint: Path, datamodule: Any, settings: DictConfig, output_dir: Path
) -> dict[str, Any]:
    """Write report.html/.md, metrics.json/.csv, per_image.csv into ``output_dir``.

    Returns the trained model's figures on its raw output (chain ``none``), with the split,
    image count and checkpoint path added.
    """
    split = "test" if "test" in datamodule.splits else "val"
    samples = datamodule.splits[split]
    method = load_method(
        checkpoint,
        device="auto",
        name="trained",
        tile_size=settings.tile_size,
        tile_overlap=settings.tile_overlap,
        batch_size=settings.batch_size,
    )
    baselines = build_baselines(names(settings.baselines), method.classes)
    chain_names = names(settings.postprocess) or ["none"]
    results = evaluate_and_report(
        [method, *baselines],
        samples,
        method.classes,
        output_dir,
        chains=build_chains(chain_names),
        settings=OmegaConf.to_container(settings.rules, resolve=True)
        if settings.get("rules")
        else None,
        train_samples=datamodule.splits["train"] if baselines else None,
        title=f"visionseg training run {output_dir.name}",
        context={"split": split, "data_root": str(datamodule.root), "checkpoint": str(checkpoint)},
    )
    entry = results.entry(method.name, chain_names[0])
    return {**entry, "split": split, "images": len(samples), "checkpoint": str(checkpoint)}
