"""Train a segmentation model from a composed Hydra config, then evaluate it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from visionseg.core.errors import UserError
from visionseg.io.atomic import write_json, write_text
from visionseg.io.manifest import build_manifest
from visionseg.training.precision import trainer_precision
from visionseg.training.resume import (
    ResumePoint,
    clear_partial_checkpoints,
    keep_csv_history,
    resume_point,
)
from visionseg.training.time_budget import TimeBudget, budget_seconds, wants_time_budget

log = logging.getLogger(__name__)


def _build(node: Any, **kwargs: Any) -> Any:
    """``instantiate``, letting a user error raised by the target (a setting out of range)
    through as itself, not wrapped in Hydra's InstantiationException."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        cause = _user_cause(err)
        if cause is not None:
            raise cause from None
        raise


def _user_cause(err: BaseException) -> UserError | None:
    """The UserError under nested InstantiationExceptions (a loss built inside the model
    wraps twice), or None."""
    while err.__cause__ is not None:
        err = err.__cause__
        if isinstance(err, UserError):
            return err
    return None


def _instantiate_dict(cfg: DictConfig | None) -> list[Any]:
    return [_build(c) for c in (cfg or {}).values() if c is not None and "_target_" in c]


def _callbacks(cfg: DictConfig) -> list[Any]:
    """The configured callbacks; progress bars are left out when the trainer has
    ``enable_progress_bar: false`` (Lightning refuses the pair)."""
    callbacks = _instantiate_dict(cfg.get("callbacks"))
    if cfg.trainer.get("enable_progress_bar", True):
        return callbacks
    return [c for c in callbacks if not isinstance(c, ProgressBar)]


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit ``cfg.model`` on ``cfg.data`` with ``cfg.trainer``; evaluate the best checkpoint.

    Writes into ``cfg.paths.output_dir``: ``config.yaml`` (resolved), ``manifest.json``,
    ``checkpoints/{best,last}.ckpt``, logs, and the evaluation outputs (``metrics.json``,
    report). Returns the evaluation summary (its ``defect_mIoU`` is what sweeps optimise).
    """
    check_budget(cfg.trainer)  # before any folder, data or model
    budget_s = budget_seconds(cfg.trainer.get("max_time"))
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    main_process = rank_zero_only.rank == 0
    resolved = OmegaConf.to_container(cfg, resolve=True)
    L.seed_everything(cfg.seed, workers=True)
    resume = resume_point(cfg.ckpt_path) if cfg.get("ckpt_path") else None
    if main_process:
        clear_partial_checkpoints(output_dir)

    datamodule = _build(cfg.data)
    if main_process:
        write_text(output_dir / "config.yaml", OmegaConf.to_yaml(resolved))
        datamodule.prepare_data()
    datamodule.setup("fit")
    if main_process:
        data_files = [s.image for split in datamodule.splits.values() for s in split]
        manifest = build_manifest(resolved, data_files, Path(cfg.paths.root_dir))
        manifest["data_audit"] = datamodule.audit_report
        write_json(output_dir / "manifest.json", manifest)

    model = _build(cfg.model)
    callbacks = _callbacks(cfg)
    if budget_s is not None and wants_time_budget(cfg.trainer):
        callbacks.append(TimeBudget(budget_s))
    loggers = _instantiate_dict(cfg.get("logger"))
    if resume is not None and main_process:
        keep_csv_history(loggers, resume)
    precision = trainer_precision(cfg.trainer.get("precision"), cfg.trainer.get("accelerator"))
    trainer: L.Trainer = _build(cfg.trainer, callbacks=callbacks, logger=loggers or False,
                                precision=precision)

    if cfg.get("train", True):
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        check_trained(trainer, resume, cfg.trainer)

    checkpoint = _best_checkpoint(trainer, output_dir)
    summary: dict[str, Any] = {}
    if cfg.get("test", True) and trainer.is_global_zero and checkpoint is not None:
        from visionseg.training.evaluate import evaluate_checkpoint

        summary = evaluate_checkpoint(checkpoint, datamodule, cfg, output_dir)
        _store_line_reference(checkpoint, datamodule, summary, output_dir)
    if trainer.is_global_zero:
        log.info("Run directory: %s", output_dir)
        if (output_dir / "checkpoints").is_dir():  # never name a folder that is not there
            log.info("Checkpoints:   %s", output_dir / "checkpoints")
        if summary:
            log.info("Metrics:       %s (defect mIoU %.4f)", output_dir / "metrics.json",
                     summary["defect_mIoU"])
    return summary


class NothingTrainedError(UserError):
    """The run's training budget allows no optimiser step, so no checkpoint is written."""


def check_budget(trainer_cfg: Any) -> None:
    """NothingTrainedError for an explicit zero budget (``trainer.max_epochs=0`` or
    ``trainer.max_steps=0``): Lightning would return at once, exit 0 and write nothing.
    ``-1`` and ``null`` keep their Lightning meaning (no limit)."""
    for key in ("max_epochs", "max_steps"):
        if trainer_cfg.get(key) == 0:
            raise NothingTrainedError(f"trainer.{key}=0: nothing would be trained; give a "
                                      "budget of at least 1 (or -1 / null for no limit)")


def check_trained(trainer: L.Trainer, resume: ResumePoint | None, trainer_cfg: Any) -> None:
    """NothingTrainedError when ``fit`` took no optimiser step, typically a run resumed
    from a checkpoint that already reached ``trainer.max_epochs`` / ``max_steps``
    (Lightning returns at once, exits 0 and writes no checkpoint into a new folder)."""
    start = resume.global_step if resume is not None else 0
    if trainer.global_step > start:
        return
    budget = (f"trainer.max_epochs={trainer_cfg.get('max_epochs')}, "
              f"trainer.max_steps={trainer_cfg.get('max_steps')}")
    if resume is not None:
        reason = (f"ckpt_path={resume.path} is at step {start} (epoch {resume.epoch}), which "
                  f"already reaches {budget}; raise them to train on")
    else:
        reason = f"the trainer took no optimiser step ({budget})"
    raise NothingTrainedError(f"nothing was trained: {reason}")


def _best_checkpoint(trainer: L.Trainer, output_dir: Path) -> Path | None:
    callback = trainer.checkpoint_callback
    best = getattr(callback, "best_model_path", "") if callback else ""
    for candidate in (
        best,
        output_dir / "checkpoints" / "best.ckpt",
        output_dir / "checkpoints" / "last.ckpt",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _store_line_reference(
    checkpoint: Path, datamodule: Any, summary: dict[str, Any], output_dir: Path
) -> None:
    """Store the drift reference (train images) and expected NG rate (the evaluation) in
    the evaluated and the last checkpoint, for line monitoring (visionseg.monitor)."""
    from visionseg.core.errors import UserError
    from visionseg.monitor.stored import store_line_reference

    targets = {p.resolve(): p for p in (checkpoint, output_dir / "checkpoints" / "last.ckpt")
               if p.is_file()}
    try:
        store_line_reference(list(targets.values()),
                             [s.image for s in datamodule.splits["train"]], summary, output_dir,
                             getattr(datamodule, "scale16", None))
    except (UserError, OSError) as err:  # the trained model stays usable without it
        log.warning("no line reference stored: %s", err)
