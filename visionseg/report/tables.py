"""The report's tables, built once from EvalResults and rendered as HTML and Markdown alike.

Labels say what a figure covers: "defect mIoU" averages the defect classes only and is
not comparable with the usual all-class mIoU, shown beside it as "mIoU (all classes)".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from visionseg.metrics.defect_level import SIZE_NAMES
from visionseg.metrics.ranked_ap import TiedFigure
from visionseg.report.document import Table

if TYPE_CHECKING:
    from visionseg.evaluation.results import EvalResults

MAX_FAILURE_ROWS = 100


def _ms(value: float, signed: bool = False) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def tied(figure: TiedFigure | None) -> float | str:
    """One value, or "low–high (tie order)" when the order of tied scores changes it."""
    if figure is None:
        return math.nan
    if figure.varies:
        return f"{figure.low:.3f}–{figure.high:.3f} (tie order)"
    return figure.value


def ranking_table(results: EvalResults) -> Table:
    rows = []
    for rank, h in enumerate(results.ranking(), start=1):
        rows.append([rank, h.method, h.chain, h.defect_miou, h.miou_all, h.defect_mdice,
                     h.per_image_defect_miou, h.defect_recall, h.defect_precision, h.image_f1,
                     h.boundary_f1, h.boundary_f1_pooled, h.instance_f1, tied(h.mask_ap),
                     _ms(h.ms_per_image), h.failures])
    s = results.settings
    return Table(
        "ranking",
        "Ranking of every method x post-processing chain",
        ["#", "Method", "Post-processing", "Defect mIoU", "mIoU (all classes)", "Defect mDice",
         "Defect mIoU per image", "Defect recall", "Defect precision", "Image F1",
         "Boundary F1", "Boundary F1 (pooled)", "Instance F1", "Mask AP", "ms/image",
         "Failures"],
        rows,
        "Defect mIoU/mDice: split-wide, defect classes only (background left out, unlike "
        "the usual mIoU: compare 'mIoU (all classes)' with published figures). Defect mIoU "
        "per image: mean over images with a defect in the ground truth or the prediction. "
        "Defect recall/precision: 8-connected regions matched at IoU >= "
        f"{s.defect_iou}. Image F1: NG detection with a minimum defect area of "
        f"{results.rule.min_area} px (configs/decision/). Boundary F1: BF score of Csurka "
        f"et al. (per-image mean), tolerance {s.boundary_tolerance:g} px; pooled: pixel "
        "counts summed over the split. Mask AP: a range when tied instance scores make it "
        "depend on their order. ms/image: predict + post-processing, after one warm-up image.",
    )


def per_class_iou_table(results: EvalResults) -> Table:
    classes = results.classes
    rows = [[e.method, e.chain, *[e.pixel.per_class[c].iou for c in classes],
             e.pixel.defect_miou, e.pixel.miou_all] for e in results.entries]
    return Table("per_class_iou", "IoU per class", ["Method", "Post-processing", *classes,
                 "Defect mIoU", "mIoU (all classes)"], rows)


def per_class_table(results: EvalResults) -> Table:
    frame = results.metrics_frame()
    rows = [
        [r["method"], r["chain"], r["class"], r["iou"], r["dice"], r["precision"], r["recall"],
         int(r["support"]), r["per_image_iou"], r["defect_recall"], r["defect_precision"],
         r["boundary_f1"], r["boundary_f1_pooled"]]
        for r in frame.to_dict("records")
    ]
    return Table(
        "per_class",
        "Per-class figures",
        ["Method", "Post-processing", "Class", "IoU", "Dice", "Precision", "Recall",
         "Support (px)", "IoU per image", "Defect recall", "Defect precision", "Boundary F1",
         "Boundary F1 (pooled)"],
        rows,
        "Support: ground-truth pixels of the class over the split (ignored pixels excluded). "
        "Boundary F1: mean over the images where the class has a boundary on either side.",
    )


def thin_table(results: EvalResults) -> Table | None:
    """Tolerant skeleton precision/recall/F1 of the thin classes beside their 0-px IoU."""
    rows = []
    for e in results.entries:
        for name, fig in e.thin.per_class.items():
            f, r = fig.fixed, fig.relative
            rows.append([e.method, e.chain, name, e.pixel.per_class[name].iou,
                         f.precision, f.recall, f.f1, r.precision, r.recall, r.f1, f.true_px])
    if not rows:
        return None
    s = results.settings
    k, d = f"{s.thin_tolerance:g} px", f"{s.thin_tolerance_diagonal:g} x diagonal"
    return Table(
        "thin",
        "Thin classes: tolerant skeleton figures",
        ["Method", "Post-processing", "Class", "IoU (0 px)", f"Precision ({k})",
         f"Recall ({k})", f"F1 ({k})", f"Precision ({d})", f"Recall ({d})", f"F1 ({d})",
         "Skeleton px (truth)"],
        rows,
        "Both masks thinned to 1-px skeletons; a predicted skeleton pixel is correct when a "
        "ground-truth skeleton pixel lies within the tolerance, a ground-truth one found when "
        "a predicted one does (by distance, not one-to-one); pixel counts summed over the "
        "split. The diagonal tolerance is the BSDS setting crack papers report. Classes: "
        "metrics.thin_classes.",
    )


def image_level_table(results: EvalResults) -> Table:
    rows = []
    for e in results.entries:
        il = e.image_level
        rows.append([e.method, e.chain, il.tp, il.fn, il.fp, il.tn, il.precision, il.recall,
                     il.f1, il.false_alarm_rate])
    return Table(
        "image_level",
        "Part level: OK/NG decision",
        ["Method", "Post-processing", "NG found", "NG missed", "False alarms", "OK passed",
         "Precision", "Recall", "F1", "False-alarm rate"],
        rows,
        f"A part is NG when it holds an 8-connected defect region of at least "
        f"{results.rule.min_area} px, mean confidence >= {results.rule.min_confidence} "
        "(configs/decision/; the same rule judges ground truth, on areas alone).",
    )


def defect_size_table(results: EvalResults) -> Table:
    thresholds = results.settings.size_thresholds
    bounds = {"small": f"< {thresholds[0]}", "medium": f"{thresholds[0]}-{thresholds[1] - 1}",
              "large": f">= {thresholds[1]}"}
    counts = {}
    if results.entries:
        counts = {s: f.gt_regions for s, f in results.entries[0].defect_level.by_size.items()}
    header = ["Method", "Post-processing"]
    header += [f"Recall {s} ({bounds[s]} px, n={counts.get(s, 0)})" for s in SIZE_NAMES]
    header += [f"Precision {s}" for s in SIZE_NAMES]
    rows = []
    for e in results.entries:
        by_size = e.defect_level.by_size
        rows.append([e.method, e.chain, *[by_size[s].recall for s in SIZE_NAMES],
                     *[by_size[s].precision for s in SIZE_NAMES]])
    return Table("defect_size", "Defect level by size", header, rows,
                 "As in COCO, a matched pair counts in the size bucket of its ground-truth "
                 "region; a ground-truth region or prediction without a match in that of its "
                 "own area.")


def defect_class_table(results: EvalResults) -> Table:
    defect_classes = results.classes[1:]
    header = ["Method", "Post-processing"]
    header += [f"Recall {c}" for c in defect_classes] + [f"Precision {c}" for c in defect_classes]
    rows = []
    for e in results.entries:
        pc = e.defect_level.per_class
        rows.append([e.method, e.chain, *[pc[c].recall for c in defect_classes],
                     *[pc[c].precision for c in defect_classes]])
    return Table("defect_class", "Defect level by class", header, rows)


def instance_table(results: EvalResults) -> Table | None:
    rows, notes = [], []
    for e in results.entries:
        if e.instances is None:
            continue
        m, ap = e.instances.matching, e.instances.mask_ap
        aps = (None, None, None) if ap is None else (ap.ap, ap.ap50, ap.ap75)
        rows.append([e.method, e.chain, m.tp + m.fn, m.tp + m.fp, m.tp, m.fp, m.fn, m.precision,
                     m.recall, m.f1, *(tied(f) for f in aps)])
        if e.instances.note:
            notes.append(f"{e.label}: {e.instances.note}.")
    if not rows:
        return None
    s = results.settings
    return Table(
        "instances",
        "Instance level (methods that separate objects)",
        ["Method", "Post-processing", "GT instances", "Predicted", "TP", "FP", "FN", "Precision",
         "Recall", "F1", "Mask AP", "AP50", "AP75"],
        rows,
        f"F1: instances matched within their class at IoU >= {s.instance_iou}, predicted "
        f"instances scoring below {s.instance_score_threshold} left out. Mask AP (COCO, IoU "
        "0.50:0.95), AP50, AP75 from pycocotools over every scored instance; '–' without "
        "scores. When instances share a score, AP is computed for several random orders of "
        "the tied instances: one value if all agree, else their range. " + " ".join(notes),
    )


def gain_table(results: EvalResults) -> Table | None:
    gains = results.gains()
    if not gains:
        return None
    rows = [[g.method, g.chain, g.step, g.reference, g.delta_defect_miou, g.delta_defect_mdice,
             g.delta_defect_recall, g.delta_image_f1, g.delta_boundary_f1,
             _ms(g.delta_ms_per_image, signed=True)] for g in gains]
    return Table(
        "gain",
        "What each post-processing step brings",
        ["Method", "Chain", "Step", "Relative to", "Δ Defect mIoU", "Δ Defect mDice",
         "Δ Defect recall", "Δ Image F1", "Δ Boundary F1", "Δ ms/image"],
        rows,
        "Differences against the same method with the chain the step extends ('none' = raw).",
        signed={4, 5, 6, 7, 8},
    )


def failure_table(results: EvalResults) -> Table | None:
    if not results.failures:
        return None
    rows = [[f.method, f.chain or "(all)", f.image or "(all)", f.stage, f.error]
            for f in results.failures[:MAX_FAILURE_ROWS]]
    note = ("A failed prediction counts as an all-background one; a failed fit leaves the "
            "method out.")
    if len(results.failures) > MAX_FAILURE_ROWS:
        note += f" First {MAX_FAILURE_ROWS} of {len(results.failures)} (all in metrics.json)."
    return Table("failures", "Failures", ["Method", "Post-processing", "Image", "Stage", "Error"],
                 rows, note)


def dataset_table(results: EvalResults) -> Table:
    d = results.dataset
    rows: list[list[Any]] = [["images", d.images], ["evaluated", d.evaluated],
                             ["gt_defects (8-connected regions)", d.gt_defects],
                             ["ng_images", d.ng_images]]
    sizes: Sequence[str] = d.image_sizes
    rows.append(["image sizes", ", ".join(sizes[:10]) + (" ..." if len(sizes) > 10 else "")])
    for name, pixels in d.pixel_support.items():
        rows.append([f"pixels of {name}", int(pixels)])
    rows += [[k, v if isinstance(v, (int, float)) else str(v)]
             for k, v in results.context.items()
             if isinstance(v, (str, int, float)) or (isinstance(v, list) and len(v) < 20)]
    rows += [[f"setting {k}", str(v)] for k, v in results.settings.to_dict().items()]
    rows += [[f"decision {k}", str(v)] for k, v in results.rule.to_dict().items()]
    return Table("dataset", "Data and settings", ["Item", "Value"], rows)


def all_tables(results: EvalResults) -> dict[str, Table]:
    """Every table the report shows, by key (optional ones only when they have rows)."""
    tables = [
        ranking_table(results),
        per_class_iou_table(results),
        per_class_table(results),
        thin_table(results),
        image_level_table(results),
        defect_size_table(results),
        defect_class_table(results),
        instance_table(results),
        gain_table(results),
        failure_table(results),
        dataset_table(results),
    ]
    return {t.key: t for t in tables if t is not None}
