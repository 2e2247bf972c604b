"""A report as sections of text, tables and figures, independent of the output format.

Shared by the evaluation report and the tabular report; :mod:`visionseg.report.html` and
:mod:`visionseg.report.markdown` render it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """A titled table of raw values; renderers format them with :func:`fmt`."""

    key: str
    title: str
    header: list[str]
    rows: list[list[Any]]
    note: str = ""
    signed: set[int] = field(default_factory=set)  # column indices shown with a sign (deltas)


def fmt(value: Any, signed: bool = False) -> str:
    """Three decimals for ratios, integers as they are, NaN/None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:+.3f}" if signed else f"{value:.3f}"
    return str(value)


@dataclass
class Figure:
    key: str  # file stem under figures/
    caption: str
    png: bytes


@dataclass
class ImageGrid:
    """Small images side by side, each with a caption (a gallery row)."""

    key: str  # file stem prefix under figures/
    title: str
    cells: list[tuple[str, bytes]]  # (caption, PNG bytes)


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[Table | Figure | ImageGrid] = field(default_factory=list)
