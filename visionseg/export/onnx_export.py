"""``python export.py ckpt=... format=onnx output=DIR``: checkpoint to a checked ONNX model
(``format=openvino`` adds its OpenVINO IR beside it, see ``openvino_ir.py``).

The graph is written into a temporary folder beside DIR, checked with ``onnx.checker``,
loaded by ONNX Runtime and compared with the torch model; only then does it replace DIR.
Any failure leaves DIR as it was (absent, empty, or the previous export).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionseg.core.model_card import ModelCard
from visionseg.core.tile_settings import TileSettings
from visionseg.core.verdict import PartRule
from visionseg.export.errors import ExportError, require_onnx
from visionseg.export.graph import INPUT, OUTPUTS, ExportGraph
from visionseg.export.loader import LoadedModel, load
from visionseg.export.metadata import (
    MODEL_FILE,
    ExportMetadata,
    OpenVinoIR,
    metadata_path,
    sha256,
    versions,
)
from visionseg.export.parity import MAX_PROB_DIFF, MIN_AGREEMENT, check_parity, parity_images
from visionseg.export.quantize import QuantizeSettings, int8_parity, int8_samples, quantize_int8
from visionseg.io.atomic import write_json
from visionseg.io.writable import check_writable_dir

log = logging.getLogger(__name__)

FORMATS = ("onnx", "openvino")
DYNAMIC = {INPUT: {0: "batch", 1: "height", 2: "width"},
           "mask": {0: "batch", 1: "height", 2: "width"},
           "confidence": {0: "batch", 1: "height", 2: "width"},
           "probs": {0: "batch", 2: "height", 3: "width"}}


@dataclass
class ExportRequest:
    """What to export, where, with which rule, and how parity is checked."""

    ckpt: Path
    output: Path
    rule: PartRule | None = None  # None: the rule the checkpoint carries, else the default
    rule_source: str = "config"
    format: str = "onnx"
    tile: TileSettings = TileSettings()
    opset: int = 17
    parity_root: str | None = None
    parity_split: str = "val"
    parity_images: int = 8
    max_prob_diff: float = MAX_PROB_DIFF
    min_agreement: float = MIN_AGREEMENT
    quantize: str | None = None  # "int8": static INT8 (export/quantize.py)
    int8: QuantizeSettings = field(default_factory=QuantizeSettings)


def export_model(request: ExportRequest, loaded: LoadedModel | None = None) -> ExportMetadata:
    """Export, check and write ``DIR/model.onnx`` and ``DIR/model.json``; ``loaded``: the
    checkpoint of ``request.ckpt`` if already loaded (:func:`load` with ``exportable``)."""
    if request.format not in FORMATS:
        raise ExportError(f"format={request.format}: unknown export format; available: "
                          f"{', '.join(FORMATS)}")
    require_onnx(f"format={request.format}")
    prepare_output(request.output)
    if loaded is None:
        loaded = load(request.ckpt, device="cpu", tile_size=None, accept=exportable)
    method, card = loaded.method, loaded.card
    assert card is not None  # a checkpoint always has one
    rule = request.rule or card.decision or PartRule()
    rule.check_classes(method.classes)
    thresholds = rule.thresholds(method.classes)
    graph = ExportGraph(method.net, method.num_classes, thresholds).eval()
    parent = request.output.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)  # checked by prepare_output
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(request.output), dir=parent))
    try:
        model = staging / MODEL_FILE
        _write_onnx(graph, model, request, card.net)
        run = _runner(model)
        images, source = parity_images(request.parity_root, request.parity_split,
                                       request.parity_images, request.tile.tile_side)
        parity = check_parity(method.probabilities, run, images, thresholds, source,
                              request.max_prob_diff, request.min_agreement)
        quantization = _quantize(model, request, run, method.classes)
        ir = _openvino(model, request, images, run)
        meta = ExportMetadata(
            card=card.with_changes(decision=rule, tile=request.tile),
            decision_source=request.rule_source, source_checkpoint=str(request.ckpt),
            source_sha256=sha256(request.ckpt), graph_sha256=sha256(model),
            opset=request.opset, parity=parity, versions=versions(), quantization=quantization,
            openvino=ir,
        )
        write_json(metadata_path(model), meta.to_dict())
        _replace(staging, request.output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return meta


def _quantize(model: Path, request: ExportRequest, run: Callable,
              classes: list[str]) -> dict[str, Any] | None:
    """With ``quantize=int8``: replace ``model`` by its INT8 graph, calibrated on images of
    the parity split, once its masks pass the parity bounds against the fp32 graph's on
    other images of that split."""
    if request.quantize is None:
        return None
    if request.quantize != "int8":
        raise ExportError(f"quantize={request.quantize}: unknown; use quantize=int8 or null")
    int8 = model.with_name("int8.onnx")
    samples = int8_samples(request.parity_root, request.parity_split, request.int8,
                           request.tile.tile_side)
    quantize_int8(model, int8, samples.calibration)
    run8 = _runner(int8)
    parity = int8_parity(lambda x: run(x)["mask"], lambda x: run8(x)["mask"], samples.parity,
                         samples.masks, classes, samples.source, request.int8,
                         calibrated=len(samples.calibration))
    os.replace(int8, model)
    log.info("INT8 graph: masks agree with fp32 on %.4f of the pixels, worst class IoU "
             "change %s", parity.agreement, parity.worst_iou_change)
    return parity.to_dict()


def _openvino(model: Path, request: ExportRequest, images: list,
              fp32: Callable) -> OpenVinoIR | None:
    """With ``format=openvino``: the final graph as OpenVINO IR beside it, its masks
    checked on the parity images against ONNX Runtime's with ``parity.min_agreement``; an
    INT8 graph against the fp32 graph's with ``int8.min_agreement`` (OpenVINO's integer
    kernels round differently from ONNX Runtime's, so INT8 meets the INT8 bound)."""
    if request.format != "openvino":
        return None
    from visionseg.export.openvino_ir import convert_to_ir, require_openvino

    require_openvino("format=openvino")
    if request.quantize is None:
        return convert_to_ir(model, images, fp32, "ONNX Runtime's", "parity.min_agreement",
                             request.min_agreement)
    return convert_to_ir(model, images, fp32, "the fp32 graph's", "int8.min_agreement",
                         request.int8.min_agreement)


def prepare_output(output: Path) -> None:
    """Check, before the checkpoint is loaded, that ``output`` can take an export, and
    remove what an export killed there left beside it.

    The staging folder is created in ``output``'s parent, so that folder must be writable
    too (a read-only disk or a path inside a file is one ``output=`` error, not a traceback
    after the slow part); ``output`` itself must be new, empty or a previous export.
    Creates nothing, so a stopped export leaves no empty folder.
    """
    check_writable_dir(output, "output")
    if output.is_dir():  # the staging folder goes beside it
        check_writable_dir(output.resolve().parent, "output")
    _check_output(output)
    clear_staging_leftovers(output)


def _staging_prefix(output: Path) -> str:
    return f".{output.name}."


def clear_staging_leftovers(output: Path) -> list[Path]:
    """Delete the hidden staging folders (``.NAME.<random>``) and moved-aside previous
    exports (``.NAME.old-PID``) that an export killed with ``kill -9`` left beside
    ``output``; they are never renamed onto ``output`` and nothing else removes them."""
    parent = output.resolve().parent
    pattern = re.compile(re.escape(_staging_prefix(output)) + r"(?:[a-z0-9_]{8}|old-\d+)")
    removed = []
    for path in sorted(parent.glob(f"{_staging_prefix(output)}*")):
        if path.is_dir() and not path.is_symlink() and pattern.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)
            log.info("removed %s, left by an interrupted export", path)
            removed.append(path)
    return removed


def exportable(card: ModelCard, path: Path) -> None:
    """ExportError unless the checkpoint of ``card`` has a semantic network to export
    (a ``load`` hook, so nothing is built for a model that cannot be exported)."""
    if "maskrcnn" in card.module.lower():
        raise ExportError(
            f"{path}: Mask R-CNN checkpoints cannot be exported: the runtime adapter reads a "
            "semantic graph (image to class probabilities), and torchvision's instance "
            "outputs (boxes, scores, per-box masks) have no such adapter here; use the "
            "checkpoint with infer.py"
        )
    if not card.net:
        raise ExportError(f"{path}: written by {card.module}, which has no exportable network")


def _check_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise ExportError(f"output={output}: is a file, give a folder")
    if output.is_dir():
        extra = sorted(p.name for p in output.iterdir()
                       if p.name not in (MODEL_FILE, metadata_path(MODEL_FILE).name))
        if extra:
            raise ExportError(f"output={output}: holds other files ({', '.join(extra[:3])}); "
                              "give an empty or new folder, or a previous export's")


def _write_onnx(graph: ExportGraph, path: Path, request: ExportRequest, net: dict) -> None:
    import torch

    example = torch.zeros((1, 251, 229, 3), dtype=torch.uint8)  # odd size: padding is traced
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(None):
            warnings.simplefilter("ignore")
            torch.onnx.export(graph, (example,), str(path), input_names=[INPUT],
                              output_names=list(OUTPUTS), dynamic_axes=DYNAMIC,
                              opset_version=request.opset, dynamo=False, external_data=False)
    except Exception as err:  # the exporter raises many types; all mean "unsupported"
        raise ExportError(f"{request.ckpt}: model.arch={net.get('arch')} with encoder "
                          f"{net.get('encoder')} cannot be exported to ONNX: "
                          f"{_unsupported(err)}") from err
    import onnx

    try:
        onnx.checker.check_model(str(path))
    except onnx.checker.ValidationError as err:
        raise ExportError(f"{request.ckpt}: the exported graph fails onnx.checker: "
                          f"{str(err).splitlines()[0]}") from err


def _unsupported(err: Exception) -> str:
    """The exporter's sentence naming the unsupported operation, else its first line."""
    text = str(err)
    found = re.search(r"(Unsupported[^\n]*|[^\n]*(?:is not supported|not supported)[^\n]*)",
                      text)
    line = found.group(1) if found else (text.splitlines() or [type(err).__name__])[0]
    for tail in (" Please feel free", " [Caused by"):  # the exporter's advice and graph dump
        line = line.split(tail)[0]
    return f"{type(err).__name__}: {line.strip()[:300]}"


def _runner(model: Path):
    import onnxruntime as ort

    from visionseg.export.runtime import session_options

    try:
        session = ort.InferenceSession(str(model), session_options(),
                                       providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        raise ExportError(f"ONNX Runtime cannot load the exported graph: "
                          f"{str(err).splitlines()[0]}") from err
    names = [o.name for o in session.get_outputs()]

    def run(batch):
        try:
            return dict(zip(names, session.run(None, {INPUT: batch}), strict=True))
        except Exception as err:  # a size the graph cannot take: not dynamic after all
            raise ExportError(f"the exported graph fails on a {batch.shape[2]}x{batch.shape[1]} "
                              f"batch of {batch.shape[0]} in ONNX Runtime: "
                              f"{str(err).splitlines()[0]}") from err

    return run


def _replace(staging: Path, output: Path) -> None:
    """Rename the checked folder onto ``output``; a previous export there is moved aside
    first and deleted after, so ``output`` never holds a mix of two exports."""
    mode = os.umask(0)
    os.umask(mode)
    staging.chmod(0o777 & ~mode)
    aside = None
    if output.is_dir():
        aside = output.with_name(f".{output.name}.old-{os.getpid()}")
        output.rename(aside)
    staging.rename(output)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
