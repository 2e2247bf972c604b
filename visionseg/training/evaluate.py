"""End-of-training evaluation: the best checkpoint and the configured baselines on the test
split (validation when there is none), through the same code and the same ``metrics/``,
``decision/`` and ``tile/`` nodes as ``evaluate.py``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import PartRule
from visionseg.evaluation.settings import EvalSettings
from visionseg.export.loader import load, rule_for_run
from visionseg.registry import build_baselines, build_chains, names, to_plain
from visionseg.report.pipeline import evaluate_and_report

log = logging.getLogger(__name__)


def evaluate_checkpoint(
    checkpoint: Path, datamodule: Any, cfg: DictConfig, output_dir: Path
) -> dict[str, Any]:
    """Write report.html/.md, metrics.json/.csv, per_image.csv into ``output_dir``.

    ``cfg`` is the whole training config (its ``evaluation``, ``metrics``, ``decision`` and
    ``tile`` nodes). Returns the trained model's figures on its raw output (chain ``none``),
    with the split, image count and checkpoint path added.
    """
    split = "test" if "test" in datamodule.splits else "val"
    samples = datamodule.splits[split]
    tile = TileSettings.from_dict(to_plain(cfg.tile))
    loaded = load(checkpoint, device="auto", name="trained",
                  batch_size=cfg.evaluation.batch_size, **tile.method_kwargs())
    method = loaded.method
    baselines = build_baselines(names(cfg.evaluation.baselines), method.classes)
    chain_names = names(cfg.evaluation.chains) or ["none"]
    results = evaluate_and_report(
        [method, *baselines],
        samples,
        method.classes,
        output_dir,
        chains=build_chains(chain_names),
        settings=EvalSettings.from_any(to_plain(cfg.metrics)),
        train_samples=datamodule.splits["train"] if baselines else None,
        title=f"visionseg training run {output_dir.name}",
        context={"split": split, "data_root": str(datamodule.root), "checkpoint": str(checkpoint)},
        rule=rule_for_run([loaded], PartRule.from_dict(to_plain(cfg.decision)), False).rule,
    )
    entry = results.entry(method.name, chain_names[0])
    return {**entry.to_json(), "split": split, "images": len(samples),
            "checkpoint": str(checkpoint)}
