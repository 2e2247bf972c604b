"""Fixtures for the tabular tests: one thread for BLAS/OpenMP (on a busy 2-core machine
more threads only wait on each other) and small planted-segment data sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from visionseg.tabular.config import load_config
from visionseg.tabular.synthetic import planted_transactions


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def planted() -> tuple[pd.DataFrame, pd.Series]:
    """Transactions of 400 customers in five planted segments, and the planted truth."""
    return planted_transactions(400, seed=7)


@pytest.fixture(scope="session")
def planted_csv(planted, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tabular") / "transactions.csv"
    planted[0].to_csv(path, index=False)
    return path


def fit_config(*overrides: str) -> dict:
    """The real composed fit config with ``overrides`` (``input``/``output`` may be dummies)."""
    base = [o for o in ("input=unused.csv", "output=unused")
            if o.split("=")[0] not in {x.split("=")[0] for x in overrides}]
    return load_config("fit", [*base, *overrides])


@pytest.fixture(scope="session")
def fit_cfg():
    """:func:`fit_config` as a fixture (test modules here are not a package)."""
    return fit_config
