"""Helpers shared by the tabular reports: PNG figures and DataFrames as report tables.

The reports themselves are built from the package's generic report document
(:mod:`visionseg.report.document`) and rendered by its HTML and Markdown renderers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from visionseg.io import atomic_path, write_csv, write_text  # noqa: E402
from visionseg.report.document import Figure, Section, Table  # noqa: E402
from visionseg.report.html import render_html  # noqa: E402
from visionseg.report.markdown import render_markdown  # noqa: E402
from visionseg.report.plots import png_bytes  # noqa: E402


def png(fig: Any) -> bytes:
    """The figure as PNG bytes (the report's one PNG helper, at 90 dpi); closed."""
    return png_bytes(fig, dpi=90)


def figure(key: str, caption: str, fig: Any) -> Figure:
    return Figure(key=key, caption=caption, png=png(fig))


def colours(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def cell(value: Any) -> Any:
    """A plain Python value for the report: large amounts as whole numbers, NaN kept."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value) and (abs(value) >= 100 or value.is_integer()):
            return int(round(value))
        return value
    if value is None or value is pd.NaT:
        return None
    return str(value)


def frame_table(key: str, title: str, frame: pd.DataFrame, note: str = "") -> Table:
    """A DataFrame (columns as header) as a report table."""
    rows = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    return Table(key=key, title=title, header=[str(c) for c in frame.columns], rows=rows,
                 note=note)


def write_section_report(out: Path, stem: str, title: str, section: Section,
                         table: pd.DataFrame) -> None:
    """A one-section report in ``out``: ``STEM.csv``, ``STEM.html``, ``STEM.md`` and the
    section's figures under ``figures/``, each written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    for item in section.items:
        if isinstance(item, Figure):
            with atomic_path(out / "figures" / f"{item.key}.png") as tmp:
                tmp.write_bytes(item.png)
    write_csv(out / f"{stem}.csv", table)
    write_text(out / f"{stem}.html", render_html(title, [section]))
    write_text(out / f"{stem}.md", render_markdown(title, [section]))

