"""Scoring new customers with a saved model: the step ``score`` and ``campaign`` share.

The input is read and cleaned as at training time (reader and column settings come from the
model unless the config overrides them), features are computed at the input's own reference
date (the day after its last transaction, or ``reference_date=``), every customer gets
``segment, name, confidence``, and the drift findings against the training customers
(feature PSI, segment-share PSI, mean confidence, silhouette on a sample) come with them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from visionseg.tabular.drift import DriftFindings, findings
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import read_table
from visionseg.tabular.k_selection import sampled_silhouette
from visionseg.tabular.model import SegmentationModel

log = logging.getLogger("visionseg.tabular.score")


def _override(options: Any, values: Mapping[str, Any] | None) -> Any:
    changes = {k: v for k, v in dict(values or {}).items() if v is not None}
    return dataclasses.replace(options, **changes) if changes else options


def score_table(model: SegmentationModel, path: str | Path, cfg: Mapping[str, Any]
                ) -> tuple[pd.DataFrame, DriftFindings]:
    """Assignments for the customers in ``path``, and the drift findings."""
    table_input = cfg["customer_table"]["input"] or model.customer_table.get("input")
    model = dataclasses.replace(model, reader=_override(model.reader, cfg["reader"]),
                                columns=_override(model.columns, cfg["columns"]),
                                customer_table={**model.customer_table, "input": table_input})
    table = read_table(path, model.reader)
    features, quality = model.customer_features(table, str(path), bool(cfg["strict"]),
                                                cfg["reference_date"])
    for line in [*quality.console_lines(), *quality.notes]:
        log.info("%s", line)
    scores = model.assign(features)
    labels = scores["segment"].to_numpy()
    matrix = model.preprocessor.transform(features)
    silhouette = sampled_silhouette(matrix, labels, int(cfg["silhouette_sample"]), 0)
    found = findings(model.drift, features, labels, scores["confidence"].to_numpy(),
                     silhouette, str(path), quality.reference_date)
    return scores, found


def score_from_config(
    cfg: Mapping[str, Any],
) -> tuple[Path, SegmentationModel, pd.DataFrame, DriftFindings]:
    """Check ``output`` (a CSV file name), then score ``input`` with the saved ``model``:
    the shared first step of ``score`` and ``campaign``."""
    output = Path(cfg["output"])
    if output.is_dir():
        raise TabularInputError(f"output={output} is a folder; give a .csv file name")
    with threadpool_limits(limits=cfg["threads"]):
        model = SegmentationModel.load(cfg["model"])
        try:
            scores, found = score_table(model, cfg["input"], cfg)
        except AttributeError as exc:
            raise model_field_error(cfg["model"], exc) from None
    return output, model, scores, found


def model_field_error(path: str | Path, exc: AttributeError) -> Exception:
    """A field missing inside a loaded model's own parts (its preprocessor or clusterer,
    which load-time checks cannot see into) means an older or edited file: one line naming
    the field and saying refit. Any other AttributeError is a bug and stays a traceback."""
    owner = getattr(exc, "obj", None)
    if exc.name is None or not type(owner).__module__.startswith("visionseg.tabular"):
        return exc
    return TabularInputError(
        f"{path}: incompatible model: field {exc.name!r} of its {type(owner).__name__} is "
        "missing (written by another version of visionseg.tabular, or edited); refit the model")
