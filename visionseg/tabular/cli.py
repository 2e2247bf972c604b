"""``python -m visionseg.tabular key=value ...``: fit a segmentation and write its outputs.

Outputs in ``output=DIR``: ``assignments.csv``, ``profiles.csv``, ``k_selection.csv``,
``model.joblib``, ``report.html`` and ``report.md``. Everything is computed before the first
file is written, and each file is written atomically, so a failed run leaves no partial
output.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from threadpoolctl import threadpool_limits

from visionseg.io import atomic_path, write_csv, write_text
from visionseg.tabular.config import load_config, run_cli
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.results import FitResult

log = logging.getLogger("visionseg.tabular")
OUTPUTS = ("assignments.csv", "profiles.csv", "k_selection.csv", "model.joblib", "report.html",
           "report.md", "figures")
USAGE = """usage: python -m visionseg.tabular input=FILE output=DIR [key=value ...]

Segments customers from a transactions table (CSV/text or Parquet) or, with
input_kind=customers, from a customer table. Common overrides:
  reader.sep=whitespace  columns.customer=ID  columns.date=DATE  columns.amount=AMOUNT
  columns.date_format=%Y%m%d  algorithm=kmeans|minibatch_kmeans|gmm|hdbscan|ward|gower|
  kprototypes|spectral|autoencoder  k=auto|N  features.validation_months=3
All settings: configs/tabular/fit.yaml; documentation: docs/tabular.md."""


def check_output_dir(path: str | Path) -> Path:
    """The output folder must be a folder (or not exist yet)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise TabularInputError(f"output={out} exists and is not a folder")
    return out


def write_outputs(result: FitResult, out: Path) -> list[Path]:
    """Render everything in memory first, then write each file atomically."""
    from visionseg.tabular.report import FIGURE_DIR, render

    html, markdown, figures = render(result)
    (out / FIGURE_DIR).mkdir(parents=True, exist_ok=True)
    for fig in figures:
        with atomic_path(out / FIGURE_DIR / f"{fig.key}.png") as tmp:
            tmp.write_bytes(fig.png)
    write_csv(out / "assignments.csv", result.assignments)
    write_csv(out / "profiles.csv", result.profiles)
    write_csv(out / "k_selection.csv", result.k_selection.table)
    result.model.save(out / "model.joblib")
    write_text(out / "report.html", html)
    write_text(out / "report.md", markdown)
    return [out / name for name in OUTPUTS]


def fit_task(overrides: list[str]) -> int:
    cfg = load_config("fit", overrides)
    out = check_output_dir(cfg["output"])
    threads = cfg["threads"]
    start = time.perf_counter()
    with threadpool_limits(limits=threads):
        result = fit_segmentation(cfg)
        written = time.perf_counter()
        paths = write_outputs(result, out)
        log.info("%-22s %6.1f s", "report and outputs", time.perf_counter() - written)
    from visionseg.tabular.report import summary_lines

    for line in summary_lines(result):
        log.info("%s", line)
    log.info("wrote %s in %.1f s", ", ".join(p.name for p in paths), time.perf_counter() - start)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m visionseg.tabular``; returns the exit status."""
    return run_cli(fit_task, argv, USAGE)


if __name__ == "__main__":
    sys.exit(main())
