"""Score methods x post-processing chains on a split and write the comparison report.

``evaluate`` computes the figures; ``evaluate_and_report`` also writes report.html,
report.md, metrics.csv, metrics.json and per_image.csv (what train.py and evaluate.py call).
"""

from visionseg.evaluation.pipeline import evaluate_and_report
from visionseg.evaluation.results import EvalResults, Failure
from visionseg.evaluation.runner import Identity, TrainPairs, evaluate
from visionseg.evaluation.settings import EvalSettings

__all__ = [
    "EvalResults",
    "EvalSettings",
    "Failure",
    "Identity",
    "TrainPairs",
    "evaluate",
    "evaluate_and_report",
]
