"""What ``python export.py`` does with its composed config (export.py stays a thin shell)."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from visionseg.core.errors import settings_from
from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import PartRule
from visionseg.export.errors import ExportError, require_onnx
from visionseg.export.loader import load, rule_for_run
from visionseg.export.metadata import ExportMetadata
from visionseg.export.onnx_export import (
    FORMATS,
    ExportRequest,
    export_model,
    exportable,
    prepare_output,
)
from visionseg.export.quantize import QuantizeSettings
from visionseg.registry import to_plain

log = logging.getLogger(__name__)


def export(cfg: DictConfig) -> ExportMetadata:
    """Export ``cfg.ckpt`` as configured; prints where the files went and the parity."""
    if str(cfg.format) not in FORMATS:  # before anything is loaded
        raise ExportError(f"format={cfg.format}: unknown export format; available: "
                          f"{', '.join(FORMATS)}")
    ckpt = Path(str(cfg.ckpt))
    prepare_output(Path(str(cfg.output)))  # before the checkpoint is read
    configured = PartRule.from_dict(to_plain(cfg.decision))
    require_onnx(f"format={cfg.format}")
    if str(cfg.format) == "openvino":
        from visionseg.export.openvino_ir import require_openvino

        require_openvino("format=openvino")
    loaded = load(ckpt, device="cpu", tile_size=None, accept=exportable)
    choice = rule_for_run([loaded], configured)
    parity = cfg.parity
    request = ExportRequest(
        ckpt=ckpt, output=Path(str(cfg.output)), rule=choice.rule, rule_source=choice.source,
        format=str(cfg.format), tile=TileSettings.from_dict(to_plain(cfg.tile)),
        opset=int(cfg.opset), parity_root=parity.data_root, parity_split=str(parity.split),
        parity_images=int(parity.images), max_prob_diff=float(parity.max_prob_diff),
        min_agreement=float(parity.min_agreement), quantize=cfg.get("quantize"),
        int8=settings_from(QuantizeSettings, to_plain(cfg.get("int8")), "int8"),
    )
    meta = export_model(request, loaded)
    p = meta.parity
    print(f"exported {ckpt} -> {request.output}/model.onnx (+ model.json)")
    print(f"parity on {p.images} image(s) ({p.source}; sizes {', '.join(p.sizes)}): max |dp| "
          f"{p.max_abs_prob_diff:.2e}, mask agreement {p.mask_agreement:.5f}")
    if meta.quantization is not None:
        q = meta.quantization
        change = q["worst_iou_change"]
        print(f"INT8 graph (calibrated on {q['calibration_images']} image(s), checked on "
              f"{q['images']} of {q['source']}): masks agree with fp32 on {q['agreement']:.5f} "
              "of the pixels" + ("" if change is None else
                                 f", worst class IoU change {change:.4f}"))
    if meta.openvino is not None:
        print(f"OpenVINO {meta.openvino.version} IR -> {request.output}/model.xml (+ model.bin): "
              f"masks agree with "
              f"{'ONNX Runtime' if meta.quantization is None else 'the fp32 graph'} on "
              f"{meta.openvino.agreement:.5f} of the pixels")
    return meta
