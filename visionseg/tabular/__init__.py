"""Customer segmentation from a transactions table, end to end.

``python -m visionseg.tabular input=transactions.csv output=DIR`` builds RFM features with an
explicit reference date, preprocesses them, picks K, fits the configured algorithm, names
and profiles the segments and writes assignments, profiles, the K table, the model and a
report; ``python -m visionseg.tabular.score`` scores new customers with the saved model.
See docs/tabular.md.
"""

from visionseg.tabular.errors import TabularInputError

__all__ = ["TabularInputError"]
