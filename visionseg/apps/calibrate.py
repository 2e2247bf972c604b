"""``python evaluate.py ... calibrate.max_false_reject=0.01``: choose the part rule of each
evaluated method on another split, before the evaluation reports on its own split.

Writes into ``calibrate.output`` (default ``OUTPUT/calibration``), only once every method
met the target: ``decision/<method>.yaml`` (a ``configs/decision`` file, usable with
``python infer.py --config-dir OUTPUT/calibration decision=<method>``), ``<method>.ckpt``
for each checkpoint (the checkpoint carrying its rule: infer.py and export.py use it with
no extra flags) and ``calibration.json``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from omegaconf import DictConfig

from visionseg.calibration.choose import OperatingPoint, choose, curve, rule_text
from visionseg.calibration.grid import CalibrationError, SweepGrid, Target
from visionseg.calibration.results import MethodCalibration, PartCounts
from visionseg.calibration.store import write_calibrated_checkpoint, write_rule_yaml
from visionseg.calibration.sweep import part_confusion, sweep_split
from visionseg.core.method import Method
from visionseg.core.verdict import PartRule
from visionseg.data.folder import Sample, load_split
from visionseg.data.pairs import TrainPairs
from visionseg.io.atomic import write_json
from visionseg.registry import build_chain, names, to_plain

log = logging.getLogger(__name__)


def requested(cfg: DictConfig) -> Target | None:
    """The calibration target set in ``cfg.calibrate``, or None when none is set."""
    node = cfg.get("calibrate")
    if not node:
        return None
    return Target.from_settings(node.get("max_false_reject"), node.get("max_escape"))


def calibrate_for_evaluation(
    cfg: DictConfig,
    methods: Sequence[Method],
    classes: Sequence[str],
    rule: PartRule,
    evaluated: Sequence[Sample],
    train: Sequence[Sample] | None,
    checkpoints: Sequence[str],
) -> list[MethodCalibration]:
    """Calibrate every method (``methods[:len(checkpoints)]`` came from ``checkpoints``)
    and write the outputs; returns what each calibration found, for the report."""
    target = requested(cfg)
    assert target is not None
    node = cfg.calibrate
    split = str(node.split)
    if split == str(cfg.split):
        raise CalibrationError(
            f"calibrate.split={split} is the split being reported (split={cfg.split}): "
            "choose the rule on another split, e.g. calibrate.split=val"
        )
    grid = SweepGrid.from_dict(to_plain(node.get("grid")))
    chain_name = str(node.get("chain") or (names(cfg.chains) or ["none"])[0])
    chain = build_chain(chain_name) if chain_name != "none" else None
    samples = load_split(cfg.data.root, split, len(classes), audit=cfg.audit)
    if train is not None:
        pairs = TrainPairs(train)
        for method in methods[len(checkpoints):]:
            method.fit(pairs)
    found = []
    for method in methods:
        log.info("calibrating %s on split %s (%d images, %s)", method.name, split, len(samples),
                 target.describe())
        sweep = sweep_split(method, samples, classes, grid, rule, split, chain,
                            extra_rules=[rule])
        point = choose(sweep, grid, target, classes)
        if point.escapes == point.defective or point.false_rejects == point.good:
            log.warning("%s: the chosen rule judges every %s part %s on %s: the target "
                        "leaves no useful rule", method.name,
                        "defective" if point.escapes == point.defective else "good",
                        "OK" if point.escapes == point.defective else "NG", split)
        default_test, chosen_test = part_confusion(method, evaluated, classes,
                                                   [rule, point.rule], rule, chain)
        found.append(MethodCalibration(
            method.name, target, split, chain_name, point.rule, _counts(point),
            PartCounts.of(sweep.extra[0]), curve(sweep, grid), str(cfg.split),
            PartCounts.of(default_test), PartCounts.of(chosen_test), notes=sweep.failures[:5],
        ))
    out = Path(node.get("output") or Path(str(cfg.output)) / "calibration")
    _write(out, found, list(checkpoints), cfg)
    return found


def _counts(point: OperatingPoint) -> PartCounts:
    return PartCounts([[point.good - point.false_rejects, point.false_rejects],
                       [point.escapes, point.defective - point.escapes]])


def slug(name: str) -> str:
    """A method name as a file stem."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or "method"


def _write(out: Path, found: list[MethodCalibration], checkpoints: list[str],
           cfg: DictConfig) -> None:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    stems: list[str] = []
    for i, item in enumerate(found):
        stem = slug(item.method)
        stem = stem if stem not in stems else f"{stem}_{i + 1}"
        stems.append(stem)
        c = item.chosen_counts
        comment = [
            f"Part rule of {item.method} calibrated {when} on split '{item.split}' of "
            f"{cfg.data.root}",
            f"for {item.target.describe()} ({item.target.setting}):",
            f"false rejects {c.false_rejects}/{c.good}, escapes {c.escapes}/{c.defective}.",
        ]
        item.rule_file = str(write_rule_yaml(out / "decision" / f"{stem}.yaml", item.chosen,
                                             comment))
        if i < len(checkpoints):
            provenance = {"target": item.target.kind, "rate": item.target.rate,
                          "split": item.split, "data_root": str(cfg.data.root),
                          "chain": item.chain, "counts": c.matrix, "date": when,
                          "source": str(checkpoints[i])}
            item.checkpoint = str(write_calibrated_checkpoint(
                checkpoints[i], out / f"{stem}.ckpt", item.chosen, provenance))
        log.info("%s: %s -> %s", item.method, rule_text(item.chosen),
                 item.checkpoint or item.rule_file)
    write_json(out / "calibration.json", [m.to_dict() for m in found])
