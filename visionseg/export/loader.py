"""Load a checkpoint or an exported model by path, with the part rule it carries.

``*.onnx`` (or a folder holding ``model.onnx``) runs with ONNX Runtime; anything else is a
checkpoint, whose loader (and with it Lightning and smp) is imported only then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visionseg.core.errors import ConfigError
from visionseg.core.method import Method
from visionseg.core.verdict import PartRule
from visionseg.export.metadata import MODEL_FILE


@dataclass
class LoadedModel:
    """A model as a Method, the rule it carries (None = not calibrated) and what carried it."""

    method: Method
    rule: PartRule | None
    carrier: str


def exported_model(path: str | os.PathLike) -> Path | None:
    """The ``model.onnx`` that ``path`` names (the file or its folder), else None."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return path
    if path.is_dir() and (path / MODEL_FILE).is_file():
        return path / MODEL_FILE
    return None


def load_model(path: str | os.PathLike, device: str = "auto", tile_size: int | None = 512,
               tile_overlap: int = 64, batch_size: int = 4, **overrides: Any) -> LoadedModel:
    """The model at ``path`` (checkpoint or export) ready for infer.py; ``overrides`` go to a
    checkpoint's Method (e.g. Mask R-CNN's ``score_threshold``)."""
    onnx = exported_model(path)
    if onnx is not None:
        from visionseg.export.runtime import OnnxMethod

        for key, value in overrides.items():  # an export runs as exported: nothing to set
            raise ConfigError(f"{key}={value}: does not apply to the exported model {onnx}; "
                              "leave it unset for this model")

        method = OnnxMethod(onnx, device=device, tile_size=tile_size,
                            tile_overlap=tile_overlap, batch_size=batch_size)
        rule = PartRule.from_dict(method.metadata.decision)
        return LoadedModel(method, rule, f"the export {onnx}")
    from visionseg.models.checkpoint import carried_rule, load_method

    method = load_method(path, device=device, tile_size=tile_size, tile_overlap=tile_overlap,
                         batch_size=batch_size, **overrides)
    return LoadedModel(method, carried_rule(path), f"the checkpoint {path}")
