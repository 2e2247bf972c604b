"""``python -m visionseg.tabular.campaign model=M input=FILE output=assignment.csv holdout=0.1``.

Campaign design: every scored customer of the targeted segments goes to ``treatment`` or to
a seeded ``control`` group that holds the same share (``holdout``) of every segment, so the
lift can later be measured per segment (``python -m visionseg.tabular.measure``). Noise
customers are never targeted. The split is exact per segment: round(holdout * n) controls.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from visionseg.io import write_csv
from visionseg.tabular.algorithms.base import NOISE
from visionseg.tabular.config import load_config, run_cli
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.scoring import score_from_config

log = logging.getLogger("visionseg.tabular.campaign")
USAGE = """usage:
  python -m visionseg.tabular.campaign model=DIR/model.joblib input=FILE output=assignment.csv \\
      holdout=0.1 [segments=[0,2]] [seed=0]

Writes customer, segment, name, confidence, group (treatment | control).
All settings: configs/tabular/campaign.yaml; documentation: docs/tabular.md."""


def stratified_holdout(segments: np.ndarray, holdout: float, seed: int) -> np.ndarray:
    """``"control"`` for round(holdout * n) random customers of every segment, else
    ``"treatment"``; the same seed and input give the same split."""
    if not 0 < holdout < 1:
        raise TabularInputError(f"holdout={holdout} must be between 0 and 1")
    rng = np.random.default_rng(seed)
    groups = np.full(len(segments), "treatment", dtype=object)
    for seg in np.unique(segments):
        members = np.flatnonzero(segments == seg)
        n_control = int(round(holdout * len(members)))
        groups[rng.permutation(members)[:n_control]] = "control"
    return groups


def campaign_task(overrides: list[str]) -> int:
    cfg = load_config("campaign", overrides)
    output, model, scores, _ = score_from_config(cfg)
    targeted = scores[scores["segment"] != NOISE]
    if cfg["segments"] is not None:
        wanted = {int(s) for s in cfg["segments"]}
        unknown = sorted(wanted - {int(s) for s in model.names})
        if unknown:
            raise TabularInputError(f"segments={sorted(wanted)}: the model has no segment "
                                    f"{unknown}; it has {sorted(model.names)}")
        targeted = targeted[targeted["segment"].isin(wanted)]
    if targeted.empty:
        raise TabularInputError(f"{cfg['input']}: no customer falls in the targeted segments")
    assignment = targeted.assign(group=stratified_holdout(
        targeted["segment"].to_numpy(), float(cfg["holdout"]), int(cfg["seed"])))
    write_csv(output, assignment)
    counts = pd.crosstab(assignment["name"], assignment["group"])
    for name, row in counts.iterrows():
        log.info("  %s: %d treatment, %d control", name, row.get("treatment", 0),
                 row.get("control", 0))
    log.info("wrote %s (%d customers, seed %d)", output, len(assignment), cfg["seed"])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m visionseg.tabular.campaign``; returns the exit status."""
    return run_cli(campaign_task, argv, USAGE)


if __name__ == "__main__":
    sys.exit(main())
