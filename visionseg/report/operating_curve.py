"""The report's operating-curve section: what a calibration chose, and what it changes.

False-reject rate on good parts against escape rate on defective parts over every swept
rule of each method (calibration split), the chosen rule and the configured one marked;
then the reported split's part-level confusion matrix under both rules, side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from visionseg.calibration.choose import rule_text
from visionseg.calibration.results import MethodCalibration, PartCounts
from visionseg.report import plots
from visionseg.report.document import Figure, Section, Table

if TYPE_CHECKING:
    from visionseg.evaluation.results import EvalResults


def operating_curve_section(results: EvalResults, found: Sequence[MethodCalibration]
                            ) -> Section | None:
    """The section, or None when no calibration ran."""
    if not found:
        return None
    first = found[0]
    text = [
        f"Each method's part rule was chosen on split '{first.split}' (post-processing "
        f"'{first.chain}') for {first.target.describe()}, among the swept rules of a shared "
        f"minimum area, minimum confidence and pixel threshold. Ground truth is judged by "
        f"the configured rule ({rule_text(results.rule)}, areas only). The confusion matrices "
        f"below are on the reported split '{first.evaluated_split}', which the choice never saw."
    ]
    return Section("Operating curve (calibrated OK/NG)", text, [
        Figure("operating_curve", "False-reject rate vs escape rate of the swept rules "
               "(calibration split); star = chosen, cross = configured rule",
               curve_chart(found)),
        _chosen_table(found),
        _confusion_table(found),
    ])


def _chosen_table(found: list[MethodCalibration]) -> Table:
    rows = [[m.method, m.target.setting, rule_text(m.chosen),
             m.chosen_counts.false_reject_rate, m.chosen_counts.escape_rate,
             m.default_counts.false_reject_rate, m.default_counts.escape_rate,
             m.checkpoint or m.rule_file] for m in found]
    return Table("calibration_chosen", "Chosen rule per method (calibration split)",
                 ["method", "target", "chosen rule", "false-reject rate", "escape rate",
                  "configured: false-reject", "configured: escape", "written to"], rows)


def _confusion_table(found: list[MethodCalibration]) -> Table:
    rows = []
    for m in found:
        for label, counts in (("configured", m.evaluated_default),
                              ("calibrated", m.evaluated_chosen)):
            rows.append([m.method, label, *_cells(counts)])
    return Table("calibration_confusion",
                 f"Part-level confusion on split '{found[0].evaluated_split}'",
                 ["method", "rule", "good->OK", "good->NG (false reject)",
                  "defective->OK (escape)", "defective->NG", "false-reject rate",
                  "escape rate"], rows)


def _cells(c: PartCounts) -> list:
    return [c.matrix[0][0], c.false_rejects, c.escapes, c.matrix[1][1], c.false_reject_rate,
            c.escape_rate]


def curve_chart(found: list[MethodCalibration]) -> bytes:
    """One scatter per method; its lower-left front joined by a line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for colour, m in zip(plots._colours(len(found)), found, strict=True):
        xs, ys = zip(*m.curve, strict=True) if m.curve else ((), ())
        ax.scatter(xs, ys, s=10, color=colour, alpha=0.35)
        front = _front(m.curve)
        ax.plot([p[0] for p in front], [p[1] for p in front], color=colour, label=m.method)
        c, d = m.chosen_counts, m.default_counts
        ax.scatter([c.false_reject_rate], [c.escape_rate], marker="*", s=220, color=colour,
                   edgecolor="black", zorder=3)
        ax.scatter([d.false_reject_rate], [d.escape_rate], marker="x", s=80, color=colour,
                   zorder=3)
    ax.set_xlabel("false-reject rate (good parts judged NG)")
    ax.set_ylabel("escape rate (defective parts judged OK)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return plots.png_bytes(fig)


def _front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both rates, by false-reject rate."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points):
        if not front or y < front[-1][1]:
            front.append((x, y))
    return front
