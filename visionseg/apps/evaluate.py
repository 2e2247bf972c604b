"""What ``python evaluate.py`` does with its composed config (evaluate.py stays a thin shell).

Checkpoints and exports (``ckpt=``) come through the one loader; baselines and
post-processing chains are named in the config and built by :mod:`visionseg.registry`. The
figure settings and the tiles come from the shared ``metrics/`` and ``tile/`` nodes; the part
rule is the one a calibrated model carries unless ``decision.*`` is set on the command line
(else the ``decision/`` node).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from visionseg.apps.calibrate import calibrate_for_evaluation, requested
from visionseg.calibration.results import MethodCalibration
from visionseg.core.errors import ConfigError, UserError, report_user_error
from visionseg.core.method import Method
from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import PartRule
from visionseg.data.folder import DatasetError, Sample, load_split
from visionseg.data.instances import InstanceTargets
from visionseg.evaluation.entry import Headline
from visionseg.evaluation.errors import EvaluationError
from visionseg.evaluation.settings import EvalSettings
from visionseg.export.loader import LoadedModel, load, rule_for_run
from visionseg.io.atomic import remove_partial_files
from visionseg.io.writable import check_writable_dir
from visionseg.registry import build_baselines, build_chains, names, to_plain
from visionseg.report.pipeline import evaluate_and_report

log = logging.getLogger(__name__)


def check_output(output: str | os.PathLike) -> None:
    """Raise a user error naming ``output`` unless the folder could be written; creates
    nothing (:func:`visionseg.io.writable.check_writable_dir`)."""
    check_writable_dir(output, "output")


def clear_partial_outputs(output: str | os.PathLike) -> None:
    """Remove the temporary ``.NAME.<random>.part`` files that an evaluation killed with
    ``kill -9`` left in ``output`` (and its subfolders), before this run writes there;
    nothing else would ever remove them."""
    for leftover in remove_partial_files(Path(output).expanduser(), recursive=True):
        log.info("removed %s, left by an interrupted run", leftover)


def load_models(paths: Sequence[str], device: str, tile: TileSettings | None = None,
                batch_size: int = 4) -> list[LoadedModel]:
    """Each ``ckpt=`` path (a checkpoint, a ``model.onnx`` or an export folder) through the
    one loader, with the card it carries."""
    tile = tile or TileSettings()
    return [load(str(path), device=device, **tile.method_kwargs(),
                 batch_size=batch_size) for path in paths]


def _classes(cfg: DictConfig, checkpoints: list[Method]) -> list[str]:
    """``data.classes``; with checkpoints they must predict the same names, unless
    ``data.classes=null`` asks for the checkpoints' own."""
    declared = None if cfg.data.classes is None else [str(c) for c in cfg.data.classes]
    if not checkpoints:
        if declared is None:
            raise ConfigError("data.classes=null takes the checkpoint's classes, but no ckpt "
                              "is given: name the classes in data.classes")
        return declared
    ckpt_classes = [list(m.classes) for m in checkpoints]
    if any(c != ckpt_classes[0] for c in ckpt_classes):
        raise EvaluationError(f"the checkpoints were trained on different classes: {ckpt_classes}")
    if declared is not None and ckpt_classes[0] != declared:
        raise EvaluationError(
            f"the checkpoint predicts classes {ckpt_classes[0]}, data.classes is {declared}: "
            "set data.classes to the data's class names, or data.classes=null to take the "
            "checkpoint's"
        )
    return ckpt_classes[0]


def _train_samples(cfg: DictConfig, num_classes: int) -> list[Sample] | None:
    split = cfg.get("train_split")
    if not split:
        return None
    if split == cfg.split:
        log.warning("train_split equals the evaluated split: baselines are not fitted")
        return None
    if not (Path(cfg.data.root) / split / "images").is_dir():
        log.info("no %s split under %s: baselines use their unsupervised rules", split,
                 cfg.data.root)
        return None
    return load_split(cfg.data.root, split, num_classes, audit=cfg.audit)


def run(cfg: DictConfig) -> int:
    """Evaluate as configured and write the outputs; returns the process exit code."""
    try:
        check_output(cfg.output)
        clear_partial_outputs(cfg.output)
        settings = EvalSettings.from_any(to_plain(cfg.metrics))
        configured = PartRule.from_dict(to_plain(cfg.decision))
        tile = TileSettings.from_dict(to_plain(cfg.tile))
        loaded = load_models(names(cfg.ckpt), str(cfg.device), tile, cfg.batch_size)
        rule = rule_for_run(loaded, configured).rule  # a calibrated model's rule scores it
        checkpoints = [model.method for model in loaded]
        classes = _classes(cfg, checkpoints)
        samples = load_split(cfg.data.root, cfg.split, len(classes), audit=cfg.audit)
        samples, problems = InstanceTargets(classes).attach(samples, audit=cfg.audit)
        if problems:
            raise DatasetError(
                f"{cfg.data.root}: {len(problems)} instance annotation problem(s)", problems
            )
        train = _train_samples(cfg, len(classes))
        methods = checkpoints + build_baselines(names(cfg.baselines), classes)
        if not methods:
            raise EvaluationError("nothing to evaluate: give ckpt=PATH and/or baselines=[...]")
        chains = build_chains(names(cfg.chains) or ["none"])
        calibration: list[MethodCalibration] = []
        if requested(cfg) is not None:  # calibrate.max_false_reject / max_escape (docs/line.md)
            calibration = calibrate_for_evaluation(cfg, methods, classes, rule, samples, train,
                                                   names(cfg.ckpt))
        results = evaluate_and_report(
            methods,
            samples,
            classes,
            cfg.output,
            chains=chains,
            settings=settings,
            train_samples=train,
            title=cfg.get("title"),
            rule=rule,
            context={
                "split": str(cfg.split),
                "data_root": str(cfg.data.root),
                "train_split": str(cfg.train_split) if train is not None else None,
                "checkpoints": names(cfg.ckpt),
                "config": OmegaConf.to_container(cfg, resolve=True),
            },
            calibrations=calibration or (),
        )
    except UserError as err:
        return report_user_error(err)
    _print_ranking(results.ranking(), cfg.output)
    return 0


def _print_ranking(ranking: list[Headline], output: str) -> None:
    """The ranking on the console: defect mIoU (background left out) beside the all-class one."""
    print(f"{'method':<24} {'chain':<20} {'defect mIoU':>11} {'mIoU(all)':>9} {'dRecall':>7} "
          f"{'imgF1':>6} {'ms/img':>8}")
    for h in ranking:
        print(f"{h.method[:24]:<24} {h.chain[:20]:<20} {h.defect_miou:>11.3f} "
              f"{h.miou_all:>9.3f} {h.defect_recall:>7.3f} {h.image_f1:>6.3f} "
              f"{h.ms_per_image:>8.1f}")
    print(f"report: {Path(output) / 'report.html'}")
