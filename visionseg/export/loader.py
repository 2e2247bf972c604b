"""The one loader: a checkpoint, a ``model.onnx`` or an export folder as a Method and the
model card it carries, each file read once; and the one place that picks the part rule.

``*.onnx`` runs with ONNX Runtime, ``model.xml`` with OpenVINO; a folder holding
``model.onnx`` runs its OpenVINO IR when it has one and OpenVINO is installed, else its
ONNX graph with ONNX Runtime. Anything else is a checkpoint, whose loader (and with it
Lightning and smp) is imported only then.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visionseg.calibration.store import RuleChoice, choose_rule, decision_overridden
from visionseg.core.errors import ConfigError
from visionseg.core.method import Method
from visionseg.core.model_card import ModelCard
from visionseg.core.verdict import PartRule
from visionseg.export.metadata import IR_FILE, MODEL_FILE
from visionseg.io.scale16 import Scale16, card_scale16

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A model as a Method, the card it carries (None: a baseline) and what carried it."""

    method: Method
    card: ModelCard | None
    carrier: str

    @property
    def rule(self) -> PartRule | None:
        """The calibrated part rule the model carries, or None."""
        return None if self.card is None else self.card.decision

    @property
    def scale16(self) -> Scale16 | None:
        """How the model's training images were read from 16-bit files (None: a baseline)."""
        return None if self.card is None else card_scale16(self.card)


def exported_model(path: str | os.PathLike) -> Path | None:
    """The exported model file ``path`` names (``*.onnx``, ``model.xml``, or the one its
    export folder runs), else None."""
    import importlib.util

    path = Path(path)
    if path.suffix.lower() == ".onnx" or path.name == IR_FILE:
        return path
    if path.is_dir() and (path / MODEL_FILE).is_file():
        if (path / IR_FILE).is_file():
            if importlib.util.find_spec("openvino") is not None:
                return path / IR_FILE
            log.info("%s: openvino is not installed; running %s with ONNX Runtime",
                     path / IR_FILE, MODEL_FILE)
        return path / MODEL_FILE
    return None


def load(path: str | os.PathLike, device: str = "auto", tile_size: int | None = 512,
         tile_overlap: int = 64, max_whole_pixels: int | None = None,
         batch_size: int = 4, name: str | None = None,
         accept: Callable[[ModelCard, Path], None] | None = None,
         **overrides: Any) -> LoadedModel:
    """The model at ``path`` (checkpoint, ``model.onnx`` or export folder) with its card.

    ``overrides`` go to a checkpoint's Method (e.g. Mask R-CNN's ``score_threshold``); an
    export runs as exported. ``accept(card, path)`` may refuse a checkpoint by its card
    before its network is built (export.py refuses Mask R-CNN).
    """
    exported = exported_model(path)
    if exported is not None:
        for key, value in overrides.items():  # an export runs as exported: nothing to set
            raise ConfigError(f"{key}={value}: does not apply to the exported model "
                              f"{exported}; leave it unset for this model")
        tiles = {"tile_size": tile_size, "tile_overlap": tile_overlap,
                 "max_whole_pixels": max_whole_pixels, "batch_size": batch_size}
        if exported.name == IR_FILE:
            from visionseg.export.openvino_ir import OpenVinoMethod

            if device not in ("auto", "cpu"):
                raise ConfigError(f"device={device}: the OpenVINO export {exported} runs on "
                                  "the CPU here; use device=cpu, or name its model.onnx")
            method = OpenVinoMethod(exported, name=name, **tiles)
        else:
            from visionseg.export.runtime import OnnxMethod

            method = OnnxMethod(exported, name=name, device=device, **tiles)
        return LoadedModel(method, method.card, f"the export {exported}")
    from visionseg.models.checkpoint import card_of, method_from, read_checkpoint

    checkpoint = read_checkpoint(path)
    card = card_of(checkpoint, path)
    if accept is not None:
        accept(card, Path(path))
    if name is not None:
        overrides["name"] = name
    method = method_from(checkpoint, card, path, device=device, tile_size=tile_size,
                         tile_overlap=tile_overlap, max_whole_pixels=max_whole_pixels,
                         batch_size=batch_size, **overrides)
    return LoadedModel(method, card, f"the checkpoint {path}")


def rule_for_run(models: Sequence[LoadedModel], configured: PartRule,
                 overridden: bool | None = None) -> RuleChoice:
    """The one choice of the part rule, logged: the rule the models carry (they must agree),
    unless the command line sets ``decision.*`` (``overridden``; None: ask Hydra), else the
    configured ``decision`` node."""
    carried = [(m.carrier, m.rule) for m in models if m.rule is not None]
    rules = {str(rule.to_dict()) for _, rule in carried}
    overridden = decision_overridden() if overridden is None else overridden
    if len(rules) > 1 and not overridden:
        raise ConfigError(
            f"{' and '.join(c for c, _ in carried)} carry different part rules: evaluate them "
            "separately, or give one rule on the command line (decision.*=...)"
        )
    carrier = " and ".join(c for c, _ in carried)
    choice = choose_rule(carried[0][1] if carried else None, configured, overridden, carrier)
    log.info("part rule from %s: %s", choice.source, choice.rule.to_dict())
    return choice
