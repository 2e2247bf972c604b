"""What infer.py does with its config: build the method, run, report failures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from visionseg.core.method import Method
from visionseg.data.folder import list_split
from visionseg.data.pairs import TrainPairs
from visionseg.inference.inputs import expand_inputs
from visionseg.inference.runner import InferenceSettings, run_inference
from visionseg.models.checkpoint import load_method
from visionseg.registry import ConfigError, build_chain

log = logging.getLogger(__name__)


def build_method(cfg: DictConfig) -> Method:
    """The checkpoint in ``cfg.ckpt``, or the baseline named by ``cfg.method``."""
    if bool(cfg.ckpt) == bool(cfg.get("method")):
        raise ConfigError(
            "give exactly one of ckpt=PATH (a trained model) or method=NAME (a baseline)"
        )
    if cfg.ckpt:
        return load_method(
            cfg.ckpt,
            device=cfg.device,
            tile_size=cfg.tile.size,
            tile_overlap=cfg.tile.overlap,
            batch_size=cfg.batch_size,
        )
    method = instantiate(cfg.method, classes=list(cfg.classes))
    if cfg.fit_root:
        method.fit(TrainPairs(list_split(cfg.fit_root, "train")))
    return method


def infer(cfg: DictConfig) -> dict[str, Any]:
    method = build_method(cfg)
    paths = expand_inputs(list(cfg.input) if not isinstance(cfg.input, str) else cfg.input)
    chain = build_chain(list(cfg.chains)) if cfg.chains else None
    settings = InferenceSettings(
        min_defect_area=cfg.min_defect_area,
        batch_size=cfg.batch_size,
        overlays=cfg.overlays,
        overlay_alpha=cfg.overlay_alpha,
        **({"reader_threads": cfg.io_threads, "writer_threads": cfg.io_threads}
           if cfg.get("io_threads") else {}),
    )
    summary = run_inference(
        method, paths, Path(cfg.output), chain, settings, show_progress=cfg.progress
    )
    log.info(
        "%d image(s), %d NG, %d failed -> %s",
        summary["images"],
        summary["ng"],
        summary["failed"],
        cfg.output,
    )
    return summary
