"""``python -m visionseg.tabular.measure assignment=A.csv outcomes=O.csv output=DIR``.

Measures a campaign designed by ``visionseg.tabular.campaign``: joins the assignment with the
outcomes after the campaign (a 0/1 conversion column and/or revenue per customer), and per
segment and overall computes the lift of treatment over control with its confidence
interval, the p-value and its Holm correction over the segments, and the sample size a
minimum detectable effect would have needed (:mod:`visionseg.tabular.lift`). Writes
``lift.csv``, ``lift.html``, ``lift.md`` and the chart under ``figures/``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from visionseg.report.document import Figure, Section
from visionseg.tabular.cleaning import require_columns
from visionseg.tabular.config import load_config, run_cli
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import ReaderOptions, parse_amounts, read_table
from visionseg.tabular.lift import Lift, holm, mean_lift, proportion_lift
from visionseg.tabular.plots import figure, frame_table, write_section_report

log = logging.getLogger("visionseg.tabular.measure")
USAGE = """usage:
  python -m visionseg.tabular.measure assignment=assignment.csv outcomes=outcomes.csv \\
      output=DIR [columns.converted=converted] [columns.revenue=revenue] [mde=0.02]

All settings: configs/tabular/measure.yaml; documentation: docs/tabular.md."""
GROUPS = ("treatment", "control")


def joined_outcomes(cfg: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """The assignment with one column per outcome, and the notes on what was joined."""
    assignment = read_table(cfg["assignment"], ReaderOptions())
    require_columns(assignment, ["customer", "segment", "name", "group"], cfg["assignment"])
    bad = sorted(set(assignment["group"].astype(str)) - set(GROUPS))
    if bad:
        raise TabularInputError(f"{cfg['assignment']}: column 'group' has values {bad}; "
                                f"expected {list(GROUPS)}")
    if cfg["missing_outcome"] not in ("zero", "drop"):
        raise TabularInputError(f"missing_outcome must be zero or drop, not "
                                f"{cfg['missing_outcome']!r}")
    cols = cfg["columns"]
    metrics = [m for m in ("converted", "revenue") if cols[m]]
    if not metrics:
        raise TabularInputError("set columns.converted and/or columns.revenue")
    outcomes = read_table(cfg["outcomes"], ReaderOptions())
    require_columns(outcomes, [cols["customer"], *(cols[m] for m in metrics)], cfg["outcomes"])
    table = pd.DataFrame({"customer": outcomes[cols["customer"]].astype(str).str.strip()})
    for m in metrics:
        values = parse_amounts(outcomes[cols[m]].replace({True: 1, False: 0}))
        if values.isna().all():
            raise TabularInputError(f"{cfg['outcomes']}: column '{cols[m]}' holds no numbers")
        table[m] = values.to_numpy()
    if "converted" in table and not table["converted"].dropna().isin([0, 1]).all():
        raise TabularInputError(f"{cfg['outcomes']}: column '{cols['converted']}' must be 0/1")
    if table["customer"].duplicated().any():
        raise TabularInputError(f"{cfg['outcomes']}: a customer appears more than once")
    assignment["customer"] = assignment["customer"].astype(str).str.strip()
    merged = assignment.merge(table, on="customer", how="left")
    missing = int(merged[metrics].isna().any(axis=1).sum())
    notes = [f"{len(assignment):,} assigned customers, {len(outcomes):,} outcome rows"]
    if missing and cfg["missing_outcome"] == "drop":
        merged = merged.dropna(subset=metrics)
        notes.append(f"{missing:,} assigned customers without an outcome dropped")
    elif missing:
        merged[metrics] = merged[metrics].fillna(0.0)
        notes.append(f"{missing:,} assigned customers without an outcome counted as no "
                     "conversion and no revenue (missing_outcome=zero)")
    return merged, notes


def _one(part: pd.DataFrame, metric: str, cfg: Mapping[str, Any]) -> Lift:
    t = part.loc[part["group"] == "treatment", metric].to_numpy(dtype="float64")
    c = part.loc[part["group"] == "control", metric].to_numpy(dtype="float64")
    confidence, power = float(cfg["confidence"]), float(cfg["power"])
    if metric == "converted":
        return proportion_lift(int(t.sum()), len(t), int(c.sum()), len(c), confidence,
                               cfg["mde"], power)
    return mean_lift(t, c, confidence, int(cfg["bootstrap"]), int(cfg["seed"]),
                     cfg["mde_revenue"], power)


def lift_table(merged: pd.DataFrame, cfg: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (metric, segment) plus an ``all`` row per metric."""
    rows = []
    for metric in [m for m in ("converted", "revenue") if m in merged]:
        per = []
        for (seg, name), part in merged.groupby(["segment", "name"], sort=True):
            per.append({"segment": str(seg), "name": name, **asdict(_one(part, metric, cfg))})
        adjusted = holm(np.array([r["p_value"] for r in per]))
        for row, p in zip(per, adjusted, strict=True):
            row["p_holm"] = p
        overall = {"segment": "all", "name": "all targeted customers",
                   **asdict(_one(merged, metric, cfg)), "p_holm": float("nan")}
        rows += per + [overall]
    return pd.DataFrame(rows)


def lift_figure(table: pd.DataFrame) -> Figure:
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        part = table[table["metric"] == metric].reset_index(drop=True)
        y = np.arange(len(part))
        err = np.vstack([part["lift"] - part["ci_low"], part["ci_high"] - part["lift"]])
        ax.errorbar(part["lift"], y, xerr=np.abs(err), fmt="o", capsize=4, color="#1f77b4")
        ax.axvline(0, color="#888", linestyle="--")
        ax.set_yticks(y, [f"{s}: {n}" for s, n in zip(part["segment"], part["name"],
                                                        strict=True)], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("conversion lift (points)" if metric == "conversion"
                      else "revenue lift per customer")
        ax.set_title(f"{metric}: lift with its interval", fontsize=9)
    return figure("lift", "lift per segment (treatment minus control) with confidence "
                  "intervals; the dashed line is no effect", fig)


def lift_sentences(table: pd.DataFrame, confidence: float) -> list[str]:
    out = []
    for row in table.itertuples(index=False):
        unit = "points" if row.metric == "conversion" else "per customer"
        scale = 100 if row.metric == "conversion" else 1
        verdict = ("significant after Holm's correction" if row.p_holm < 1 - confidence
                   else "not significant after Holm's correction" if np.isfinite(row.p_holm)
                   else f"p={row.p_value:.2g}")
        needed = (f"; an effect of the configured size needed {row.required_n:,.0f} customers "
                  "per group" if np.isfinite(row.required_n) else "")
        out.append(f"{row.metric}, {row.name}: lift {row.lift * scale:+.2f} {unit} "
                   f"({confidence:.0%} interval {row.ci_low * scale:+.2f} to "
                   f"{row.ci_high * scale:+.2f}; treatment {row.treatment_n:,}, control "
                   f"{row.control_n:,}), {verdict}{needed}.")
    return out


def measure_task(overrides: list[str]) -> int:
    cfg = load_config("measure", overrides)
    out = Path(cfg["output"])
    if out.exists() and not out.is_dir():
        raise TabularInputError(f"output={out} exists and is not a folder")
    merged, notes = joined_outcomes(cfg)
    table = lift_table(merged, cfg)
    chart = lift_figure(table)
    section = Section("Lift per segment", [*notes, *lift_sentences(table, cfg["confidence"])],
                      [frame_table("lift", "Lift per segment and overall", table), chart])
    write_section_report(out, "lift", cfg["title"], section, table)
    for line in lift_sentences(table, cfg["confidence"]):
        log.info("%s", line)
    log.info("wrote lift.csv, lift.html, lift.md in %s", out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m visionseg.tabular.measure``; returns the exit status."""
    return run_cli(measure_task, argv, USAGE)


if __name__ == "__main__":
    sys.exit(main())
