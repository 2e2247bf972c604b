"""The evaluation report's sections, in reading order, built from EvalResults."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from visionseg.calibration.results import MethodCalibration
from visionseg.report import plots
from visionseg.report.document import Figure, ImageGrid, Section, Table
from visionseg.report.operating_curve import operating_curve_section
from visionseg.report.tables import all_tables

if TYPE_CHECKING:
    from visionseg.evaluation.results import EvalResults


def build_sections(results: EvalResults, calibrations: Sequence[MethodCalibration] = ()
                   ) -> list[Section]:
    """Every section of the report, in reading order."""
    tables = all_tables(results)
    s = results.settings
    sections = [Section("Summary", _summary(results),
                        [tables["ranking"], Figure("ranking", "Headline figures per pair",
                                                   plots.ranking_chart(results))])]
    sections.append(Section(
        "Per-class figures",
        ["Split-wide figures from the pixel confusion matrix, one per class."],
        [tables["per_class_iou"], Figure("per_class_iou", "IoU per defect class",
                                         plots.per_class_chart(results)), tables["per_class"],
         *([tables["thin"]] if "thin" in tables else [])],
    ))
    sections.append(Section("Part level (OK/NG)", [], [tables["image_level"]]))
    sections += [c for c in [operating_curve_section(results, calibrations)] if c is not None]
    sections.append(Section(
        "Defect level",
        [f"8-connected regions of each defect class matched one-to-one to ground-truth regions "
         f"of the same class at IoU >= {s.defect_iou}. Sizes: small < {s.size_thresholds[0]} "
         f"px <= medium < {s.size_thresholds[1]} px <= large."],
        [tables["defect_size"], Figure("defect_size", "Defect recall by size",
                                       plots.size_chart(results)), tables["defect_class"]],
    ))
    if "instances" in tables:
        sections.append(Section("Instance level", [], [tables["instances"]]))
    if "gain" in tables:
        gain_items: list[Table | Figure] = [tables["gain"]]
        chart = plots.gain_chart(results)
        if chart is not None:
            gain_items.append(Figure("postprocess_gain", "Gain of each post-processing step",
                                     chart))
        sections.append(Section("Post-processing gain", [], gain_items))
    sections.append(Section(
        "Confusion matrices",
        ["Pixel counts normalised per ground-truth class (rows sum to 1)."],
        [Figure("confusion", "Confusion matrices", plots.confusion_chart(results))],
    ))
    if results.gallery:
        best = results.best()
        gallery: list[Table | Figure | ImageGrid] = [
            Figure("legend", "Class colours", plots.class_legend(results.classes))
        ]
        gallery += [ImageGrid(f"gallery_{item.label}",
                              f"{item.label}: {item.image_name} (defect mIoU {item.score:.3f})",
                              plots.gallery_cells(item, results.classes))
                    for item in results.gallery]
        sections.append(Section(
            "Gallery",
            [f"Best, median and worst image by the per-image defect mIoU of the best pair "
             f"({best.method} / {best.chain})." if best else ""],
            gallery,
        ))
    if "failures" in tables:
        sections.append(Section("Failures", [], [tables["failures"]]))
    sections.append(Section("Data and settings", [], [tables["dataset"]]))
    return sections


def _summary(results: EvalResults) -> list[str]:
    d = results.dataset
    lines = [
        f"{d.evaluated} of {d.images} images evaluated"
        + (f" (split '{results.context['split']}')" if results.context.get("split") else "")
        + f", {d.ng_images} with defects, {d.gt_defects} defect regions (8-connected); "
        f"{len(results.methods)} method(s) x {len(results.chains)} post-processing chain(s)."
    ]
    best = results.best()
    if best is not None:
        ms = best.ms_per_image
        lines.append(
            f"Best by defect mIoU: {best.method} / {best.chain} with defect mIoU "
            f"{best.defect_miou:.3f} (mIoU over all classes {best.miou_all:.3f})"
            + ("" if math.isnan(best.defect_recall) else
               f", defect recall {best.defect_recall:.3f}")
            + ("" if math.isnan(ms) else f", {ms:.1f} ms/image") + "."
        )
    if results.failures:
        lines.append(f"{len(results.failures)} failure(s) recorded (see Failures).")
    return lines
