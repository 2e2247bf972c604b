"""The metadata written beside an exported model, and its checks when the model is loaded.

``DIR/model.onnx`` comes with ``DIR/model.json``: classes, the part rule, tile settings,
the training crop size, the source checkpoint's SHA-256, package versions, the parity
figures, and a format name and version that loaders check before anything else.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from visionseg.export.errors import ExportError

FORMAT = "visionseg-export"
#: Bumped when the graph's inputs/outputs or this file change incompatibly.
FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
PACKAGES = ("visionseg", "torch", "segmentation-models-pytorch", "onnx", "onnxruntime", "numpy")


@dataclass
class Parity:
    """Exported model vs the torch path on the same images, and the bounds it had to meet."""

    images: int
    sizes: list[str]
    max_abs_prob_diff: float
    mask_agreement: float  # share of pixels whose class agrees (with the rule's thresholds)
    max_prob_diff_bound: float
    min_agreement_bound: float
    source: str  # "split 'val' of ROOT" or "generated images"


@dataclass
class ExportMetadata:
    """Everything a runtime needs besides the graph (see docs/line.md, "Export")."""

    classes: list[str]
    decision: dict[str, Any]
    decision_source: str
    tile: dict[str, int]
    training_crop_size: Any
    source_checkpoint: str
    source_sha256: str
    network: dict[str, Any]
    opset: int
    parity: Parity
    versions: dict[str, str] = field(default_factory=dict)
    model_file: str = MODEL_FILE
    input: dict[str, Any] = field(default_factory=lambda: {
        "name": "image", "dtype": "uint8", "layout": "NHWC (RGB), any batch/height/width"})
    outputs: dict[str, str] = field(default_factory=lambda: {
        "mask": "uint8 N x H x W class ids (pixel thresholds of the rule applied)",
        "confidence": "float32 N x H x W probability of the chosen class",
        "probs": "float32 N x C x H x W softmax probabilities"})
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any], where: str) -> ExportMetadata:
        known = {f.name for f in fields(cls)}
        missing = sorted(known - set(value) - {"versions", "model_file", "input", "outputs"})
        if missing:
            raise ExportError(f"{where}: export metadata lacks {missing}; export the model "
                              "again with this version (python export.py ckpt=...)")
        data = {k: v for k, v in value.items() if k in known}
        data["parity"] = Parity(**data["parity"])
        return cls(**data)


def versions() -> dict[str, str]:
    """Installed versions of the packages that made the export."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metadata_path(model: str | os.PathLike) -> Path:
    """``DIR/model.json`` beside ``DIR/model.onnx``."""
    return Path(model).with_suffix(".json")


def read_metadata(model: str | os.PathLike) -> ExportMetadata:
    """The checked metadata of an exported model; ExportError when missing or incompatible."""
    path = metadata_path(model)
    if not path.is_file():
        raise ExportError(f"{model}: its metadata {path.name} is missing beside it; copy the "
                          "whole export folder (model.onnx and model.json)")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportError(f"{path}: not readable export metadata ({err})") from err
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise ExportError(f"{path}: not visionseg export metadata (format is not {FORMAT!r})")
    if value.get("format_version") != FORMAT_VERSION:
        raise ExportError(
            f"{path}: export format version {value.get('format_version')}, this visionseg "
            f"reads version {FORMAT_VERSION}; export the model again with this version"
        )
    return ExportMetadata.from_dict(value, str(path))
