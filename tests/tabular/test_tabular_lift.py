"""Campaign design and lift: the statistics against hand computations, the stratified
holdout's proportions, and both commands end to end."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from visionseg.tabular.campaign import main as campaign_main
from visionseg.tabular.campaign import stratified_holdout
from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.kpi_tests import kpi_test
from visionseg.tabular.lift import (
    holm,
    mean_lift,
    mean_sample_size,
    proportion_lift,
    proportion_sample_size,
)
from visionseg.tabular.measure import main as measure_main


def test_difference_of_proportions_by_hand():
    lift = proportion_lift(120, 1000, 100, 1000, confidence=0.95)
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.10 * 0.90 / 1000)
    assert lift.lift == pytest.approx(0.02)
    assert lift.relative_lift == pytest.approx(0.2)
    assert lift.ci_low == pytest.approx(0.02 - 1.959964 * se, abs=1e-6)
    assert lift.ci_high == pytest.approx(0.02 + 1.959964 * se, abs=1e-6)
    pooled_se = math.sqrt(0.11 * 0.89 * 2 / 1000)
    assert lift.p_value == pytest.approx(math.erfc(0.02 / pooled_se / math.sqrt(2)), rel=1e-9)


def test_difference_of_means_welch_by_hand_and_bootstrap_for_skewed_revenue():
    t, c = np.array([3.0, 4.0, 5.0, 6.0, 7.0]), np.array([1.0, 2.0, 3.0, 4.0])
    lift = mean_lift(t, c, confidence=0.9, bootstrap=0)
    vt, vc = np.var(t, ddof=1) / 5, np.var(c, ddof=1) / 4
    dof = (vt + vc) ** 2 / (vt**2 / 4 + vc**2 / 3)
    half = stats.t.ppf(0.95, dof) * math.sqrt(vt + vc)
    assert lift.lift == pytest.approx(2.5)
    assert (lift.ci_low, lift.ci_high) == pytest.approx((2.5 - half, 2.5 + half))
    assert lift.p_value == pytest.approx(stats.ttest_ind(t, c, equal_var=False).pvalue)
    assert "Welch" in lift.method and "bootstrap" not in lift.method

    rng = np.random.default_rng(0)
    revenue = lambda n, p: np.where(rng.uniform(size=n) < p, rng.lognormal(4, 1, n), 0.0)  # noqa: E731
    skewed = mean_lift(revenue(3000, 0.2), revenue(3000, 0.1), bootstrap=500, seed=1)
    assert "bootstrap" in skewed.method
    assert skewed.ci_low < skewed.lift < skewed.ci_high and skewed.ci_low > 0


def test_holm_and_sample_sizes_by_hand():
    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03, np.nan])),
                               [0.03, 0.06, 0.06, np.nan])
    # the textbook figure: 10% -> 12% conversion, alpha 5%, power 80%: 3,841 per group
    assert proportion_sample_size(0.10, 0.02, 0.05, 0.8) == 3841
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert mean_sample_size(10.0, 5.0) == math.ceil(2 * z**2 * 100 / 25)
    assert proportion_lift(10, 100, 8, 100, mde=0.02).required_n == \
        proportion_sample_size(0.08, 0.02)


def test_stratified_holdout_keeps_the_share_in_every_segment():
    segments = np.repeat([0, 1, 2], [100, 37, 1000])
    groups = stratified_holdout(segments, 0.1, seed=3)
    controls = pd.Series(groups == "control").groupby(segments).sum().to_dict()
    assert controls == {0: 10, 1: 4, 2: 100}
    assert (stratified_holdout(segments, 0.1, seed=3) == groups).all()
    assert (stratified_holdout(segments, 0.1, seed=4) != groups).any()


def test_kpi_test_matches_scipy_with_holm_corrected_pairs():
    rng = np.random.default_rng(5)
    labels = np.repeat([0, 1, 2], 50)
    values = rng.normal(labels * 0.8)
    test = kpi_test("revenue", values, labels)
    h, p = stats.kruskal(*(values[labels == s] for s in range(3)))
    assert (test.h, test.p_value) == pytest.approx((h, p))
    assert test.eta_squared == pytest.approx((h - 2) / (150 - 3))
    raw = [stats.mannwhitneyu(values[labels == a], values[labels == b]).pvalue
           for a, b in ((0, 1), (0, 2), (1, 2))]
    np.testing.assert_allclose(test.pairs["p_holm"], holm(np.array(raw)))
    u02 = stats.mannwhitneyu(values[labels == 0], values[labels == 2]).statistic
    assert test.pairs.loc[1, "rank_biserial"] == pytest.approx(1 - 2 * u02 / 2500)
    assert test.effect == "large"


def test_campaign_and_measure_commands(planted_csv, tmp_path, fit_cfg, capsys):
    result = fit_segmentation(fit_cfg(f"input={planted_csv}", "algorithm=kmeans", "k=3",
                                      "stability.rounds=0", "k_selection.gap_references=0",
                                      "k_selection.stability_rounds=0"))
    result.model.save(tmp_path / "model.joblib")
    assignment = tmp_path / "assignment.csv"
    assert campaign_main([f"model={tmp_path / 'model.joblib'}", f"input={planted_csv}",
                          f"output={assignment}", "holdout=0.25", "segments=[0,1]"]) == 0
    design = pd.read_csv(assignment)
    assert set(design["segment"]) == {0, 1}
    share = (design["group"] == "control").groupby(design["segment"]).mean()
    assert np.allclose(share, 0.25, atol=0.01)

    rng = np.random.default_rng(2)
    treated = design["group"].eq("treatment").to_numpy()
    converted = rng.uniform(size=len(design)) < np.where(treated, 0.6, 0.2)
    pd.DataFrame({"customer_id": design["customer"], "converted": converted.astype(int),
                  "revenue": np.where(converted, 50.0, 0.0)}).iloc[:-3].to_csv(
        tmp_path / "outcomes.csv", index=False)
    out = tmp_path / "lift"
    assert measure_main([f"assignment={assignment}", f"outcomes={tmp_path / 'outcomes.csv'}",
                         f"output={out}", "mde=0.1", "bootstrap=200"]) == 0
    table = pd.read_csv(out / "lift.csv")
    overall = table[(table["segment"] == "all") & (table["metric"] == "conversion")].iloc[0]
    assert 0.25 < overall["lift"] < 0.55 and overall["p_value"] < 1e-6
    assert table.loc[table["segment"] != "all", "p_holm"].notna().all()
    assert "3 assigned customers without an outcome" in (out / "lift.md").read_text()
    assert (out / "figures" / "lift.png").stat().st_size > 0

    assert campaign_main([f"model={tmp_path / 'model.joblib'}", f"input={planted_csv}",
                          f"output={tmp_path / 'x.csv'}", "segments=[7]"]) == 2
    assert "the model has no segment [7]" in capsys.readouterr().err
    assert measure_main([f"assignment={assignment}", f"outcomes={planted_csv}",
                         f"output={tmp_path / 'y'}"]) == 2
    assert "missing column(s)" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y").exists()
