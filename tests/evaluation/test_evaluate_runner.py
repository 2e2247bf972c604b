"""evaluate(): figures against an independent computation, failures, chains, fitting, speed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix
from toy_methods import (
    CLASSES,
    BadOutput,
    BrightScratches,
    DarkSpots,
    Erase,
    Explodes,
    FailsOn,
    FitFails,
)

from visionseg.core.errors import ConfigError
from visionseg.evaluation import EvalSettings, Failure, Identity, evaluate
from visionseg.evaluation.errors import EvaluationError
from visionseg.io import read_image, read_mask

C = len(CLASSES)


def _reference_confusion(method, samples, fail_on=()):
    """Confusion matrix by scikit-learn, predicting each file directly (failures = empty)."""
    truth, pred = [], []
    for s in samples:
        image, gt = read_image(s.image), read_mask(s.mask)
        p = np.zeros_like(gt) if s.name in fail_on else method.predict(image).mask
        valid = gt != 255
        truth.append(gt[valid])
        pred.append(p[valid])
    return confusion_matrix(np.concatenate(truth), np.concatenate(pred), labels=range(C))


def test_figures_match_independent_computation(data):
    _, test, _ = data
    results = evaluate([DarkSpots(), BrightScratches()], test, CLASSES)
    assert results.methods == ["dark", "bright"] and results.chains == ["none"]
    for method in (DarkSpots(), BrightScratches()):
        entry = results.entry(method.name, "none")
        ref = _reference_confusion(method, test)
        np.testing.assert_array_equal(entry.pixel.confusion_matrix, ref)
        tp = np.diag(ref).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = tp / (ref.sum(0) + ref.sum(1) - tp)
        np.testing.assert_allclose(entry.pixel.defect_miou, np.nanmean(iou[1:]), atol=1e-6)
        np.testing.assert_allclose(entry.pixel.miou_all, np.nanmean(iou), atol=1e-6)
        assert entry.images == len(test) and entry.failures == 0
    assert len(results.per_image) == len(test) * 2
    assert results.entry("bright", "none").instances.mask_ap.ap.low > 0
    assert results.entry("dark", "none").instances is None
    # the dark method finds every spot exactly: defect recall of spots is 1
    assert results.entry("dark", "none").defect_level.per_class["spot"].recall == 1.0


def test_a_failing_method_or_chain_is_recorded_and_the_rest_continue(data):
    _, test, _ = data
    fragile = FailsOn(marker=7)
    chains = {"none": Identity(), "explodes": Explodes()}
    results = evaluate([fragile, DarkSpots()], test, CLASSES, chains=chains)
    predict_failures = [f for f in results.failures if f.stage == "predict"]
    message = "RuntimeError: single-colour image, no threshold"
    assert predict_failures == [Failure("fragile", "", "test_1", "predict", message)]
    chain_failures = sorted((f.method, f.chain, f.image) for f in results.failures
                            if f.stage == "postprocess")
    assert chain_failures == [("dark", "explodes", "test_2"), ("fragile", "explodes", "test_2")]
    assert results.entry("fragile", "none").failures == 1
    assert results.entry("fragile", "explodes").failures == 2
    assert results.entry("dark", "none").failures == 0
    ref = _reference_confusion(DarkSpots(), test, fail_on={"test_1"})
    np.testing.assert_array_equal(results.entry("fragile", "none").pixel.confusion_matrix, ref)
    failed_rows = [r for r in results.per_image if r.failed]
    assert {(r.method, r.chain, r.image) for r in failed_rows} == {
        ("fragile", "none", "test_1"), ("fragile", "explodes", "test_1"),
        ("fragile", "explodes", "test_2"), ("dark", "explodes", "test_2")}


def test_each_method_predicts_once_per_image_and_chains_get_their_own_copy(data):
    _, test, _ = data
    dark, erase = DarkSpots(), Erase(class_id=2)
    results = evaluate([dark], test, CLASSES, chains={"none": Identity(), "erase": erase})
    regallery = len(results.gallery)
    assert dark.calls == len(test) + regallery
    assert erase.calls == len(test) + regallery
    plain = evaluate([DarkSpots()], test, CLASSES)
    assert results.entry("dark", "none").pixel.confusion_matrix == plain.entry(
        "dark", "none").pixel.confusion_matrix
    assert results.entry("dark", "none").pixel.per_class["spot"].iou > 0.5
    assert results.entry("dark", "erase").pixel.per_class["spot"].iou == 0.0
    gain = [g for g in results.gains() if g.chain == "erase"]
    assert gain and gain[0].reference == "none" and gain[0].delta_defect_miou < 0


def test_methods_are_fitted_on_the_train_split_only(data):
    _, test, train = data
    dark = DarkSpots()
    results = evaluate([dark, FitFails()], test, CLASSES, train_samples=train)
    assert dark.fitted_on == [int(read_mask(s.mask).sum()) for s in train]
    assert results.methods == ["dark"]
    assert [(f.method, f.stage) for f in results.failures] == [("unfit", "fit")]
    with pytest.raises(EvaluationError, match="never be fitted"):
        evaluate([DarkSpots()], test, CLASSES, train_samples=test[:2])


def test_unusable_predictions_are_failures(data):
    _, test, _ = data
    results = evaluate([BadOutput()], test, CLASSES)
    assert len(results.failures) == len(test)
    assert all("class id 9 outside 0..3" in f.error for f in results.failures)


def test_speed_leaves_out_one_warm_up_image(data):
    _, test, _ = data
    results = evaluate([DarkSpots()], test, CLASSES, chains={"none": Identity(), "e": Erase()})
    for chain in ("none", "e"):
        speed = results.entry("dark", chain).speed
        assert speed.images_timed == len(test) - 1
        assert speed.ms_per_image == pytest.approx(speed.predict_ms + speed.chain_ms)
        assert speed.ms_per_image > 0


def test_gallery_holds_best_median_worst_thumbnails(data):
    _, test, _ = data
    results = evaluate([DarkSpots(), BrightScratches()], test, CLASSES,
                       settings={"gallery_size": 16})
    labels = [item.label for item in results.gallery]
    assert labels[0] == "best" and set(labels) <= {"best", "median", "worst"}
    assert len({item.image_name for item in results.gallery}) == len(labels)
    scores = [item.score for item in results.gallery]
    assert scores == sorted(scores, reverse=True)
    for item in results.gallery:
        assert max(item.image.shape[:2]) == 16 and item.gt.shape == item.image.shape[:2]
        assert [(p.method, p.chain) for p in item.panels] == [("dark", "none"),
                                                              ("bright", "none")]


def test_settings_are_checked():
    assert EvalSettings.from_any({"defect_iou": 0.3}).defect_iou == 0.3
    with pytest.raises(ConfigError, match="unknown evaluation setting"):
        EvalSettings.from_any({"min_area": 5})
    with pytest.raises(ConfigError, match="size_thresholds"):
        EvalSettings(size_thresholds=(100, 10))


@pytest.mark.parametrize("field, value", [
    ("defect_iou", 0.0), ("defect_iou", 1.5), ("instance_iou", -0.1),
    ("instance_score_threshold", 2.0), ("boundary_tolerance", -1.0),
    ("boundary_tolerance", float("nan")), ("gt_instance_min_area", -3),
    ("gt_instance_min_area", 2.5), ("gallery_size", 0), ("ignore_index", 300),
    ("size_thresholds", [10]), ("size_thresholds", [0, 10]), ("defect_iou", "half"),
])
def test_out_of_range_settings_name_the_setting(field, value):
    with pytest.raises(ConfigError, match=f"metrics.{field} must be"):
        EvalSettings.from_any({field: value})


def test_mask_ap_of_tied_scores_is_a_range_everywhere(data, tmp_path):
    from toy_methods import FlatScores

    from visionseg.report.writer import write_report

    _, test, _ = data
    results = evaluate([FlatScores()], test, CLASSES)
    ap = results.entry("flat", "none").instances.mask_ap
    assert ap.ap.varies and ap.ap.low < ap.ap.high and ap.distinct_scores == 1
    write_report(results, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    inst = metrics["methods"]["flat"]["none"]["instances"]
    assert inst["AP"] is None and inst["AP_range"] == pytest.approx([ap.ap.low, ap.ap.high])
    assert "cannot rank" in inst["note"] and metrics["ranking"][0]["AP"] is None
    ranking = (tmp_path / "report.md").read_text().split("### Ranking")[1].split("###")[0]
    assert f"{ap.ap.low:.3f}–{ap.ap.high:.3f} (tie order)" in ranking
