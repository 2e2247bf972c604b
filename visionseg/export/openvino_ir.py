"""The OpenVINO path (``python export.py ... format=openvino``): the checked ONNX graph
converted to OpenVINO IR (``model.xml`` + ``model.bin`` beside ``model.onnx``), its masks
checked against ONNX Runtime's at export, and the IR run as a :class:`Method`.

OpenVINO is the runtime most line deployments of anomalib use on Intel CPUs (and iGPUs).
The IR is converted from the same graph ONNX Runtime runs, an INT8 graph included (its
QDQ pairs become OpenVINO's integer convolutions), so ``model.json`` stays the one model
card: it records the IR files' SHA-256, and a loaded IR whose files are not those is
refused. Inference precision is pinned to f32 (OpenVINO would pick bf16 by itself on
CPUs with AMX), so the line's masks are the export's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visionseg.core.network import BatchedMethod
from visionseg.core.prediction import Prediction
from visionseg.core.tiling import predict_tiled
from visionseg.export.errors import ExportError
from visionseg.export.graph import INPUT
from visionseg.export.metadata import (
    IR_FILE,
    MODEL_FILE,
    ExportMetadata,
    OpenVinoIR,
    read_metadata,
    sha256,
)

log = logging.getLogger(__name__)

#: Full probabilities of a tiled image are kept up to this size (as ONNX Runtime's).
MAX_PROBS_BYTES = 1 << 30
INSTALL_HINT = 'pip install -e ".[openvino]"'


def require_openvino(what: str) -> None:
    """ExportError naming the extra to install when OpenVINO is missing."""
    import importlib.util

    if importlib.util.find_spec("openvino") is None:
        raise ExportError(f"{what} needs openvino, not installed here: {INSTALL_HINT}")


def compile_ir(model: str | os.PathLike | Any, threads: int | None = None) -> Any:
    """An OpenVINO compiled model on the CPU: latency hint, f32, ``threads`` (default all
    cores)."""
    import openvino as ov

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32",
              "INFERENCE_NUM_THREADS": int(threads or os.cpu_count() or 1)}
    return ov.Core().compile_model(model, "CPU", config)


def convert_to_ir(onnx_model: Path, images: Sequence[np.ndarray],
                  reference: Callable[[np.ndarray], dict[str, np.ndarray]], against: str,
                  setting: str, min_agreement: float) -> OpenVinoIR:
    """Write ``model.xml``/``model.bin`` beside ``onnx_model``; ExportError unless the IR's
    masks agree with ``reference``'s (``against``) on ``min_agreement`` (the value of
    ``setting``) of the pixels."""
    import openvino as ov

    xml = onnx_model.with_name(IR_FILE)
    try:
        ov.save_model(ov.convert_model(str(onnx_model)), str(xml), compress_to_fp16=False)
    except Exception as err:  # OpenVINO raises its own exception types
        raise ExportError(f"OpenVINO cannot convert the exported graph: "
                          f"{str(err).splitlines()[0]}") from err
    compiled = compile_ir(xml)
    agree = total = 0
    for image in images:
        batch = np.ascontiguousarray(image[None], np.uint8)
        ours = compiled({INPUT: batch})[compiled.output("mask")]
        agree += int((ours == reference(batch)["mask"]).sum())
        total += ours.size
    ir = OpenVinoIR(sha256(xml), sha256(xml.with_suffix(".bin")), ov.__version__,
                    len(images), agree / max(total, 1))
    if ir.agreement < min_agreement:
        raise ExportError(f"format=openvino: the OpenVINO masks agree with {against} on "
                          f"{ir.agreement:.5f} of the pixels, below {setting}="
                          f"{min_agreement}; export format=onnx instead")
    log.info("OpenVINO IR written (masks agree with %s on %.5f of the pixels)", against,
             ir.agreement)
    return ir


class OpenVinoMethod(BatchedMethod):
    """An export's OpenVINO IR (``DIR/model.xml``) as a Method carrying the model card of
    ``DIR/model.json``; the same whole-or-tiled contract as the ONNX Runtime method."""

    def __init__(self, path: str | os.PathLike, name: str | None = None,
                 tile_size: int | None = 512, tile_overlap: int = 64,
                 max_whole_pixels: int | None = None, batch_size: int = 4,
                 threads: int | None = None) -> None:
        from visionseg.export.runtime import source_name

        require_openvino("running an OpenVINO export")
        self.path = Path(path)
        if not self.path.is_file():
            raise ExportError(f"{self.path}: OpenVINO model not found")
        self.metadata: ExportMetadata = read_metadata(self.path.with_name(MODEL_FILE))
        ir = self.metadata.openvino
        if ir is None:
            raise ExportError(f"{self.path}: its model.json records no OpenVINO IR; export "
                              "with format=openvino")
        for file, expected in ((self.path, ir.xml_sha256),
                               (self.path.with_suffix(".bin"), ir.bin_sha256)):
            if not file.is_file() or sha256(file) != expected:
                raise ExportError(f"{file}: missing or not the IR model.json describes; copy "
                                  "the whole export folder together")
        self.card = self.metadata.card
        self.classes = list(self.metadata.classes)
        self.name = name or source_name(self.metadata.source_checkpoint)
        self.compiled = compile_ir(self.path, threads)
        self._probs = self.compiled.output("probs")
        self.tile_size, self.tile_overlap = tile_size, tile_overlap
        self.max_whole_pixels, self.batch_size = max_whole_pixels, batch_size

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """``N x h x w x 3`` uint8 -> ``N x C x h x w`` float32 probabilities."""
        batch = np.ascontiguousarray(images, dtype=np.uint8)
        return np.asarray(self.compiled({INPUT: batch})[self._probs])

    def predict_whole(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        return [Prediction.from_probs(p) for p in self.probabilities(np.stack(images))]

    def predict_large(self, image: np.ndarray) -> Prediction:
        keep = image.shape[0] * image.shape[1] * self.num_classes * 4 <= MAX_PROBS_BYTES
        mask, conf, probs = predict_tiled(image, self.probabilities, self.num_classes,
                                          tile=self.tile_for(image), overlap=self.tile_overlap,
                                          batch_size=self.batch_size, keep_probs=keep)
        return Prediction(mask=mask, probs=probs, confidence=conf)
