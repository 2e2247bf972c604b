"""Write the comparison report and its tables into an output folder, every file atomically.

```
DIR/report.html     self-contained page (base64 images, inline CSS)
DIR/report.md       the same tables; figures from DIR/figures/*.png
DIR/metrics.json    every figure per method and chain (NaN as null)
DIR/metrics.csv     one row per method x chain x class
DIR/per_image.csv   one row per method x chain x image
```
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from visionseg.calibration.results import METRICS_KEY, MethodCalibration
from visionseg.io.atomic import atomic_path, write_csv, write_json, write_text
from visionseg.report.document import Figure, ImageGrid
from visionseg.report.html import render_html
from visionseg.report.markdown import grid_file, render_markdown
from visionseg.report.sections import build_sections

if TYPE_CHECKING:
    from visionseg.evaluation.results import EvalResults


def write_report(
    results: EvalResults, output_dir: str | os.PathLike, title: str | None = None,
    calibrations: Sequence[MethodCalibration] = (),
) -> dict[str, Path]:
    """Write every output; returns their paths by name. Figures are written before the
    pages that reference them, tables last; calibrations go into the report and, under
    ``calibration``, into metrics.json."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = title or "visionseg comparison report"
    sections = build_sections(results, calibrations)
    paths: dict[str, Path] = {}
    for section in sections:
        for item in section.items:
            if isinstance(item, Figure):
                files = [(f"{item.key}.png", item.png)]
            elif isinstance(item, ImageGrid):
                files = [(grid_file(item, i), png) for i, (_, png) in enumerate(item.cells)]
            else:
                continue
            for name, png in files:
                path = out / "figures" / name
                with atomic_path(path) as tmp:
                    tmp.write_bytes(png)
                paths[f"figures/{name}"] = path
    pages = {
        "report.md": render_markdown(title, sections),
        "report.html": render_html(title, sections),
    }
    for name, text in pages.items():
        write_text(out / name, text)
        paths[name] = out / name
    metrics = results.to_json()
    if calibrations:
        metrics[METRICS_KEY] = [c.to_dict() for c in calibrations]
    write_json(out / "metrics.json", metrics)
    write_csv(out / "metrics.csv", results.metrics_frame())
    write_csv(out / "per_image.csv", results.per_image_frame())
    for name in ("metrics.json", "metrics.csv", "per_image.csv"):
        paths[name] = out / name
    return paths
