"""The fit of a segmentation, on the engine the config names.

``engine=pandas`` (:mod:`visionseg.tabular.pandas_engine`) or ``engine=spark``
(:mod:`visionseg.tabular.spark.fit`, imported only when asked for, so pandas fits need no
pyspark). Both return the same :class:`~visionseg.tabular.results.FitResult`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.results import FitResult

ENGINES = ("pandas", "spark")


def fit_segmentation(cfg: Mapping[str, Any]) -> FitResult:
    """Run the whole fit described by ``cfg`` (the composed ``configs/tabular/fit.yaml``)."""
    engine = cfg["engine"]
    if engine == "pandas":
        from visionseg.tabular.pandas_engine import fit_pandas

        return fit_pandas(cfg)
    if engine == "spark":
        from visionseg.tabular.spark.fit import fit_spark

        return fit_spark(cfg)
    raise TabularInputError(f"engine must be one of {ENGINES}, not {engine!r}")
