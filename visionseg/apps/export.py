"""What ``python export.py`` does with its composed config (export.py stays a thin shell)."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from visionseg.calibration.store import choose_rule, decision_overridden
from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import PartRule
from visionseg.export.errors import ExportError, require_onnx
from visionseg.export.metadata import ExportMetadata
from visionseg.export.onnx_export import FORMATS, ExportRequest, export_model, prepare_output
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
    from visionseg.models.checkpoint import carried_rule

    choice = choose_rule(carried_rule(ckpt), configured, decision_overridden(),
                         f"the checkpoint {ckpt}")
    log.info("part rule from %s", choice.source)
    parity = cfg.parity
    request = ExportRequest(
        ckpt=ckpt, output=Path(str(cfg.output)), rule=choice.rule, rule_source=choice.source,
        format=str(cfg.format), tile=TileSettings.from_dict(to_plain(cfg.tile)),
        opset=int(cfg.opset), parity_root=parity.data_root, parity_split=str(parity.split),
        parity_images=int(parity.images), max_prob_diff=float(parity.max_prob_diff),
        min_agreement=float(parity.min_agreement),
    )
    meta = export_model(request)
    p = meta.parity
    print(f"exported {ckpt} -> {request.output}/model.onnx (+ model.json)")
    print(f"parity on {p.images} image(s) ({p.source}; sizes {', '.join(p.sizes)}): max |dp| "
          f"{p.max_abs_prob_diff:.2e}, mask agreement {p.mask_agreement:.5f}")
    return meta
