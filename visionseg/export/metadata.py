"""The metadata written beside an exported model, and its checks when the model is loaded.

``DIR/model.onnx`` comes with ``DIR/model.json``: the source checkpoint's model card whole
(classes, network config, 16-bit reading policy, the exported part rule and tiles, the line
reference, ...), the SHA-256 of the graph it belongs to and of the source checkpoint,
package versions, the parity figures, and a format name and version that loaders check
before anything else. A ``model.json`` whose graph hash is not that of the ``model.onnx``
beside it (another export's) is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from visionseg.core.model_card import ModelCard
from visionseg.core.verdict import PartRule
from visionseg.export.errors import ExportError
from visionseg.io.manifest import package_versions

FORMAT = "visionseg-export"
#: Bumped when the graph's inputs/outputs or this file change incompatibly (2: the card).
FORMAT_VERSION = 2
MODEL_FILE = "model.onnx"
#: The OpenVINO IR of ``format=openvino`` exports, beside ``MODEL_FILE`` (and model.bin).
IR_FILE = "model.xml"
PACKAGES = ("visionseg", "torch", "segmentation-models-pytorch", "onnx", "onnxruntime",
            "openvino", "numpy")


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


@dataclass(frozen=True)
class OpenVinoIR:
    """The IR files of an export (bound by hash) and their parity with ONNX Runtime."""

    xml_sha256: str
    bin_sha256: str
    version: str
    images: int
    agreement: float  # share of mask pixels equal to ONNX Runtime's on the parity images

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "agreement": round(self.agreement, 6)}

    @classmethod
    def from_dict(cls, value: Any, where: str) -> OpenVinoIR:
        try:
            return cls(**value)
        except TypeError as err:
            raise ExportError(f"{where}: export metadata 'openvino' is malformed ({err})") from err


@dataclass
class ExportMetadata:
    """Everything a runtime needs besides the graph (see docs/line.md, "Export"): the model
    card (its ``decision`` is the rule the graph's pixel thresholds were made with)."""

    card: ModelCard
    decision_source: str
    source_checkpoint: str
    source_sha256: str
    graph_sha256: str
    opset: int
    parity: Parity
    versions: dict[str, str] = field(default_factory=dict)
    # export.py quantize=int8: the INT8 graph's parity against fp32 (quantize.Int8Parity).
    quantization: dict[str, Any] | None = None
    # export.py format=openvino: the IR beside the graph (openvino_ir.py), bound by hash.
    openvino: OpenVinoIR | None = None
    model_file: str = MODEL_FILE
    input: dict[str, Any] = field(default_factory=lambda: {
        "name": "image", "dtype": "uint8", "layout": "NHWC (RGB), any batch/height/width"})
    outputs: dict[str, str] = field(default_factory=lambda: {
        "mask": "uint8 N x H x W class ids (pixel thresholds of the rule applied)",
        "confidence": "float32 N x H x W probability of the chosen class",
        "probs": "float32 N x C x H x W softmax probabilities"})
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    @property
    def decision(self) -> PartRule:
        """The rule the graph was exported with (the default rule if the card has none)."""
        return self.card.decision or PartRule()

    def to_dict(self) -> dict[str, Any]:
        value = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**value, "card": self.card.to_dict(), "parity": asdict(self.parity),
                "openvino": None if self.openvino is None else self.openvino.to_dict()}

    @classmethod
    def from_dict(cls, value: dict[str, Any], where: str) -> ExportMetadata:
        known = {f.name for f in fields(cls)}
        missing = sorted(known - set(value) - {"versions", "model_file", "input", "outputs",
                                                "quantization", "openvino"})
        if missing:
            raise ExportError(f"{where}: export metadata lacks {missing}; export the model "
                              "again with this version (python export.py ckpt=...)")
        data = {k: v for k, v in value.items() if k in known}
        try:
            data["parity"] = Parity(**data["parity"])
        except TypeError as err:
            raise ExportError(f"{where}: export metadata 'parity' is malformed ({err})") from err
        data["card"] = ModelCard.from_dict(data["card"], where)
        if data.get("openvino") is not None:
            data["openvino"] = OpenVinoIR.from_dict(data["openvino"], where)
        return cls(**data)


def versions() -> dict[str, str]:
    """Installed versions of the packages that made the export ("not installed" for a
    missing one: the file format keeps strings)."""
    return {name: version or "not installed"
            for name, version in package_versions(PACKAGES).items()}


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metadata_path(model: str | os.PathLike) -> Path:
    """``DIR/model.json`` beside ``DIR/model.onnx``."""
    return Path(model).with_suffix(".json")


def read_metadata(model: str | os.PathLike, graph: bytes | None = None) -> ExportMetadata:
    """The checked metadata of an exported model (``graph``: the model's bytes, if read
    already); ExportError when missing, incompatible or another graph's."""
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
    meta = ExportMetadata.from_dict(value, str(path))
    found = hashlib.sha256(graph).hexdigest() if graph is not None else sha256(model)
    if found != meta.graph_sha256:
        raise ExportError(
            f"{path}: describes another graph, not the {Path(model).name} beside it (SHA-256 "
            f"{meta.graph_sha256[:12]}... vs {found[:12]}...); copy model.onnx and model.json "
            "of one export together"
        )
    return meta
