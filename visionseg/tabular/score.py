"""``python -m visionseg.tabular.score model=M input=FILE output=scores.csv``.

Scores new customers with a saved model: the input is read and cleaned as at training time
(reader and column settings come from the model unless overridden), features are computed at
the input's own reference date (the day after its last transaction, or ``reference_date=``),
and every customer gets ``segment, name, confidence``. Feature drift against the training
customers (PSI) is logged.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from visionseg.io import write_csv
from visionseg.tabular.config import load_config, run_cli
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import read_table
from visionseg.tabular.pipeline import SegmentationModel

log = logging.getLogger("visionseg.tabular.score")
USAGE = """usage:
  python -m visionseg.tabular.score model=DIR/model.joblib input=FILE output=FILE.csv

Optional: reference_date=YYYY-MM-DD, strict=true, reader.*=..., columns.*=... (default: as the
model was trained). All settings: configs/tabular/score.yaml."""


def _override(options: Any, values: Mapping[str, Any] | None) -> Any:
    changes = {k: v for k, v in dict(values or {}).items() if v is not None}
    return dataclasses.replace(options, **changes) if changes else options


def score_table(model: SegmentationModel, path: str | Path, cfg: Mapping[str, Any]
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assignments for the customers in ``path``, and the feature drift table."""
    model = dataclasses.replace(
        model,
        reader=_override(model.reader, cfg.get("reader")),
        columns=_override(model.columns, cfg.get("columns")),
    )
    table = read_table(path, model.reader)
    features, quality = model.customer_features(table, str(path), bool(cfg.get("strict", False)),
                                                cfg.get("reference_date"))
    for note in quality.notes:
        log.info("%s", note)
    return model.assign(features), model.drift.feature_drift(features)


def score_task(overrides: list[str]) -> int:
    cfg = load_config("score", overrides)
    output = Path(cfg["output"])
    if output.is_dir():
        raise TabularInputError(f"output={output} is a folder; give a .csv file name")
    with threadpool_limits(limits=cfg.get("threads")):
        model = SegmentationModel.load(cfg["model"])
        scores, drift = score_table(model, cfg["input"], cfg)
    write_csv(output, scores)
    shifted = drift[drift["psi"] >= 0.1]
    if len(shifted):
        log.info("feature drift against the training customers (PSI >= 0.1): %s",
                 ", ".join(f"{r.feature} {r.psi:.2f}" for r in shifted.itertuples()))
    counts = scores["name"].value_counts()
    log.info("scored %d customers into %s; wrote %s", len(scores),
             ", ".join(f"{n} ({c})" for n, c in counts.items()), output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m visionseg.tabular.score``; returns the exit status."""
    return run_cli(score_task, argv, USAGE)


if __name__ == "__main__":
    sys.exit(main())
