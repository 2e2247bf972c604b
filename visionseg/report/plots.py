"""The report's charts, drawn with matplotlib's Agg backend (no display) into PNG bytes."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import cv2
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from visionseg.metrics.defect_level import SIZE_NAMES  # noqa: E402
from visionseg.report.overlay import overlay  # noqa: E402

if TYPE_CHECKING:
    from visionseg.evaluation.results import EvalResults, GalleryItem


def png_bytes(fig: Figure, dpi: int = 96) -> bytes:
    """Render and close a figure; PNG without software metadata."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _nan0(values) -> np.ndarray:
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)


def _colours(n: int) -> list:
    """Distinct colours for ``n`` pairs (tab10, or tab20 beyond ten)."""
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def ranking_chart(results: EvalResults) -> bytes:
    """Defect mIoU, defect recall and image F1 of every pair, best defect mIoU on top."""
    ranking = results.ranking()[::-1]
    labels = [f"{h.method} / {h.chain}" for h in ranking]
    keys = [("defect_miou", "Defect mIoU"), ("defect_recall", "Defect recall"),
            ("image_f1", "Image F1")]
    height = 1.2 + 0.32 * len(labels)
    fig, axes = plt.subplots(1, 3, figsize=(12, height), sharey=True)
    for ax, (key, title) in zip(axes, keys, strict=True):
        values = [getattr(h, key) for h in ranking]
        bars = ax.barh(labels, _nan0(values), color="#4c72b0")
        for bar, value in zip(bars, values, strict=True):
            text = "n/a" if math.isnan(value) else f"{value:.3f}"
            ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, text,
                    va="center", fontsize=8)
        ax.set_xlim(0, 1.15)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def per_class_chart(results: EvalResults) -> bytes:
    """Grouped bars: IoU of each defect class for each pair."""
    classes = results.classes[1:] or results.classes
    entries = results.entries
    width = 0.8 / max(len(entries), 1)
    x = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(classes) + 0.25 * len(entries)), 4))
    colours = _colours(len(entries))
    for k, entry in enumerate(entries):
        values = _nan0([entry.pixel.per_class[c].iou for c in classes])
        ax.bar(x + (k - (len(entries) - 1) / 2) * width, values, width, label=entry.label,
               color=colours[k])
    ax.set_xticks(x, classes)
    ax.set_ylim(0, 1)
    ax.set_ylabel("IoU")
    ax.set_title("IoU per defect class")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=max(1, len(entries) // 12 + 1), bbox_to_anchor=(1.01, 1),
              loc="upper left")
    return png_bytes(fig)


def size_chart(results: EvalResults) -> bytes:
    """Grouped bars: defect recall per size bucket for each pair."""
    entries = results.entries
    width = 0.8 / max(len(entries), 1)
    x = np.arange(len(SIZE_NAMES))
    fig, ax = plt.subplots(figsize=(max(6, 2 + 0.25 * len(entries)), 4))
    colours = _colours(len(entries))
    for k, entry in enumerate(entries):
        by_size = entry.defect_level.by_size
        values = _nan0([by_size[s].recall for s in SIZE_NAMES])
        ax.bar(x + (k - (len(entries) - 1) / 2) * width, values, width, label=entry.label,
               color=colours[k])
    counts = ({s: f.gt_regions for s, f in entries[0].defect_level.by_size.items()}
              if entries else {})
    ax.set_xticks(x, [f"{s}\n(n={counts.get(s, 0)})" for s in SIZE_NAMES])
    ax.set_ylim(0, 1)
    ax.set_ylabel("Defect recall")
    ax.set_title("Defect recall by size")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return png_bytes(fig)


def confusion_chart(results: EvalResults) -> bytes:
    """Row-normalised pixel confusion matrix of every pair (rows: truth, columns: prediction)."""
    entries = results.entries
    cols = min(4, max(1, len(entries)))
    rows = math.ceil(len(entries) / cols) if entries else 1
    n = len(results.classes)
    cell = 0.55 * n + 1.4
    fig, axes = plt.subplots(rows, cols, figsize=(cell * cols, cell * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, entry in zip(axes.ravel(), entries, strict=False):
        matrix = np.asarray(entry.pixel.confusion_matrix, dtype=np.float64)
        totals = matrix.sum(axis=1, keepdims=True)
        norm = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        ax.axis("on")
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for (i, j), value in np.ndenumerate(norm):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.6 else "black")
        ax.set_xticks(range(n), results.classes, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(n), results.classes, fontsize=7)
        ax.set_title(entry.label, fontsize=8)
    fig.supxlabel("predicted", fontsize=9)
    fig.supylabel("ground truth", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)


def gain_chart(results: EvalResults) -> bytes | None:
    """Change in defect mIoU and defect recall that each post-processing step brings."""
    gains = results.gains()
    if not gains:
        return None
    labels = [f"{g.method}: {g.reference} -> +{g.step}" for g in gains][::-1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.2 + 0.32 * len(labels)), sharey=True)
    for ax, (key, title) in zip(axes, [("delta_defect_miou", "Δ defect mIoU"),
                                       ("delta_defect_recall", "Δ defect recall")], strict=True):
        values = _nan0([getattr(g, key) for g in gains][::-1])
        ax.barh(labels, values, color=["#55a868" if v >= 0 else "#c44e52" for v in values])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def encode_png(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise ValueError("OpenCV could not encode a gallery image")
    return data.tobytes()


def gallery_cells(item: GalleryItem, classes: list[str]) -> list[tuple[str, bytes]]:
    """Captioned PNGs: the image, its ground truth, then every pair's prediction overlaid."""
    n = len(classes)
    cells = [("image", encode_png(item.image)),
             ("ground truth", encode_png(overlay(item.image, item.gt, n)))]
    for panel in item.panels:
        caption = f"{panel.method} / {panel.chain}"
        if panel.mask is None:
            grey = np.full_like(item.image, 200)
            cells.append((f"{caption}: failed", encode_png(grey)))
            continue
        score = "n/a" if math.isnan(panel.defect_miou) else f"{panel.defect_miou:.2f}"
        cells.append((f"{caption}: defect mIoU {score}",
                      encode_png(overlay(item.image, panel.mask, n))))
    return cells


def class_legend(classes: list[str]) -> bytes:
    """Colour key of the overlay palette."""
    from visionseg.report.overlay import palette

    colours = palette(len(classes)) / 255.0
    fig, ax = plt.subplots(figsize=(1.6 * len(classes), 0.4))
    for i, (name, colour) in enumerate(zip(classes, colours, strict=True)):
        ax.add_patch(plt.Rectangle((i, 0), 0.3, 1, color=colour))
        ax.text(i + 0.38, 0.5, name, va="center", fontsize=8)
    ax.set_xlim(0, len(classes))
    ax.set_ylim(0, 1)
    ax.axis("off")
    return png_bytes(fig)
