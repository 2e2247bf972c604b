"""What ``python evaluate.py`` does with its composed config (evaluate.py stays a thin shell).

Baselines and post-processing chains are named in the config and built by
:mod:`visionseg.registry` from ``configs/method/<name>.yaml`` and
``configs/postprocess/<name>.yaml``; ``a+b`` names one chain running ``a`` then ``b``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from visionseg.core.method import Method
from visionseg.data.folder import DatasetError, Sample, load_split
from visionseg.data.instances import InstanceTargets
from visionseg.evaluation.errors import EvaluationError
from visionseg.evaluation.pipeline import evaluate_and_report
from visionseg.evaluation.runner import PostProcess
from visionseg.evaluation.settings import EvalSettings
from visionseg.io.images import ImageReadError
from visionseg.registry import ConfigError, build_baseline, build_chain

log = logging.getLogger(__name__)

EXIT_USER_ERROR = 2


def names(value: Any) -> list[str]:
    """A config value that may be null, one name, or a list of names, as a list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def build_baselines(baseline_names: Sequence[str], classes: Sequence[str]) -> list[Method]:
    """One Method per ``configs/method/<name>.yaml``, for ``classes``; named after the file
    unless the config names it."""
    methods = []
    for name in baseline_names:
        try:
            method = build_baseline(name, list(classes))
        except ConfigError:
            raise
        except Exception as err:  # noqa: BLE001 - reported as a config problem
            raise EvaluationError(f"baseline '{name}' cannot be built: {_root_cause(err)}") from err
        if not getattr(method, "name", None) or method.name == "method":
            method.name = name
        methods.append(method)
    return methods


def build_chains(chain_names: Sequence[str]) -> dict[str, PostProcess]:
    """``{name: chain}``; a name ``a+b`` is the steps of ``a`` then those of ``b``."""
    chains: dict[str, PostProcess] = {}
    for chain_name in chain_names:
        try:
            chains[chain_name] = build_chain(chain_name.split("+"))
        except ConfigError:
            raise
        except Exception as err:  # noqa: BLE001 - reported as a config problem
            raise EvaluationError(
                f"post-processing '{chain_name}' cannot be built: {_root_cause(err)}"
            ) from err
    return chains


def load_checkpoints(paths: Sequence[str], device: str) -> list[Method]:
    methods = []
    for path in paths:
        if not Path(path).is_file():
            raise EvaluationError(f"{path}: checkpoint file not found")
        try:
            from visionseg.models.checkpoint import load_method
        except ImportError as err:
            raise EvaluationError(f"checkpoints cannot be loaded here: {err}") from err
        try:
            methods.append(load_method(str(path), device=device))
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            text = str(err)
            if str(path) not in text:
                text = f"{path}: cannot be loaded as a checkpoint: {text}"
            raise EvaluationError(text) from err
    return methods


def _root_cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return f"{type(err).__name__}: {err}"


def _classes(cfg: DictConfig, checkpoints: list[Method]) -> list[str]:
    classes = [str(c) for c in cfg.data.classes]
    if not checkpoints:
        return classes
    ckpt_classes = [list(m.classes) for m in checkpoints]
    if any(c != ckpt_classes[0] for c in ckpt_classes):
        raise EvaluationError(f"the checkpoints were trained on different classes: {ckpt_classes}")
    if ckpt_classes[0] != classes:
        log.info("using the checkpoint's classes %s", ckpt_classes[0])
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
        settings = EvalSettings.from_any(OmegaConf.to_container(cfg.settings, resolve=True))
        checkpoints = load_checkpoints(names(cfg.ckpt), str(cfg.device))
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
        results = evaluate_and_report(
            methods,
            samples,
            classes,
            cfg.output,
            chains=chains,
            settings=settings,
            train_samples=train,
            title=cfg.get("title"),
            context={
                "split": str(cfg.split),
                "data_root": str(cfg.data.root),
                "train_split": str(cfg.train_split) if train is not None else None,
                "checkpoints": names(cfg.ckpt),
                "config": OmegaConf.to_container(cfg, resolve=True),
            },
        )
    except (DatasetError, ImageReadError, EvaluationError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    _print_ranking(results.ranking(), cfg.output)
    return 0


def _print_ranking(ranking: list[dict], output: str) -> None:
    print(f"{'method':<24} {'chain':<20} {'mIoU':>6} {'dRecall':>7} {'imgF1':>6} {'ms/img':>8}")
    for r in ranking:
        print(f"{r['method'][:24]:<24} {r['chain'][:20]:<20} {r['mIoU']:>6.3f} "
              f"{r['defect_recall']:>7.3f} {r['image_f1']:>6.3f} {r['ms_per_image']:>8.1f}")
    print(f"report: {Path(output) / 'report.html'}")
