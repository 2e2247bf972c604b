"""Reading transactions and building the RFM features in Spark, with the pandas arithmetic.

Every feature is computed as :func:`visionseg.tabular.features.build_rfm` computes it:
days as (reference - timestamp) in seconds / 86,400 (the pandas engine divides microseconds
by a day's microseconds: the same correctly rounded quotient), revenue as an exact decimal
sum rounded once to a double, and the same formulas for the derived features, so both
engines give the same feature table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from visionseg.tabular.cleaning import ColumnMap
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.features import DAYS_PER_MONTH
from visionseg.tabular.io import PARQUET_SUFFIXES, SEPARATORS, ReaderOptions

DAY_SECONDS = 86400.0


def read_transactions(spark: Any, path: str, reader: ReaderOptions) -> Any:
    """The raw table as a Spark DataFrame (CSV/text or Parquet, chosen like the pandas engine)."""
    from pathlib import Path

    if not Path(path).exists():
        raise TabularInputError(f"{path}: file not found")
    fmt = reader.format
    if fmt == "auto":
        fmt = "parquet" if Path(path).suffix.lower() in PARQUET_SUFFIXES else "csv"
    if fmt == "parquet":
        return spark.read.parquet(str(path))
    sep = SEPARATORS.get(reader.sep, reader.sep)
    if sep == r"\s+":
        raise TabularInputError("engine=spark reads delimited text only; reader.sep=whitespace "
                                "needs engine=pandas")
    return (spark.read.option("header", str(reader.header).lower()).option("sep", sep)
            .option("encoding", reader.encoding).csv(str(path)))


def clean(frame: Any, columns: ColumnMap, source: str, returns: str) -> Any:
    """customer, ts (timestamp), amount (decimal 18,4) of the rows that parse."""
    from pyspark.sql import functions as F

    missing = [c for c in (columns.customer, columns.date, columns.amount)
               if c not in frame.columns]
    if missing:
        raise TabularInputError(f"{source}: missing column(s) {missing}; found "
                                f"{list(frame.columns)}")
    if columns.optional or columns.categorical or columns.order:
        raise TabularInputError("engine=spark builds the RFM features from customer, date and "
                                "amount only; drop columns.order, columns.categorical and the "
                                "optional columns, or use engine=pandas")
    date = F.col(columns.date)
    ts = (F.to_timestamp(date.cast("string"), columns.date_format.replace("%Y", "yyyy")
                         .replace("%m", "MM").replace("%d", "dd")) if columns.date_format
          else F.to_timestamp(date))
    out = frame.select(F.trim(F.col(columns.customer).cast("string")).alias("customer"),
                       ts.alias("ts"),
                       F.col(columns.amount).cast("decimal(18,4)").alias("amount"))
    out = out.where(F.col("customer").isNotNull() & (F.col("customer") != "")
                    & F.col("ts").isNotNull() & F.col("amount").isNotNull())
    if returns == "drop":
        out = out.where(F.col("amount") >= 0)
    return out


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
