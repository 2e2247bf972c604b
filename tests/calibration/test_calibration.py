"""The sweep counts every rule as infer.py judges it, and the chosen point is the best one."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from visionseg.calibration.choose import choose
from visionseg.calibration.grid import CalibrationError, SweepGrid, Target
from visionseg.calibration.store import choose_rule, decision_overridden
from visionseg.calibration.sweep import sweep_split
from visionseg.core.verdict import PartRule
from visionseg.io.images import read_image, read_mask

sys.path.insert(0, str(Path(__file__).parent))

from split import CLASSES, EncodedProbs, make_split  # noqa: E402

GRID = SweepGrid(min_areas=(1, 4, 9, 20), min_confidences=(0.0, 0.45, 0.7),
                 pixel_thresholds=(None, 0.25, 0.6))
TRUTH = PartRule(min_area=4)


def brute_force(method, samples, grid: SweepGrid) -> dict[tuple[int, int, int], tuple[int, int]]:
    """(false rejects, escapes) of every grid rule, judged image by image with the rule."""
    counts = {}
    for index in np.ndindex(*grid.shape):
        rule = grid.rule(*index, CLASSES)
        fr = esc = 0
        for sample in samples:
            image, gt = read_image(sample.image), read_mask(sample.mask)
            pred = rule.apply(method.predict(image), CLASSES)
            pred = pred.with_(mask=np.where(gt == 255, 0, pred.mask).astype(np.uint8))
            truth, ng = TRUTH.judge_mask(gt, CLASSES).ng, rule.judge(pred, CLASSES).ng
            fr += int(ng and not truth)
            esc += int(truth and not ng)
        counts[index] = (fr, esc)
    return counts


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return make_split(tmp_path_factory.mktemp("calib"))


@pytest.fixture(scope="module")
def counted(samples):
    method = EncodedProbs()
    sweep = sweep_split(method, samples, CLASSES, GRID, TRUTH, "val")
    return sweep, brute_force(method, samples, GRID)


def test_split_has_both_kinds_and_varied_rules(counted):
    sweep, counts = counted
    assert sweep.good >= 3 and sweep.defective >= 3
    assert len(set(counts.values())) >= 6, "the rules must differ on this split"


def test_sweep_counts_equal_brute_force(counted):
    sweep, counts = counted
    fr, esc = sweep.false_rejects(), sweep.escapes()
    for index, (want_fr, want_esc) in counts.items():
        assert (fr[index], esc[index]) == (want_fr, want_esc), GRID.rule(*index, CLASSES)


@pytest.mark.parametrize("kind,rate", [("false_reject", 0.25), ("false_reject", 0.12),
                                       ("escape", 0.2)])
def test_chosen_point_is_the_brute_force_optimum(counted, kind, rate):
    sweep, counts = counted
    target = Target(kind, rate)
    point = choose(sweep, GRID, target, CLASSES)
    total = sweep.good if kind == "false_reject" else sweep.defective
    bound = 0 if kind == "false_reject" else 1

    def feasible(c):
        return c[bound] <= rate * total

    best = min(c[1 - bound] for c in counts.values() if feasible(c))
    chosen = counts[point.index]
    assert feasible(chosen) and chosen[1 - bound] == best
    assert (point.false_rejects, point.escapes) == chosen
    assert point.rule == GRID.rule(*point.index, CLASSES)


def test_hard_labels_sweep_areas_only(samples):
    sweep = sweep_split(EncodedProbs(hard=True), samples, CLASSES, GRID, TRUTH, "val")
    assert not sweep.has_probs and not sweep.has_confidence
    point = choose(sweep, GRID, Target("false_reject", 0.25), CLASSES)
    assert point.rule.per_class == {} and point.rule.min_confidence == 0.0


def test_refuses_a_split_without_good_parts(samples):
    sweep = sweep_split(EncodedProbs(), samples, CLASSES, GRID, TRUTH, "val")
    sweep.truth[:] = True
    with pytest.raises(CalibrationError, match="no good parts"):
        choose(sweep, GRID, Target("false_reject", 0.1), CLASSES)


def test_unreachable_target_names_the_best_point(samples):
    sweep = sweep_split(EncodedProbs(empty=True), samples, CLASSES, GRID, TRUTH, "val")
    with pytest.raises(CalibrationError, match="best reachable point is .*escape rate 100.0%"):
        choose(sweep, GRID, Target("escape", 0.1), CLASSES)


def test_bad_settings_are_one_clear_error():
    with pytest.raises(CalibrationError, match="not both"):
        Target.from_settings(0.1, 0.1)
    with pytest.raises(CalibrationError, match="max_escape must be in"):
        Target("escape", 1.5)
    with pytest.raises(CalibrationError, match="unknown calibrate.grid"):
        SweepGrid.from_dict({"areas": [1]})


def test_command_line_rule_replaces_the_carried_one():
    carried, configured = PartRule(min_area=40), PartRule(min_area=3)
    assert choose_rule(carried, configured, False, "ckpt").rule == carried
    assert choose_rule(carried, configured, True, "ckpt").rule == configured
    assert choose_rule(None, configured, False, "ckpt").source == "config"
    assert decision_overridden(["decision.min_area=3"])
    assert decision_overridden(["decision=strict"])
    assert not decision_overridden(["decisions_log=1", "tile.size=64"])
