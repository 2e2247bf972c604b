"""Checkpoints: atomic saving, their model card, and their network as a :class:`Method`.

A checkpoint keeps its :class:`~visionseg.core.model_card.ModelCard` in its ``visionseg``
section; this module alone reads and writes that section. The card names the
LightningModule class that wrote it, whose ``method_from_checkpoint`` rebuilds the network
without downloading anything (:func:`visionseg.export.loader.load` is the one loader).
"""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from visionseg.core.errors import ConfigError, UserError
from visionseg.core.method import Method
from visionseg.core.model_card import ModelCard, Provenance
from visionseg.io.atomic import atomic_path
from visionseg.io.manifest import package_versions

#: The checkpoint section holding the model card.
CARD_KEY = "visionseg"
#: Packages whose versions a card written at training time records.
CARD_PACKAGES = ("visionseg", "torch", "torchvision", "segmentation-models-pytorch", "lightning")


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
    if not isinstance(checkpoint, dict) or CARD_KEY not in checkpoint:
        raise CheckpointError(
            f"{path}: not a visionseg checkpoint (it lacks the 'visionseg' section that "
            "train.py writes)"
        )
    return checkpoint


def card_of(checkpoint: dict[str, Any], path: str | os.PathLike) -> ModelCard:
    """The model card of a read checkpoint (ModelCardError naming a bad field and ``path``)."""
    return ModelCard.from_dict(checkpoint[CARD_KEY], str(path))


def put_card(checkpoint: dict[str, Any], card: ModelCard) -> None:
    """Store ``card`` in ``checkpoint`` (as plain data: weights-only loading reads it)."""
    checkpoint[CARD_KEY] = card.to_dict()


def module_card(module: Any, **method_settings: float) -> ModelCard:
    """The card of a LightningModule being saved: its class, classes, network config,
    training size, how its data module read 16-bit images, versions and time."""
    return ModelCard(
        module=f"{type(module).__module__}.{type(module).__qualname__}",
        classes=list(module.classes),
        net=dict(module.net.config),
        image_size=module.hparams.image_size,
        image16=_training_scale16(module),
        method_settings=dict(method_settings),
        provenance=Provenance(package_versions(CARD_PACKAGES),
                              datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
    )


def _training_scale16(module: Any) -> dict[str, Any] | None:
    """The data module's resolved ``Scale16`` (how training read 16-bit files), or None."""
    trainer = getattr(module, "_trainer", None)
    scale16 = getattr(getattr(trainer, "datamodule", None), "scale16", None)
    return scale16.to_dict() if scale16 is not None else None


def save_checkpoint(path: str | os.PathLike, card: ModelCard,
                    state_dict: dict[str, torch.Tensor]) -> Path:
    """A checkpoint of ``state_dict`` (Lightning's keys, ``net.`` prefixed) and ``card``,
    written atomically: what benchmarks and tests build without training."""
    with atomic_path(path) as tmp:
        torch.save({"state_dict": dict(state_dict), CARD_KEY: card.to_dict()}, tmp)
    return Path(path)


def update_card(path: str | os.PathLike, target: str | os.PathLike | None = None,
                **changes: Any) -> ModelCard:
    """Rewrite checkpoint ``path`` (or write a copy to ``target``) atomically with its card
    changed (``decision=``, ``drift_reference=``, ...); returns the new card."""
    checkpoint = read_checkpoint(path)
    card = card_of(checkpoint, path).with_changes(**changes)
    put_card(checkpoint, card)
    with atomic_path(target or path) as tmp:
        torch.save(checkpoint, tmp)
    return card


#: Model classes of checkpoints written before the models/ layout moved.
MOVED_MODULES = {
    "visionseg.models.module.SegmentationModule": "visionseg.models.smp.module.SegmentationModule",
}


def method_from(checkpoint: dict[str, Any], card: ModelCard, path: str | os.PathLike,
                device: str = "auto", **overrides: Any) -> Method:
    """The read ``checkpoint`` as a Method named after its file, carrying ``card``;
    ``overrides`` go to the Method (``tile_size``, ``batch_size``, ``name``, ...)."""
    module_path = MOVED_MODULES.get(card.module, card.module)
    module_name, _, class_name = module_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise CheckpointError(f"{path}: written by unknown model class {module_path}") from err
    reject_inapplicable(cls, overrides, path)
    overrides.setdefault("name", _default_name(Path(path)))
    try:
        return cls.method_from_checkpoint(card, checkpoint.get("state_dict", {}),
                                          device=device, **overrides)
    except (RuntimeError, KeyError, TypeError) as err:
        if isinstance(err, RuntimeError) and not ("state_dict" in str(err)
                                                  or "size mismatch" in str(err)):
            raise
        raise CheckpointError(f"{path}: weights do not fit the model it describes "
                              f"({type(err).__name__}: {str(err).splitlines()[0][:200]})") from err


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
        if key not in params or key == "card":
            raise ConfigError(f"{key}={value}: does not apply to {path}, a "
                              f"{cls.__name__} checkpoint ({method_class.__name__} has no "
                              f"such setting); leave it unset for this model")


def _default_name(path: Path) -> str:
    if path.parent.name == "checkpoints" and path.parent.parent.name:
        return f"{path.parent.parent.name}/{path.stem}"
    return path.stem
