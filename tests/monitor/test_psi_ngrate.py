"""PSI, its bands and bins, and the binomial NG-rate test, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from visionseg.core.psi import bin_shares, psi, quantile_edges
from visionseg.monitor.ngrate import ng_rate_test
from visionseg.monitor.psi import Band, window_psi


def test_psi_matches_the_formula_and_is_zero_for_equal_shares():
    expected = np.array([0.25, 0.25, 0.5])
    actual = np.array([0.5, 0.25, 0.25])
    by_hand = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert psi(expected, actual) == pytest.approx(by_hand)
    assert psi(expected, expected) == 0.0


def test_bins_are_reference_quantiles_with_open_outer_bins():
    edges = quantile_edges(np.arange(100, dtype=float), 4)
    assert len(edges) == 3
    shares = bin_shares(np.array([-1e9, 10.0, 60.0, 1e9]), edges)
    np.testing.assert_allclose(shares, [0.5, 0.0, 0.25, 0.25])


def test_ties_merge_bins():
    assert len(quantile_edges(np.zeros(50), 10)) == 1


def test_window_psi_is_finite_with_empty_bins_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=2000)
    edges = quantile_edges(ref, 10)
    shares = bin_shares(ref, edges)
    same = window_psi(shares, edges, rng.normal(size=200))
    moved = window_psi(shares, edges, rng.normal(loc=1.0, size=200))
    assert same < 0.1 < 0.25 < moved < math.inf


@pytest.mark.parametrize(("value", "band"), [(0.05, Band.OK), (0.1, Band.WATCH),
                                             (0.2, Band.WATCH), (0.25, Band.ACT)])
def test_bands(value, band):
    assert Band.of(value, 0.1, 0.25) is band


def test_binomial_test_matches_a_brute_force_sum():
    ng, n, p = 9, 60, 0.05
    pmf = binom.pmf(np.arange(n + 1), n, p)
    brute = pmf[pmf <= pmf[ng] * (1 + 1e-7)].sum()
    result = ng_rate_test(ng, n, p, alpha=0.01)
    assert result.p_value == pytest.approx(brute, rel=1e-6)
    assert result.alert and result.status == "high"
    assert ng_rate_test(3, 60, p, alpha=0.01).status == "ok"
    assert ng_rate_test(0, 400, 0.1, alpha=0.01).status == "low"
