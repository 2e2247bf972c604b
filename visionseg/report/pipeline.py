"""Evaluate and write every output in one call (what train.py and evaluate.py use)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from visionseg.calibration.results import MethodCalibration
from visionseg.core.method import Method
from visionseg.core.verdict import PartRule
from visionseg.data.folder import Sample
from visionseg.evaluation.results import EvalResults
from visionseg.evaluation.runner import Chains, evaluate
from visionseg.evaluation.settings import EvalSettings
from visionseg.report.writer import write_report

log = logging.getLogger(__name__)


def evaluate_and_report(
    methods: Sequence[Method],
    samples: Sequence[Sample],
    classes: Sequence[str],
    output_dir: str | os.PathLike,
    chains: Chains = None,
    settings: EvalSettings | Mapping[str, Any] | None = None,
    train_samples: Sequence[Sample] | None = None,
    title: str | None = None,
    context: Mapping[str, Any] | None = None,
    rule: PartRule | None = None,
    calibrations: Sequence[MethodCalibration] = (),
) -> EvalResults:
    """:func:`evaluate`, then write the report and tables into ``output_dir``.

    ``context`` (e.g. ``{"split": "test", "data_root": ..., "config": {...}}``) is stored
    in metrics.json under ``context``; its scalar entries are also shown in the report.
    ``calibrations``: what ``evaluate.py calibrate.*`` found, for the operating-curve section.
    """
    results = evaluate(methods, samples, classes, chains, settings, train_samples, rule)
    results.context.update({str(k): v for k, v in (context or {}).items()})
    paths = write_report(results, output_dir, title=title, calibrations=calibrations)
    log.info("report written to %s", paths["report.html"])
    return results
