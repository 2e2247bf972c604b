"""Per-image outputs of inference: mask, overlay, instance ids and defect table rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from visionseg.core.prediction import Prediction
from visionseg.core.regions import extract_regions
from visionseg.core.verdict import PartRule
from visionseg.inference.records import DefectRow
from visionseg.io.images import write_png
from visionseg.report.overlay import overlay


def defect_rows(
    image_name: str, pred: Prediction, classes: list[str], rule: PartRule | None = None
) -> list[DefectRow]:
    """One row per defect: per instance when the method gives instances, else per
    connected region of each defect class; regions or instances smaller than the part
    rule's minimum area for their class are left out."""
    rule = rule or PartRule(min_area=1)
    rows = []
    if pred.instances is not None:
        inst = pred.instances
        ids = np.arange(1, len(inst) + 1)
        areas = np.bincount(inst.labels.ravel(), minlength=len(inst) + 1)
        for i, class_id in zip(ids, inst.classes, strict=True):
            if areas[i] < rule.for_class(classes[int(class_id)]).min_area:
                continue
            ys, xs = np.nonzero(inst.labels == i)
            rows.append(
                _row(
                    image_name,
                    classes,
                    int(class_id),
                    int(areas[i]),
                    (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1),
                    float(inst.scores[i - 1]) if inst.scores is not None else float("nan"),
                    instance_id=int(i),
                )
            )
        return rows
    for region in extract_regions(pred.mask, len(classes), pred.confidence):
        if region.area < rule.for_class(classes[region.class_id]).min_area:
            continue
        rows.append(
            _row(
                image_name,
                classes,
                region.class_id,
                region.area,
                region.bbox,
                region.mean_confidence,
            )
        )
    return rows


def _row(image, classes, class_id, area, bbox, score, instance_id=None) -> DefectRow:
    name = classes[class_id] if class_id < len(classes) else str(class_id)
    return DefectRow(image, name, class_id, area, tuple(bbox), score, instance_id)


OUTPUT_FOLDERS = ("masks", "overlays", "instances")


def output_files(name: str, overlays: bool = True, instances: bool = False) -> dict[str, str]:
    """The files :func:`write_outputs` writes for the input named ``name``, relative to the
    output folder: ``{"mask": "masks/NAME.png", "overlay": ..., "instances": ...}``."""
    files = {"mask": f"masks/{name}.png"}
    if overlays:
        files["overlay"] = f"overlays/{name}.png"
    if instances:
        files["instances"] = f"instances/{name}.png"
    return files


def write_outputs(
    output_dir: Path,
    name: str,
    image: np.ndarray,
    pred: Prediction,
    num_classes: int,
    overlays: bool = True,
    alpha: float = 0.5,
) -> None:
    """``masks/NAME.png`` (class ids), ``overlays/NAME.png``, ``instances/NAME.png`` (uint16)."""
    files = output_files(name, overlays, pred.instances is not None)
    write_png(output_dir / files["mask"], pred.mask, rgb=False)
    if overlays:
        write_png(output_dir / files["overlay"], overlay(image, pred.mask, num_classes, alpha))
    if pred.instances is not None:
        labels = pred.instances.labels
        if labels.max(initial=0) > np.iinfo(np.uint16).max:
            raise ValueError(f"{name}: more than 65535 instances cannot be stored as uint16")
        write_png(output_dir / files["instances"], labels.astype(np.uint16), rgb=False)
