"""What infer.py does with its config: build the method, run, report failures."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from visionseg.core.checks import check_fraction
from visionseg.core.errors import ConfigError
from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import PartRule
from visionseg.data.folder import list_split
from visionseg.data.pairs import TrainPairs
from visionseg.export.loader import LoadedModel, load, rule_for_run
from visionseg.inference.inputs import expand_inputs
from visionseg.inference.records import InferenceSummary
from visionseg.inference.runner import InferenceSettings, run_inference
from visionseg.io.scale16 import Scale16
from visionseg.registry import build_method, chain_from_steps, to_plain

log = logging.getLogger(__name__)


def build_infer_method(cfg: DictConfig, tile: TileSettings) -> LoadedModel:
    """The checkpoint or exported model (``model.onnx``, run by ONNX Runtime; no Lightning
    or smp imported) in ``cfg.ckpt`` with the rule it carries, or the baseline chosen with
    ``method=NAME``."""
    if bool(cfg.ckpt) == bool(cfg.get("method")):
        raise ConfigError(
            "give exactly one of ckpt=PATH (a trained model) or method=NAME (a baseline)"
        )
    if cfg.ckpt:
        return load(
            cfg.ckpt,
            device=cfg.device,
            **tile.method_kwargs(),
            batch_size=cfg.batch_size,
            **({"score_threshold": cfg.score_threshold}
               if cfg.get("score_threshold") is not None else {}),
            **({"precision": str(cfg.precision)}
               if cfg.get("precision", "auto") != "auto" else {}),
        )
    method = build_method(cfg.method, list(cfg.classes), str(cfg.method.get("name", "method")))
    if cfg.fit_root:
        method.fit(TrainPairs(list_split(cfg.fit_root, "train")))
    return LoadedModel(method, None, "config")


def inference_settings(cfg: DictConfig, trained: Scale16 | None = None) -> InferenceSettings:
    """infer.py's reading and writing settings, range-checked. 16-bit images are read as
    ``image16`` says, else as the model's training images were (``trained``), else ``auto``."""
    threads = cfg.get("io_threads")
    return InferenceSettings(
        batch_size=cfg.batch_size,
        overlays=cfg.overlays,
        overlay_alpha=cfg.overlay_alpha,
        **({} if threads is None else {"reader_threads": threads, "writer_threads": threads}),
        scale16=Scale16.from_dict(to_plain(cfg.get("image16")), default=trained),
    )


def infer(cfg: DictConfig) -> InferenceSummary:
    """Segment ``cfg.input`` once (``infer.py watch=true`` runs ``apps.serve.watch``)."""
    tile = TileSettings.from_dict(to_plain(cfg.tile))
    rule = PartRule.from_dict(to_plain(cfg.decision))
    inference_settings(cfg)  # range checks before the (slow) model loading
    check_fraction("score_threshold", cfg.get("score_threshold"), optional=True)
    loaded = build_infer_method(cfg, tile)
    method = loaded.method
    settings = inference_settings(cfg, loaded.scale16)
    rule = rule_for_run([loaded], rule).rule
    rule.check_classes(method.classes)
    paths = expand_inputs(list(cfg.input) if not isinstance(cfg.input, str) else cfg.input)
    chain = chain_from_steps(to_plain(cfg.get("postprocess")))
    summary = run_inference(
        method, paths, Path(cfg.output), chain if len(chain) else None, settings,
        show_progress=cfg.progress, rule=rule,
    )
    log.info(
        "%d image(s), %d NG, %d failed -> %s",
        summary.images,
        summary.ng,
        summary.failed,
        cfg.output,
    )
    return summary
