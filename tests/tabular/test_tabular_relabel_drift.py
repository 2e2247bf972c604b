"""Hungarian relabelling and PSI drift."""

from __future__ import annotations

import numpy as np
import pytest

from visionseg.core.psi import psi, sample_psi
from visionseg.tabular.drift import SegmentDriftReference
from visionseg.tabular.refresh import jaccard_matrix, match_labels, relabel


def test_permuted_labelling_maps_back_exactly():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 6, size=500)
    permutation = rng.permutation(6)
    permuted = permutation[original]
    restored, mapping = relabel(original, permuted)
    np.testing.assert_array_equal(restored, original)
    assert mapping == {int(permutation[i]): i for i in range(6)}


def test_jaccard_matrix_by_hand():
    previous = np.array([0, 0, 0, 1, 1])
    current = np.array([0, 0, 1, 1, 1])
    jaccard, new_ids, old_ids = jaccard_matrix(previous, current)
    # new 0 = {0,1}, new 1 = {2,3,4}; old 0 = {0,1,2}, old 1 = {3,4}
    np.testing.assert_allclose(jaccard, [[2 / 3, 0.0], [1 / 5, 2 / 3]])
    assert new_ids.tolist() == [0, 1] and old_ids.tolist() == [0, 1]


def test_matching_maximises_overlap_and_numbers_new_segments():
    previous = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, -1])
    # current: old 0 split into 5 and 7, old 1 became 3 (with one customer of old 2), old 2 -> 4
    current = np.array([5, 5, 7, 3, 3, 3, 3, 4, 4, -1])
    mapping = match_labels(previous, current)
    assert mapping[5] == 0 and mapping[3] == 1 and mapping[4] == 2
    assert mapping[7] == 3  # unmatched: next free id after the previous ones
    assert -1 not in mapping


def test_psi_of_identical_samples_is_zero():
    values = np.random.default_rng(1).lognormal(size=2000)
    assert sample_psi(values, values) == 0.0
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_against_hand_computation_and_shift_levels():
    expected, actual = np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.25, 0.25])
    by_hand = (0.5 - 0.25) * np.log(0.5 / 0.25) + (0.25 - 0.5) * np.log(0.25 / 0.5)
    assert psi(expected, actual) == pytest.approx(by_hand)
    rng = np.random.default_rng(2)
    base = rng.normal(size=5000)
    assert sample_psi(base, rng.normal(size=5000)) < 0.1
    assert sample_psi(base, rng.normal(1.0, 1.0, size=5000)) > 0.25


def test_drift_reference_of_a_model(planted):
    import pandas as pd

    features = pd.DataFrame({"a": np.arange(100.0), "b": np.r_[np.zeros(50), np.ones(50)]})
    segments = np.r_[np.zeros(30, dtype=int), np.ones(70, dtype=int)]
    ref = SegmentDriftReference.from_data(features, segments)
    same = ref.feature_drift(features)
    assert same["psi"].tolist() == [0.0, 0.0]
    moved = ref.feature_drift(features.assign(a=features["a"] + 50))
    assert moved.set_index("feature").loc["a", "level"] == "significant shift"
    value, table = ref.segment_drift(np.r_[np.zeros(70, dtype=int), np.ones(30, dtype=int)])
    assert table["reference_share"].tolist() == [0.3, 0.7]
    assert value == pytest.approx(psi([0.3, 0.7], [0.7, 0.3]))


def test_feature_drift_is_the_shared_psi_by_hand():
    """Training a = 0..9 on 2 bins (edge 4.5, shares 1/2, 1/2); today 0, 5, 6, 7 (1/4, 3/4):
    PSI = (1/4 - 1/2) ln(1/2) + (3/4 - 1/2) ln(3/2) = ln(3) / 4."""
    import pandas as pd

    ref = SegmentDriftReference.from_data(pd.DataFrame({"a": np.arange(10.0)}),
                                          np.zeros(10, dtype=int), bins=2)
    today = ref.feature_drift(pd.DataFrame({"a": [0.0, 5.0, 6.0, 7.0]}))
    assert today["psi"].iloc[0] == pytest.approx(np.log(3) / 4, rel=1e-12)
