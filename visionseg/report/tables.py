"""The report's tables, built once from EvalResults and rendered as HTML and Markdown alike."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from visionseg.metrics.defect_level import SIZE_NAMES
from visionseg.report.document import Table

if TYPE_CHECKING:
    from visionseg.evaluation.results import EvalResults

MAX_FAILURE_ROWS = 100


def _ms(value: float, signed: bool = False) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def ranking_table(results: EvalResults) -> Table:
    rows = []
    for rank, r in enumerate(results.ranking(), start=1):
        rows.append([rank, r["method"], r["chain"], r["mIoU"], r["mDice"], r["per_image_mIoU"],
                     r["defect_recall"], r["defect_precision"], r["image_f1"], r["boundary_f1"],
                     r["instance_f1"], r["AP"], _ms(r["ms_per_image"]), r["failures"]])
    return Table(
        "ranking",
        "Ranking of every method x post-processing chain",
        ["#", "Method", "Post-processing", "mIoU", "mDice", "mIoU per image", "Defect recall",
         "Defect precision", "Image F1", "Boundary F1", "Instance F1", "Mask AP", "ms/image",
         "Failures"],
        rows,
        "mIoU/mDice: split-wide, defect classes only. mIoU per image: mean over images with a "
        "defect in the ground truth or the prediction. Defect recall/precision: connected "
        f"regions matched at IoU >= {results.settings.defect_iou}. Image F1: NG detection with "
        f"a minimum defect area of {results.rule.min_area} px (configs/decision/). Boundary F1: "
        f"tolerance {results.settings.boundary_tolerance:g} px. ms/image: predict + "
        "post-processing, after one warm-up image.",
    )


def per_class_iou_table(results: EvalResults) -> Table:
    classes = results.classes
    rows = []
    for entry in results.entries:
        rows.append([entry["method"], entry["chain"],
                     *[entry["per_class"][c]["iou"] for c in classes], entry["mIoU"],
                     entry["mIoU_all"]])
    return Table("per_class_iou", "IoU per class", ["Method", "Post-processing", *classes,
                 "mIoU (defects)", "mIoU (all)"], rows)


def per_class_table(results: EvalResults) -> Table:
    frame = results.metrics_frame()
    rows = [
        [r["method"], r["chain"], r["class"], r["iou"], r["dice"], r["precision"], r["recall"],
         int(r["support"]), r["per_image_iou"], r["defect_recall"], r["defect_precision"],
         r["boundary_f1"]]
        for r in frame.to_dict("records")
    ]
    return Table(
        "per_class",
        "Per-class figures",
        ["Method", "Post-processing", "Class", "IoU", "Dice", "Precision", "Recall",
         "Support (px)", "IoU per image", "Defect recall", "Defect precision", "Boundary F1"],
        rows,
        "Support: ground-truth pixels of the class over the split (ignored pixels excluded).",
    )


def image_level_table(results: EvalResults) -> Table:
    rows = []
    for e in results.entries:
        il = e["image_level"]
        rows.append([e["method"], e["chain"], il["tp"], il["fn"], il["fp"], il["tn"],
                     il["precision"], il["recall"], il["f1"], il["false_alarm_rate"]])
    return Table(
        "image_level",
        "Part level: OK/NG decision",
        ["Method", "Post-processing", "NG found", "NG missed", "False alarms", "OK passed",
         "Precision", "Recall", "F1", "False-alarm rate"],
        rows,
        f"A part is NG when it holds a defect region of at least "
        f"{results.rule.min_area} px, mean confidence >= {results.rule.min_confidence} "
        "(configs/decision/; the same rule judges ground truth, on areas alone).",
    )


def defect_size_table(results: EvalResults) -> Table:
    thresholds = results.settings.size_thresholds
    bounds = {"small": f"< {thresholds[0]}", "medium": f"{thresholds[0]}-{thresholds[1] - 1}",
              "large": f">= {thresholds[1]}"}
    header = ["Method", "Post-processing"]
    counts = {}
    if results.entries:
        by_size = results.entries[0]["defect_level"]["by_size"]
        counts = {s: by_size[s]["gt_regions"] for s in SIZE_NAMES}
    header += [f"Recall {s} ({bounds[s]} px, n={counts.get(s, 0)})" for s in SIZE_NAMES]
    header += [f"Precision {s}" for s in SIZE_NAMES]
    rows = []
    for e in results.entries:
        by_size = e["defect_level"]["by_size"]
        rows.append([e["method"], e["chain"], *[by_size[s]["recall"] for s in SIZE_NAMES],
                     *[by_size[s]["precision"] for s in SIZE_NAMES]])
    return Table("defect_size", "Defect level by size", header, rows,
                 "Ground-truth regions are bucketed by their area, predicted ones by theirs.")


def defect_class_table(results: EvalResults) -> Table:
    defect_classes = results.classes[1:]
    header = ["Method", "Post-processing"]
    header += [f"Recall {c}" for c in defect_classes] + [f"Precision {c}" for c in defect_classes]
    rows = []
    for e in results.entries:
        pc = e["defect_level"]["per_class"]
        rows.append([e["method"], e["chain"], *[pc[c]["recall"] for c in defect_classes],
                     *[pc[c]["precision"] for c in defect_classes]])
    return Table("defect_class", "Defect level by class", header, rows)


def instance_table(results: EvalResults) -> Table | None:
    rows = []
    for e in results.entries:
        inst = e["instances"]
        if not inst:
            continue
        rows.append([e["method"], e["chain"], inst["tp"] + inst["fn"], inst["tp"] + inst["fp"],
                     inst["tp"], inst["fp"], inst["fn"], inst["precision"], inst["recall"],
                     inst["f1"], inst["AP"], inst["AP50"], inst["AP75"]])
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
        "0.50:0.95), AP50, AP75 from pycocotools over every scored instance; '–' without scores.",
    )


def gain_table(results: EvalResults) -> Table | None:
    gains = results.gains()
    if not gains:
        return None
    rows = [[g["method"], g["chain"], g["step"], g["reference"], g["delta_mIoU"],
             g["delta_mDice"], g["delta_defect_recall"], g["delta_image_f1"],
             g["delta_boundary_f1"], _ms(g["delta_ms_per_image"], signed=True)] for g in gains]
    return Table(
        "gain",
        "What each post-processing step brings",
        ["Method", "Chain", "Step", "Relative to", "Δ mIoU", "Δ mDice", "Δ Defect recall",
         "Δ Image F1", "Δ Boundary F1", "Δ ms/image"],
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
    rows: list[list[Any]] = [[k, v] for k, v in d.items()
                             if k not in ("pixel_support", "image_sizes")]
    sizes: Sequence[str] = d.get("image_sizes", [])
    rows.append(["image sizes", ", ".join(sizes[:10]) + (" ..." if len(sizes) > 10 else "")])
    for name, pixels in d.get("pixel_support", {}).items():
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
        image_level_table(results),
        defect_size_table(results),
        defect_class_table(results),
        instance_table(results),
        gain_table(results),
        failure_table(results),
        dataset_table(results),
    ]
    return {t.key: t for t in tables if t is not None}
