"""evaluate.py calibrate.*: the rule is chosen on validation, written, and reported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from visionseg.apps.evaluate import run
from visionseg.core.verdict import PartRule

sys.path.insert(0, str(Path(__file__).parent))

from split import make_split  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """val and test splits, and a project whose configs/method/ holds the encoded method."""
    methods = tmp_path / "project" / "configs" / "method"
    methods.mkdir(parents=True)
    (methods / "encoded.yaml").write_text("_target_: split.EncodedProbs\n")
    (methods / "empty.yaml").write_text("_target_: split.EncodedProbs\nempty: true\n")
    (methods.parent / "postprocess").mkdir()
    (methods.parent / "postprocess" / "none.yaml").write_text("{}\n")
    monkeypatch.setenv("VISIONSEG_ROOT", str(tmp_path / "project"))
    root = tmp_path / "data"
    make_split(root / "val", count=14, seed=3)
    make_split(root / "test", count=8, seed=4)
    return root


def _run(root: Path, out: Path, *overrides: str) -> int:
    args = [f"data.root={root}", f"output={out}", "data.classes=[background,scratch,spot]",
            "train_split=null", *overrides]
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "configs")):
        return run(compose("evaluate", overrides=args))


def test_calibrates_on_validation_writes_the_rule_and_reports(data, tmp_path):
    out = tmp_path / "out"
    assert _run(data, out, "baselines=[encoded]", "calibrate.max_false_reject=0.25") == 0
    found = json.loads((out / "calibration" / "calibration.json").read_text())
    assert [m["method"] for m in found] == ["encoded"]
    chosen = PartRule.from_dict(found[0]["chosen"])
    on_disk = yaml.safe_load((out / "calibration" / "decision" / "encoded.yaml").read_text())
    assert PartRule.from_dict(on_disk) == chosen
    (ok, fr), (esc, ng) = found[0]["chosen_counts"]
    assert fr <= 0.25 * (ok + fr) and ok + fr + esc + ng == 14
    assert sum(map(sum, found[0]["evaluated_chosen"])) == 8  # judged on the test split
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["calibration"][0]["chosen"] == found[0]["chosen"]
    report = (out / "report.md").read_text()
    assert "Operating curve" in report and (out / "figures" / "operating_curve.png").is_file()


def test_refuses_to_calibrate_on_the_reported_split(data, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(data, out, "baselines=[encoded]", "calibrate.max_escape=0.1",
                "calibrate.split=test") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: calibrate.split=test is the split being reported")
    assert len(err.splitlines()) == 1 and not (out / "calibration").exists()


def test_unreachable_target_is_refused_with_the_best_point(data, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(data, out, "baselines=[empty]", "calibrate.max_escape=0.1") == 2
    err = capsys.readouterr().err.strip()
    assert "best reachable point" in err and len(err.splitlines()) == 1
    assert not (out / "calibration").exists() and not (out / "report.html").exists()
