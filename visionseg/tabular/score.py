"""``python -m visionseg.tabular.score model=M input=FILE output=scores.csv``.

The command around :mod:`visionseg.tabular.scoring`: writes every customer's ``segment, name,
confidence`` to ``output`` and the drift findings to ``drift=FILE.json`` (default: beside the
output, ``<output>.drift.json``), the input of ``python -m visionseg.tabular.monitor``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from visionseg.io import write_csv, write_json
from visionseg.tabular.algorithms.base import NOISE
from visionseg.tabular.config import load_config, run_cli
from visionseg.tabular.scoring import score_from_config

log = logging.getLogger("visionseg.tabular.score")
USAGE = """usage:
  python -m visionseg.tabular.score model=DIR/model.joblib input=FILE output=FILE.csv

Optional: drift=FILE.json, reference_date=YYYY-MM-DD, strict=true, reader.*=..., columns.*=...
(default: as the model was trained). All settings: configs/tabular/score.yaml."""


def drift_path(cfg: Mapping[str, Any]) -> Path:
    """``drift=``, or ``<output>.drift.json`` beside the scores."""
    if cfg["drift"]:
        return Path(cfg["drift"])
    output = Path(cfg["output"])
    return output.with_name(output.stem + ".drift.json")


def score_task(overrides: list[str]) -> int:
    """Score ``input`` with ``model``; write the scores and the drift findings."""
    cfg = load_config("score", overrides)
    output, _, scores, found = score_from_config(cfg)
    write_csv(output, scores)
    write_json(drift_path(cfg), found.to_json())
    for line in found.lines():
        log.info("%s", line)
    counts = scores.loc[scores["segment"] != NOISE, "name"].value_counts()
    log.info("scored %d customers into %s; wrote %s and %s", len(scores),
             ", ".join(f"{n} ({c})" for n, c in counts.items()), output, drift_path(cfg))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m visionseg.tabular.score``; returns the exit status."""
    return run_cli(score_task, argv, USAGE)


if __name__ == "__main__":
    sys.exit(main())
