"""Drift findings of scoring, the monitor's trends and its retraining trigger."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.monitor import main as monitor_main
from visionseg.tabular.monitor import triggers
from visionseg.tabular.score import main as score_main
from visionseg.tabular.synthetic import SEGMENTS, planted_transactions

RULES = {"segment_psi": 0.25, "feature_psi": 0.25, "sustained_periods": 3,
         "confidence_drop": 0.1, "silhouette_drop": 0.15}


@pytest.fixture(scope="module")
def scored_periods(planted_csv, tmp_path_factory):
    """A model and the drift files of three stable and two shifted periods."""
    from visionseg.tabular.config import load_config

    root = tmp_path_factory.mktemp("monitor")
    result = fit_segmentation(load_config("fit", [
        f"input={planted_csv}", "output=unused", "algorithm=kmeans", "k=5",
        "stability.rounds=0", "k_selection.gap_references=0",
        "k_selection.stability_rounds=0"]))
    result.model.save(root / "model.joblib")
    dormant_heavy = tuple(replace(s, weight=w)
                          for s, w in zip(SEGMENTS, (0.05, 0.05, 0.2, 0.6, 0.1), strict=True))
    for i in range(5):
        tx, _ = planted_transactions(300, seed=20 + i, id_prefix=f"P{i}",
                                     segments=SEGMENTS if i < 3 else dormant_heavy,
                                     end=f"2025-0{i + 1}-28")
        tx.to_csv(root / f"p{i}.csv", index=False)
        assert score_main([f"model={root / 'model.joblib'}", f"input={root / f'p{i}.csv'}",
                           f"output={root / f'p{i}.csv'}".replace(".csv", "_scores.csv")]) == 0
    return root


def test_score_writes_drift_findings(scored_periods):
    found = json.loads((scored_periods / "p0_scores.drift.json").read_text())
    assert found["reference_date"] == "2025-01-29" and found["customers"] == 300
    assert set(found["feature_psi"]) >= {"recency_days", "monetary"}
    assert found["segment_psi"] < 0.1 and found["levels"]["segment shares"] == "stable"
    assert 0 < found["mean_confidence"] <= 1 and 0 < found["training_mean_confidence"] <= 1
    assert abs(sum(found["segment_shares"].values()) - 1) < 1e-9
    shifted = json.loads((scored_periods / "p4_scores.drift.json").read_text())
    assert shifted["segment_psi"] > 0.25 and shifted["levels"]["segment shares"] == \
        "significant shift"


def test_monitor_fires_on_a_shifted_series_and_not_on_a_stable_one(scored_periods):
    stable = [f"{scored_periods}/p{i}_scores.drift.json" for i in range(3)]
    out = scored_periods / "stable"
    assert monitor_main([f"inputs=[{','.join(stable)}]", f"output={out}"]) == 0
    table = pd.read_csv(out / "monitor.csv")
    assert table["period"].tolist() == sorted(table["period"])
    assert len(table) == 3 and (table["segment_psi"] < 0.1).all()
    assert "no retraining trigger fired" in (out / "monitor.md").read_text()
    assert (out / "figures" / "trends.png").exists()

    out = scored_periods / "all"
    assert monitor_main([f"inputs={scored_periods}/*.drift.json", f"output={out}"]) == 3
    assert "RETRAIN: segment-share PSI" in (out / "monitor.md").read_text()
    assert len(pd.read_csv(out / "monitor.csv")) == 5


def test_sustained_moderate_drift_and_quality_drops_fire():
    def table(psis, confidence=0.8, silhouette=0.5):
        return pd.DataFrame({"segment_psi": psis, "max_feature_psi": 0.0, "max_feature": "x",
                             "mean_confidence": confidence, "training_confidence": 0.8,
                             "silhouette": silhouette, "training_silhouette": 0.5})

    assert triggers(table([0.12, 0.15, 0.11]), RULES) == [
        "segment-share PSI >= 0.1 in each of the last 3 periods"]
    assert triggers(table([0.05, 0.15, 0.11]), RULES) == []
    assert triggers(table([0.0, 0.0]), RULES) == []
    assert "mean confidence" in triggers(table([0.0], confidence=0.65), RULES)[0]
    assert "silhouette" in triggers(table([0.0], silhouette=0.3), RULES)[0]


def test_monitor_bad_input(tmp_path, capsys):
    assert monitor_main([f"inputs={tmp_path}/*.json", f"output={tmp_path / 'o'}"]) == 2
    assert "no drift file matches" in capsys.readouterr().err
    (tmp_path / "x.drift.json").write_text("{}")
    assert monitor_main([f"inputs={tmp_path}/*.json", f"output={tmp_path / 'o'}"]) == 2
    assert "not a drift file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
