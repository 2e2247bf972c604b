"""Score methods x post-processing chains on a split: typed figures, no rendering.

``evaluate`` computes the figures; :func:`visionseg.report.pipeline.evaluate_and_report`
also writes report.html, report.md, metrics.csv, metrics.json and per_image.csv.
"""

from visionseg.evaluation.entry import EntryResult, Headline, ImageRow
from visionseg.evaluation.results import EvalResults, Failure
from visionseg.evaluation.runner import Identity, evaluate
from visionseg.evaluation.settings import EvalSettings

__all__ = [
    "EntryResult",
    "EvalResults",
    "EvalSettings",
    "Failure",
    "Headline",
    "Identity",
    "ImageRow",
    "evaluate",
]
