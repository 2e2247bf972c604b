"""Building the RFM features in Spark, with the pandas arithmetic.

Every feature is computed as :func:`visionseg.tabular.features.build_rfm` computes it:
days as (reference - timestamp) in seconds / 86,400 (the pandas engine divides microseconds
by a day's microseconds: the same correctly rounded quotient), revenue as an exact decimal
sum rounded once to a double, and the same formulas for the derived features, so both
engines give the same feature table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.features import DAYS_PER_MONTH

DAY_SECONDS = 86400.0


def rfm(tx: Any, reference_date: pd.Timestamp) -> Any:
    """One row per customer with the seven features of the pandas engine."""
    from pyspark.sql import functions as F

    ref = F.lit(pd.Timestamp(reference_date).to_pydatetime()).cast("timestamp")
    seconds = lambda c: F.unix_micros(ref) - F.unix_micros(c)  # noqa: E731
    agg = tx.groupBy("customer").agg(
        F.min("ts").alias("first"), F.max("ts").alias("last"),
        F.count(F.lit(1)).cast("double").alias("frequency"),
        F.sum("amount").cast("double").alias("monetary"))
    recency = seconds(F.col("last")).cast("double") / (DAY_SECONDS * 1e6)
    tenure = seconds(F.col("first")).cast("double") / (DAY_SECONDS * 1e6)
    out = agg.select(
        "customer", recency.alias("recency_days"), "frequency", "monetary",
        tenure.alias("tenure_days"))
    return out.select(
        "customer", "recency_days", "frequency", "monetary", "tenure_days",
        (F.col("frequency") / F.greatest(F.col("tenure_days") / F.lit(DAYS_PER_MONTH),
                                         F.lit(1.0))).alias("orders_per_month"),
        (F.col("monetary") / F.col("frequency")).alias("avg_order_value"),
        F.when(F.col("frequency") > 1,
               (F.col("tenure_days") - F.col("recency_days")) / (F.col("frequency") - 1))
        .otherwise(F.col("tenure_days")).alias("interpurchase_days"))


def last_day(tx: Any) -> pd.Timestamp:
    """The default reference date: the day after the last transaction."""
    from pyspark.sql import functions as F

    last = tx.agg(F.max("ts")).first()[0]
    if last is None:
        raise TabularInputError("no usable rows left after cleaning")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
