"""Static INT8 quantisation of an exported graph, with its parity against the fp32 graph.

ONNX Runtime's static quantiser writes QDQ pairs (uint8 activations, int8 weights per
output channel) that its CPU kernels fuse into integer convolutions: on CPUs with VNNI
(AVX512-VNNI, AVX-VNNI, AMX) several times the multiply-adds per cycle of fp32. Only the
network is quantised: the nodes before the first convolution (uint8 to float,
normalisation, padding) and after the last (softmax, the part rule's thresholds) stay in
float, so the rule reads probabilities exactly as the fp32 graph does. Activation ranges
are calibrated on real images (min-max over ``calibration_images`` of the validation
split, or of the training split when there is none).

The export is refused unless, on ``parity_images`` other images of that split, the INT8
graph's masks agree with the fp32 graph's on at least ``min_agreement`` of the pixels and,
where the split has masks, every class's IoU against them is within ``max_iou_change`` of
fp32's.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from visionseg.core.checks import check_fraction, check_int
from visionseg.export.errors import ExportError
from visionseg.export.graph import INPUT

log = logging.getLogger(__name__)

RunMask = Callable[[np.ndarray], np.ndarray]
"""``1 x H x W x 3`` uint8 -> ``1 x H x W`` uint8 class ids."""


@dataclass(frozen=True)
class QuantizeSettings:
    """``export.py quantize=int8`` settings (``configs/export.yaml`` ``int8.*``)."""

    calibration_images: int = 32
    parity_images: int = 16
    min_agreement: float = 0.995
    max_iou_change: float = 0.01

    def __post_init__(self) -> None:
        check_int("int8.calibration_images", self.calibration_images, 1, 10_000)
        check_int("int8.parity_images", self.parity_images, 1, 10_000)
        check_fraction("int8.min_agreement", self.min_agreement)
        check_fraction("int8.max_iou_change", self.max_iou_change)


@dataclass(frozen=True)
class Int8Parity:
    """How the INT8 graph answers against the fp32 graph on the parity images."""

    images: int
    source: str
    calibration_images: int
    agreement: float
    iou_fp32: dict[str, float] | None
    iou_int8: dict[str, float] | None

    @property
    def worst_iou_change(self) -> float | None:
        if self.iou_fp32 is None or self.iou_int8 is None:
            return None
        shared = [c for c in self.iou_fp32 if c in self.iou_int8]
        return max((abs(self.iou_int8[c] - self.iou_fp32[c]) for c in shared), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"images": self.images, "source": self.source,
                "calibration_images": self.calibration_images,
                "agreement": round(self.agreement, 6), "iou_fp32": self.iou_fp32,
                "iou_int8": self.iou_int8, "worst_iou_change": self.worst_iou_change}


@dataclass(frozen=True)
class Int8Samples:
    """Images to calibrate on and, apart from them, images (with masks where the split has
    them) to check parity on."""

    calibration: list[np.ndarray]
    parity: list[np.ndarray]
    masks: list[np.ndarray] | None
    source: str


def int8_samples(root: str | None, split: str, settings: QuantizeSettings,
                 side: int, seed: int = 0) -> Int8Samples:
    """``ROOT/split`` (``ROOT/train`` when it is missing), or generated images without a
    root; each cropped to at most ``side`` px. Parity images are the ones after the
    calibration images; a split too small for both checks parity on all of its images."""
    from visionseg.data.folder import list_split
    from visionseg.io.images import read_image, read_mask

    wanted = settings.calibration_images + settings.parity_images
    splits = [s for s in dict.fromkeys((split, "train"))
              if root and (Path(root) / s / "images").is_dir()]
    if splits:
        samples = list_split(root, splits[0], require_masks=False)[:wanted]
        if not samples:
            raise ExportError(f"{Path(root) / splits[0] / 'images'}: no images to calibrate "
                              "INT8 on")
        images = [read_image(s.image) for s in samples]
        has_masks = all(s.mask is not None for s in samples)
        masks = [read_mask(s.mask) for s in samples] if has_masks else None
        source = f"split '{splits[0]}' of {root}"
    else:
        from visionseg.data.synthetic import make_sample

        rng = np.random.default_rng(seed)
        pairs = [make_sample(rng, min(side, 256), p_good=0.0) for _ in range(wanted)]
        images, masks = [p[0] for p in pairs], [p[1] for p in pairs]
        source = "generated images"
    images = [im[:side, :side] for im in images]
    masks = None if masks is None else [m[:side, :side] for m in masks]
    n = min(settings.calibration_images, len(images))
    held = slice(n, None) if len(images) > n else slice(None)
    if held.start is None:
        source += " (too few images: parity on the calibration images)"
    return Int8Samples(images[:n], images[held], None if masks is None else masks[held], source)


def network_span(graph: Any) -> list[str]:
    """Names of the nodes outside the network (before the first Conv, after the last):
    the pre- and post-processing that stays in float."""
    nodes = list(graph.node)
    convs = [i for i, node in enumerate(nodes) if node.op_type in ("Conv", "ConvTranspose")]
    if not convs:
        raise ExportError("quantize=int8: the graph has no convolution to quantise")
    return [node.name for i, node in enumerate(nodes) if i < convs[0] or i > convs[-1]]


def quantize_int8(fp32: Path, out: Path, images: Sequence[np.ndarray]) -> None:
    """Write ``out``: ``fp32`` statically quantised (QDQ, per-channel int8 weights, uint8
    activations), activation ranges calibrated on ``images`` one at a time."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Images(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(images)

        def get_next(self) -> dict[str, np.ndarray] | None:
            image = next(self._it, None)
            return None if image is None else {INPUT: np.ascontiguousarray(image[None])}

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        excluded = network_span(onnx.load(str(prepared)).graph)
        quantize_static(str(prepared), str(out), _Images(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=excluded,
                        calibrate_method=CalibrationMethod.MinMax)
    log.info("INT8 graph written to %s (calibrated on %d image(s))", out, len(images))


def class_ious(confusion: np.ndarray, classes: Sequence[str]) -> dict[str, float]:
    """IoU of each class present in the truth or the prediction (rows: truth)."""
    tp = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - tp
    return {c: round(float(tp[i] / union[i]), 6) for i, c in enumerate(classes) if union[i]}


def int8_parity(fp32: RunMask, int8: RunMask, images: Sequence[np.ndarray],
                masks: Sequence[np.ndarray] | None, classes: Sequence[str], source: str,
                settings: QuantizeSettings, calibrated: int | None = None) -> Int8Parity:
    """Both graphs on every image; ExportError naming the bound when one is missed.
    ``calibrated``: how many images the ranges came from (default: as configured)."""
    n = len(classes)
    agree = total = 0
    conf32 = np.zeros((n, n), np.int64)
    conf8 = np.zeros((n, n), np.int64)
    for i, image in enumerate(images):
        a = fp32(np.ascontiguousarray(image[None]))[0]
        b = int8(np.ascontiguousarray(image[None]))[0]
        agree += int((a == b).sum())
        total += a.size
        if masks is not None:
            truth = masks[i].astype(np.int64)
            valid = truth < n
            conf32 += np.bincount(truth[valid] * n + a[valid], minlength=n * n).reshape(n, n)
            conf8 += np.bincount(truth[valid] * n + b[valid], minlength=n * n).reshape(n, n)
    parity = Int8Parity(
        images=len(images), source=source,
        calibration_images=settings.calibration_images if calibrated is None else calibrated,
        agreement=agree / max(total, 1),
        iou_fp32=class_ious(conf32, classes) if masks is not None else None,
        iou_int8=class_ious(conf8, classes) if masks is not None else None)
    _check(parity, settings)
    return parity


def _check(parity: Int8Parity, settings: QuantizeSettings) -> None:
    if parity.agreement < settings.min_agreement:
        raise ExportError(f"quantize=int8: the INT8 masks agree with fp32 on "
                          f"{parity.agreement:.4f} of the pixels, below int8.min_agreement="
                          f"{settings.min_agreement} ({parity.source}); export fp32 instead")
    change = parity.worst_iou_change
    if change is not None and change > settings.max_iou_change:
        shared = [c for c in parity.iou_fp32 if c in parity.iou_int8]
        worst = max(shared, key=lambda c: abs(parity.iou_int8[c] - parity.iou_fp32[c]))
        raise ExportError(f"quantize=int8: class '{worst}' IoU moves by {change:.4f} "
                          f"(fp32 {parity.iou_fp32[worst]:.4f}, INT8 "
                          f"{parity.iou_int8[worst]:.4f}), above "
                          f"int8.max_iou_change={settings.max_iou_change}; export fp32 instead")
