"""Customer segmentation from a transactions table, end to end.

``python -m visionseg.tabular input=transactions.csv output=DIR`` builds RFM features with an
explicit reference date, preprocesses them, picks K, fits the configured algorithm, names
and profiles the segments and writes assignments, profiles, the K table, the model and a
report; ``python -m visionseg.tabular.score`` scores new customers with the saved model.
See docs/tabular.md. Needs the ``tabular`` extra (``pip install -e ".[tabular]"``), which the
image side does not: a line PC installs no kmodes, gower or pyarrow.
"""

from importlib.util import find_spec

from visionseg.tabular.errors import TabularInputError

#: Packages of the ``tabular`` extra that the modules import (pyarrow: Parquet and Spark only).
EXTRA = ("kmodes", "gower", "joblib")
_missing = [name for name in EXTRA if find_spec(name) is None]
if _missing:
    raise ImportError(f"visionseg.tabular needs its extra, missing {', '.join(_missing)}: "
                      "pip install -e '.[tabular]'")

__all__ = ["TabularInputError"]
