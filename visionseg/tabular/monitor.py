"""``python -m visionseg.tabular.monitor 'inputs=scores/*.drift.json' output=DIR``.

Reads the drift findings that ``visionseg.tabular.score`` wrote for a series of periods,
orders them by reference date, and writes the trends (``monitor.csv``, ``monitor.html``,
``monitor.md`` with plots): segment-share PSI, the largest feature PSI, each segment's share,
mean assignment confidence, silhouette on a sample, and KPIs when a KPI table is given.

The retraining trigger (thresholds in ``configs/tabular/monitor.yaml``) fires when, in the
latest period, the segment-share PSI or any feature's PSI reaches 0.25 (significant shift),
or the segment-share PSI stayed at or above 0.1 for the last ``sustained_periods`` periods,
or the mean confidence fell ``confidence_drop`` below training, or the silhouette fell
``silhouette_drop`` below training. Then the command exits with status 3 (0 otherwise, 2 for
bad input), so a scheduler can start a refit with ``previous_model=``.
"""

from __future__ import annotations

import glob
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from visionseg.report.document import Figure, Section
from visionseg.tabular.config import load_config, run_cli
from visionseg.tabular.drift import MODERATE, DriftFindings
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import ReaderOptions, read_table
from visionseg.tabular.plots import colours, figure, frame_table, write_section_report

log = logging.getLogger("visionseg.tabular.monitor")
EXIT_RETRAIN = 3
USAGE = """usage:
  python -m visionseg.tabular.monitor 'inputs=scores/*.drift.json' output=DIR [kpis=kpis.csv]

Exit status 3 when the retraining trigger fires, 0 when it does not, 2 for bad input.
All settings: configs/tabular/monitor.yaml; documentation: docs/tabular.md."""


def drift_files(inputs: Any) -> list[Path]:
    """The drift files named by a glob or a list (each entry may be a glob)."""
    patterns = [inputs] if isinstance(inputs, str) else list(inputs)
    paths = [Path(p) for pattern in patterns for p in sorted(glob.glob(str(pattern)))]
    if not paths:
        raise TabularInputError(f"inputs={inputs}: no drift file matches")
    return paths


def read_findings(paths: Sequence[Path]) -> list[DriftFindings]:
    """Load and order the periods by reference date (file order where dates are missing)."""
    periods = []
    for path in paths:
        try:
            periods.append(DriftFindings.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TabularInputError(f"{path}: not a drift file written by "
                                    f"visionseg.tabular.score ({exc!r})") from None
    return sorted(periods, key=lambda f: f.reference_date or "")


def trend_table(periods: Sequence[DriftFindings]) -> pd.DataFrame:
    """One row per period: PSIs, confidence, silhouette and every segment's share."""
    rows = []
    for i, f in enumerate(periods):
        worst = max(f.feature_psi, key=f.feature_psi.get) if f.feature_psi else None
        row = {"period": f.reference_date or f"#{i + 1}", "input": f.input,
               "customers": f.customers, "segment_psi": f.segment_psi,
               "max_feature_psi": f.feature_psi[worst] if worst else float("nan"),
               "max_feature": worst or "", "mean_confidence": f.mean_confidence,
               "training_confidence": f.training_mean_confidence, "silhouette": f.silhouette,
               "training_silhouette": f.training_silhouette}
        row.update({f"share_{k}": v for k, v in sorted(f.segment_shares.items())})
        rows.append(row)
    return pd.DataFrame(rows).fillna({c: 0.0 for c in rows[-1] if c.startswith("share_")})


def triggers(table: pd.DataFrame, rules: Mapping[str, Any]) -> list[str]:
    """The reasons the retraining trigger fires for the latest period (empty: it does not)."""
    last = table.iloc[-1]
    fired = []
    if last["segment_psi"] >= rules["segment_psi"]:
        fired.append(f"segment-share PSI {last['segment_psi']:.3f} >= {rules['segment_psi']}")
    if last["max_feature_psi"] >= rules["feature_psi"]:
        fired.append(f"feature {last['max_feature']} PSI {last['max_feature_psi']:.3f} >= "
                     f"{rules['feature_psi']}")
    run = int(rules["sustained_periods"])
    recent = table["segment_psi"].to_numpy()[-run:]
    if len(recent) == run and np.all(recent >= MODERATE):
        fired.append(f"segment-share PSI >= {MODERATE} in each of the last {run} periods")
    drop = last["training_confidence"] - last["mean_confidence"]
    if np.isfinite(drop) and drop >= rules["confidence_drop"]:
        fired.append(f"mean confidence {last['mean_confidence']:.3f} is {drop:.3f} below "
                     f"training ({last['training_confidence']:.3f})")
    drop = last["training_silhouette"] - last["silhouette"]
    if np.isfinite(drop) and drop >= rules["silhouette_drop"]:
        fired.append(f"silhouette {last['silhouette']:.3f} is {drop:.3f} below training "
                     f"({last['training_silhouette']:.3f})")
    return fired


def trend_figure(table: pd.DataFrame, kpis: pd.DataFrame | None) -> Figure:
    panels = 3 + (kpis is not None)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.2))
    x = np.arange(len(table))
    axes[0].plot(x, table["segment_psi"], "o-", label="segment shares")
    axes[0].plot(x, table["max_feature_psi"], "s--", label="largest feature PSI")
    for y, style in ((0.1, ":"), (0.25, "--")):
        axes[0].axhline(y, color="#d62728", linestyle=style, linewidth=1)
    axes[0].set_title("PSI against training (bands 0.1 / 0.25)", fontsize=9)
    shares = [c for c in table.columns if c.startswith("share_")]
    for col, colour in zip(shares, colours(len(shares)), strict=True):
        axes[1].plot(x, table[col], "o-", color=colour, label=col.removeprefix("share_"))
    axes[1].set_title("segment shares", fontsize=9)
    axes[2].plot(x, table["mean_confidence"], "o-", label="mean confidence")
    axes[2].plot(x, table["silhouette"], "s-", label="silhouette")
    axes[2].set_title("assignment quality", fontsize=9)
    if kpis is not None:
        for col in kpis.columns.drop("reference_date"):
            axes[3].plot(x, kpis[col].to_numpy(dtype=float), "o-", label=col)
        axes[3].set_title("KPIs", fontsize=9)
    for ax in axes:
        ax.set_xticks(x, table["period"], rotation=30, ha="right", fontsize=7)
        ax.legend(fontsize=7)
    return figure("trends", "trends over the scored periods", fig)


def _kpis(path: str | None, table: pd.DataFrame) -> pd.DataFrame | None:
    if not path:
        return None
    kpis = read_table(path, ReaderOptions())
    if "reference_date" not in kpis:
        raise TabularInputError(f"kpis={path}: needs a reference_date column, found "
                                f"{list(kpis.columns)}")
    kpis["reference_date"] = kpis["reference_date"].astype(str)
    return table[["period"]].merge(kpis, left_on="period", right_on="reference_date",
                                   how="left").drop(columns="period")


def monitor_task(overrides: list[str]) -> int:
    cfg = load_config("monitor", overrides)
    out = Path(cfg["output"])
    if out.exists() and not out.is_dir():
        raise TabularInputError(f"output={out} exists and is not a folder")
    table = trend_table(read_findings(drift_files(cfg["inputs"])))
    kpis = _kpis(cfg["kpis"], table)
    fired = triggers(table, cfg["triggers"])
    verdict = ("RETRAIN: " + "; ".join(fired)) if fired else "no retraining trigger fired"
    chart = trend_figure(table, kpis)
    items = [frame_table("trends", "Periods", table), chart]
    if kpis is not None:
        items.insert(1, frame_table("kpis", "KPIs per period", kpis))
    section = Section("Drift over time", [verdict, f"{len(table)} periods."], items)
    write_section_report(out, "monitor", cfg["title"], section, table)
    log.info("%s", verdict)
    return EXIT_RETRAIN if fired else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m visionseg.tabular.monitor``; returns the exit status."""
    return run_cli(monitor_task, argv, USAGE)


if __name__ == "__main__":
    sys.exit(main())
