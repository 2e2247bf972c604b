"""The two commands end to end, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from visionseg.tabular.cli import OUTPUTS
from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.model import SegmentationModel
from visionseg.tabular.score import main as score_main
from visionseg.tabular.synthetic import planted_transactions

FAST = ["stability.rounds=2", "stability.sample=300", "k_selection.gap_references=2",
        "report.sample=300", "k_selection.stability_rounds=0"]


def run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_fit_and_score_commands(planted_csv, tmp_path):
    out = tmp_path / "seg"
    fit = run("visionseg.tabular", f"input={planted_csv}", f"output={out}",
              "columns.categorical=[channel]", "features.validation_months=2", *FAST,
              cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg"]  # no outputs/ or logs

    assignments = pd.read_csv(out / "assignments.csv")
    assert list(assignments.columns) == ["customer", "segment", "name", "confidence"]
    assert assignments["confidence"].between(0, 1).all()
    profiles = pd.read_csv(out / "profiles.csv")
    assert {"name", "size", "share", "revenue_share", "action", "channel_top",
            "validation_retention", "stability_jaccard"} <= set(profiles.columns)
    assert profiles["size"].sum() == len(assignments)
    k_table = pd.read_csv(out / "k_selection.csv")
    assert {"inertia", "silhouette", "davies_bouldin", "calinski_harabasz", "gap", "bic", "aic",
            "min_share", "chosen"} <= set(k_table.columns)
    assert k_table["chosen"].sum() == 1

    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 6
    assert "src='http" not in html and "<script" not in html
    markdown = (out / "report.md").read_text()
    for section in ("## Choosing K", "## Segments", "## Separation", "## Stability",
                    "## External validation", "## Cohorts and order values"):
        assert section in markdown

    model = SegmentationModel.load(out / "model.joblib")
    assert model.metadata["reference_date"] and model.metadata["versions"]["scikit-learn"]
    assert model.metadata["numeric"][0] == "recency_days"

    new_tx, _ = planted_transactions(60, seed=11, id_prefix="N")
    new_csv = tmp_path / "new_customers.csv"
    new_tx.to_csv(new_csv, index=False)
    scores_csv = tmp_path / "scores.csv"
    score = run("visionseg.tabular.score", f"model={out / 'model.joblib'}", f"input={new_csv}",
                f"output={scores_csv}", cwd=tmp_path)
    assert score.returncode == 0, score.stderr
    scores = pd.read_csv(scores_csv)
    assert sorted(scores["customer"]) == sorted(new_tx["customer_id"].unique())
    assert set(scores["name"]) <= set(profiles["name"])


def fit_and_save(out: Path, fit_cfg, *overrides: str) -> pd.DataFrame:
    """The fit of the CLI without rendering the report; saves the model, returns assignments."""
    result = fit_segmentation(fit_cfg(f"output={out}", *FAST, *overrides))
    result.model.save(out / "model.joblib")
    return result.assignments.set_index("customer").sort_index()


def test_scoring_reproduces_the_fitted_assignments(planted_csv, tmp_path, capsys, fit_cfg):
    out = tmp_path / "seg"
    fitted = fit_and_save(out, fit_cfg, f"input={planted_csv}", "algorithm=kmeans")
    scores_csv = tmp_path / "scores.csv"
    assert score_main([f"model={out / 'model.joblib'}", f"input={planted_csv}",
                       f"output={scores_csv}"]) == 0
    scored = pd.read_csv(scores_csv).set_index("customer").sort_index()
    pd.testing.assert_frame_equal(fitted, scored, check_dtype=False)

    assert score_main([f"model={tmp_path / 'missing.joblib'}", f"input={planted_csv}",
                       f"output={tmp_path / 'x.csv'}"]) == 2
    assert "model file not found" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_retraining_keeps_segment_ids_and_names(planted, planted_csv, tmp_path, fit_cfg):
    first = fit_and_save(tmp_path / "first", fit_cfg, f"input={planted_csv}", "algorithm=kmeans")
    tx, _ = planted
    later_csv = tmp_path / "later.csv"
    tx.sample(frac=0.8, random_state=1).to_csv(later_csv, index=False)
    result = fit_segmentation(fit_cfg(
        f"input={later_csv}", "output=unused", "algorithm=kmeans", "seed=5", *FAST,
        f"previous_model={tmp_path / 'first' / 'model.joblib'}"))
    second = result.assignments.set_index("customer")
    common = first.index.intersection(second.index)
    a, b = first.loc[common], second.loc[common]
    assert np.mean(a["segment"].to_numpy() == b["segment"].to_numpy()) > 0.9
    assert adjusted_rand_score(a["segment"], b["segment"]) > 0.8
    assert (a["name"] == b["name"]).mean() > 0.9
    assert result.refresh is not None and len(result.refresh.mapping) == 5
    drift = result.refresh.feature_drift.set_index("feature")["psi"]
    assert len(drift) == 7
    # dropping 20% of the orders lowers frequency and revenue, not the typical order value
    assert drift["avg_order_value"] < 0.1 < drift["monetary"]
    assert drift["frequency"] > drift["avg_order_value"]
    # the same planted customers: neither the customers nor the model changed much
    assert result.refresh.psi_customers < 0.1 and result.refresh.psi_model < 0.1
    assert result.refresh.agreement > 0.9 and len(result.refresh.shares) == 5
