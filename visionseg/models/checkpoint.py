"""Checkpoints: atomic saving, and loading any visionseg checkpoint as a :class:`Method`.

A checkpoint names the LightningModule class that wrote it (``checkpoint["visionseg"]
["module"]``); that class's ``method_from_checkpoint`` rebuilds the network without
downloading anything, so infer.py and evaluate.py need only the path.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from visionseg.core.errors import ConfigError, UserError
from visionseg.core.method import Method
from visionseg.core.verdict import PartRule
from visionseg.io.atomic import atomic_path
from visionseg.io.scale16 import Scale16


class CheckpointError(UserError):
    """A checkpoint that is missing or not a visionseg checkpoint; one clear sentence."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes to a temporary file and renames it into place,
    so a run killed mid-save never leaves a truncated ``best.ckpt``/``last.ckpt``."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None
    ) -> None:
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint on CPU with weights-only unpickling; CheckpointError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(err).__name__}); the file may be "
            "truncated or not a visionseg checkpoint"
        ) from err
    if not isinstance(checkpoint, dict) or "visionseg" not in checkpoint:
        raise CheckpointError(
            f"{path}: not a visionseg checkpoint (it lacks the 'visionseg' section that "
            "train.py writes)"
        )
    return checkpoint


#: Model classes of checkpoints written before the models/ layout moved.
MOVED_MODULES = {
    "visionseg.models.module.SegmentationModule": "visionseg.models.smp.module.SegmentationModule",
}


def load_method(path: str | os.PathLike, device: str = "auto", **overrides: Any) -> Method:
    """A trained checkpoint as a Method named after its file; ``overrides`` go to the Method
    (``tile_size``, ``tile_overlap``, ``batch_size``, ``name``, ...). The Method's
    ``scale16`` says how its training images were read (:func:`stored_scale16`)."""
    checkpoint = read_checkpoint(path)
    module_path = checkpoint["visionseg"]["module"]
    module_path = MOVED_MODULES.get(module_path, module_path)
    module_name, _, class_name = module_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise CheckpointError(f"{path}: written by unknown model class {module_path}") from err
    reject_inapplicable(cls, overrides, path)
    overrides.setdefault("name", _default_name(Path(path)))
    try:
        method = cls.method_from_checkpoint(checkpoint, device=device, **overrides)
    except RuntimeError as err:
        if "state_dict" in str(err) or "size mismatch" in str(err):
            raise CheckpointError(f"{path}: weights do not fit the model it describes") from err
        raise
    method.scale16 = stored_scale16(checkpoint)
    return method


def reject_inapplicable(cls: type, overrides: dict[str, Any], path: str | os.PathLike) -> None:
    """ConfigError naming a setting given for a model it does not apply to
    (``score_threshold`` for a U-Net checkpoint), instead of a TypeError deep in the
    Method's constructor; the settings a model takes are its ``method_class``'s parameters."""
    method_class = getattr(cls, "method_class", None)
    if method_class is None:
        return
    params = inspect.signature(method_class).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for key, value in overrides.items():
        if key not in params:
            raise ConfigError(f"{key}={value}: does not apply to {path}, a "
                              f"{cls.__name__} checkpoint ({method_class.__name__} has no "
                              f"such setting); leave it unset for this model")


def stored_scale16(checkpoint: dict[str, Any]) -> Scale16:
    """How the checkpoint's training images were read from 16-bit files: its stored
    ``image16``; ``full`` (0..65535) for checkpoints written before the policy existed."""
    value = checkpoint["visionseg"].get("image16")
    return Scale16.from_dict(value) if value else Scale16("full")


def carried_rule(path: str | os.PathLike) -> PartRule | None:
    """The part rule a (calibrated) checkpoint carries in ``visionseg.decision``, or None."""
    value = read_checkpoint(path)["visionseg"].get("decision")
    return PartRule.from_dict(value) if value else None


def _default_name(path: Path) -> str:
    if path.parent.name == "checkpoints" and path.parent.parent.name:
        return f"{path.parent.parent.name}/{path.stem}"
    return path.stem


#: Keys of the ``visionseg`` section that line monitoring reads (visionseg.monitor.reference).
DRIFT_REFERENCE_KEY = "drift_reference"
EXPECTED_NG_RATE_KEY = "expected_ng_rate"


def update_checkpoint_meta(path: str | os.PathLike, **keys: Any) -> None:
    """Add ``keys`` (plain lists, numbers, strings) to a checkpoint's ``visionseg`` section,
    rewriting the file atomically; used after training to store the line reference."""
    checkpoint = read_checkpoint(path)
    checkpoint["visionseg"].update(keys)
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
