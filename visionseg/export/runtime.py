"""An exported model as a :class:`Method`, run by ONNX Runtime.

The same contract as the checkpoint's :class:`visionseg.models.smp.method.SegmenterMethod`:
images no larger than a tile are predicted whole (same-sized ones batched), larger ones go
through :func:`visionseg.core.tiling.predict_tiled` with the graph's probabilities, and the
Prediction is built from probabilities by argmax, so infer.py's rule, writers and outputs
are the same as with the checkpoint. Needs onnxruntime, not Lightning or smp.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from visionseg.core.network import BatchedMethod
from visionseg.core.prediction import Prediction
from visionseg.core.tiling import predict_tiled
from visionseg.export.errors import ExportError, require_onnx
from visionseg.export.graph import INPUT
from visionseg.export.metadata import ExportMetadata, read_metadata


def session_options(threads: int | None = None):
    """CPU settings measured best: all graph optimisations, intra-op threads = cores, one
    inter-op thread, no spinning (spinning threads steal CPU from everything else)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def providers(device: str) -> list[str]:
    """ONNX Runtime providers for ``device`` (auto: CUDA when the installed build has it)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" not in available:
        raise ExportError(f"device={device}: this onnxruntime has no CUDA provider "
                          "(install onnxruntime-gpu)")
    if "CUDAExecutionProvider" in available and device != "cpu":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def source_name(checkpoint: str) -> str:
    """The name infer.py gives the source checkpoint (``run/best`` for
    ``run/checkpoints/best.ckpt``), so both write the same summary."""
    path = Path(checkpoint)
    if path.parent.name == "checkpoints" and path.parent.parent.name:
        return f"{path.parent.parent.name}/{path.stem}"
    return path.stem


class OnnxMethod(BatchedMethod):
    """An exported model (``DIR/model.onnx`` with ``DIR/model.json``) as a Method carrying
    the model card of its metadata."""

    def __init__(
        self,
        path: str | os.PathLike,
        name: str | None = None,
        device: str = "auto",
        tile_size: int | None = 512,
        tile_overlap: int = 64,
        max_whole_pixels: int | None = None,
        batch_size: int = 4,
        max_probs_bytes: int = 1 << 30,
        threads: int | None = None,
    ) -> None:
        require_onnx("running an exported model", ("onnxruntime",))
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ExportError(f"{self.path}: exported model not found")
        graph = self.path.read_bytes()  # read once: hashed against model.json, then run
        self.metadata: ExportMetadata = read_metadata(self.path, graph)
        self.card = self.metadata.card
        self.classes = list(self.metadata.classes)
        self.name = name or source_name(self.metadata.source_checkpoint)
        try:
            self.session = ort.InferenceSession(graph, session_options(threads),
                                                providers=providers(device))
        except Exception as err:  # onnxruntime raises its own exception types
            raise ExportError(f"{self.path}: ONNX Runtime cannot load it "
                              f"({type(err).__name__}: {str(err).splitlines()[0]})") from err
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.max_whole_pixels = max_whole_pixels
        self.batch_size = batch_size
        self.max_probs_bytes = max_probs_bytes

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """``N x h x w x 3`` uint8 -> ``N x C x h x w`` float32 probabilities."""
        batch = np.ascontiguousarray(images, dtype=np.uint8)
        return self.session.run(["probs"], {INPUT: batch})[0]

    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the graph (mask with the exported rule's thresholds, ...)."""
        outputs = self.session.run(None, {INPUT: np.ascontiguousarray(images, np.uint8)})
        return {o.name: v for o, v in zip(self.session.get_outputs(), outputs, strict=True)}

    def predict_whole(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        return [Prediction.from_probs(p) for p in self.probabilities(np.stack(images))]

    def predict_large(self, image: np.ndarray) -> Prediction:
        keep = image.shape[0] * image.shape[1] * self.num_classes * 4 <= self.max_probs_bytes
        mask, conf, probs = predict_tiled(image, self.probabilities, self.num_classes,
                                          tile=self.tile_for(image), overlap=self.tile_overlap,
                                          batch_size=self.batch_size, keep_probs=keep)
        return Prediction(mask=mask, probs=probs, confidence=conf)
