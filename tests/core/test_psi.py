"""The one PSI (visionseg.core.psi), and both of its users, against hand computations."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from visionseg.core.psi import bin_shares, psi, quantile_edges, sample_psi
from visionseg.monitor.psi import window_psi


def test_psi_of_shares_by_hand_with_the_floor():
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(math.log(3) / 4, rel=1e-12)
    floored = (1e-4 - 0.5) * math.log(1e-4 / 0.5) + (1.0 - 0.5) * math.log(1.0 / 0.5)
    assert psi([0.5, 0.5], [0.0, 1.0]) == pytest.approx(floored, rel=1e-12)


def test_sample_psi_bins_on_the_reference_and_ignores_non_finite_values():
    reference = np.r_[np.arange(10.0), np.nan]
    assert quantile_edges(reference, 2).tolist() == [4.5]
    today = np.array([0.0, 5.0, 6.0, 7.0, np.inf, np.nan])
    assert sample_psi(reference, today, bins=2) == pytest.approx(math.log(3) / 4, rel=1e-12)
    assert bin_shares(np.array([np.nan]), np.array([4.5])).tolist() == [0.0, 0.0]
    assert quantile_edges(np.array([np.nan]), 10).size == 0


def test_the_monitor_window_adds_its_pseudo_count_to_the_same_psi():
    """Window 0, 5, 6, 7 with 0.5 added per bin: shares 1.5/5 and 3.5/5."""
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    value = window_psi(np.array([0.5, 0.5]), np.array([4.5]), np.array([0.0, 5.0, 6.0, 7.0]))
    assert value == pytest.approx(by_hand, rel=1e-12)



def test_the_shared_module_needs_only_numpy():
    """So the image side's monitor and visionseg.tabular share it without each other's
    dependencies (torch, pandas)."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "visionseg/core/psi.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "numpy"}
