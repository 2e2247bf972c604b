"""Fixtures of the evaluation tests (helpers: eval_data.py, toy_methods.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_data import make_split  # noqa: E402


@pytest.fixture
def data(tmp_path):
    test = make_split(tmp_path, "test", 5, seed=1, markers=(128, 7, 3, 128, 128))
    train = make_split(tmp_path, "train", 3, seed=2)
    return tmp_path, test, train
