"""Cleaning transactions in Spark with the pandas cleaner's rules, counts and messages.

Each row is parsed as :func:`visionseg.tabular.cleaning.clean_transactions` parses it: dates
tried against the same formats in the same order (each counted), amounts stripped of
currency symbols and separators, blank ids dropped; the same reasons are counted in the same
:class:`~visionseg.tabular.cleaning.DataQuality` and the same refusals raised by the same
shared functions. Parsing uses Spark's ``try_`` functions, so a bad value is a counted row,
never a JVM error. Rows dated far after the rest are excluded as the pandas engine does.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from visionseg.tabular.cleaning import (
    DUPLICATE_POLICIES,
    RETURN_POLICIES,
    ColumnMap,
    DataQuality,
    bad_rows,
    check_dropped_share,
    check_policy,
    check_text_column,
    check_usable,
    drop_duplicates,
    drop_returns,
    require_columns,
)
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import DATE_FORMATS, INFERRED, ReaderOptions, parse_dates_by_format

CURRENCY = r"[\s$€£¥]"
INTEGER = r"^[+-]?[0-9]+$"
MAX_INFERRED = 100_000  # distinct leftover date strings parsed on the driver by pandas
_STRFTIME = {"%Y": "yyyy", "%y": "yy", "%m": "M", "%d": "d", "%H": "H", "%M": "m", "%S": "s",
             "%b": "MMM", "%B": "MMMM", "%f": "SSSSSS", "%j": "D", "%I": "h", "%p": "a"}


def spark_pattern(fmt: str) -> str:
    """A strftime format as a Spark datetime pattern; a number directly next to
    another gets its fixed width (``%Y%m%d`` -> ``yyyyMMdd``), else any width, as strftime."""
    out, i, literal = [], 0, ""
    while i < len(fmt):
        token = fmt[i:i + 2]
        if token in _STRFTIME:
            if literal:
                out.append("'" + literal.replace("'", "''") + "'")
                literal = ""
            glued = fmt[i + 2:i + 4] in _STRFTIME or (i >= 2 and fmt[i - 2:i] in _STRFTIME)
            code = _STRFTIME[token]
            out.append(code * 2 if glued and len(code) == 1 else code)
            i += 2
        else:
            literal += "%" if token == "%%" else fmt[i]
            i += 2 if token == "%%" else 1
    if literal:
        out.append("'" + literal.replace("'", "''") + "'")
    return "".join(out)


def _formats(date_format: str | tuple[str, ...] | None) -> list[str]:
    if not date_format:
        return [*DATE_FORMATS, INFERRED]
    return [date_format] if isinstance(date_format, str) else list(date_format)


def _date_text(frame: Any, column: str) -> tuple[Any, bool]:
    """The date column as text to parse, or (timestamp, True) when already a date type."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, FractionalType, TimestampType

    kind = frame.schema[column].dataType
    col = F.col(f"`{column}`")
    if isinstance(kind, (DateType, TimestampType)):
        return col.cast("timestamp"), True
    if isinstance(kind, FractionalType):
        col = col.cast("long")
    return col.cast("string"), False


def _parsed(frame: Any, columns: ColumnMap, reader: ReaderOptions) -> tuple[Any, list[str]]:
    """Per row: rid (file order), customer, the raw date/amount, ts, fmt (index), value."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    text, typed = _date_text(frame, columns.date)
    formats = ["datetime"] if typed else _formats(columns.date_format)
    tries = [text] if typed else [
        text.try_cast("timestamp") if f == "ISO8601" else F.try_to_timestamp(
            text, F.lit(spark_pattern(f))) for f in formats if f != INFERRED]
    fmt = F.lit(None).cast("int")
    for i, parsed in reversed(list(enumerate(tries))):
        fmt = F.when(parsed.isNotNull(), F.lit(i)).otherwise(fmt)
    amount = F.col(f"`{columns.amount}`")
    if isinstance(frame.schema[columns.amount].dataType, NumericType):
        value, exact = amount.cast("double"), amount.cast("decimal(18,4)")
    else:
        cleaned = F.regexp_replace(amount.cast("string"), CURRENCY, "")
        if reader.thousands:
            cleaned = F.replace(cleaned, F.lit(reader.thousands), F.lit(""))
        if reader.decimal != ".":
            cleaned = F.replace(cleaned, F.lit(reader.decimal), F.lit("."))
        value, exact = cleaned.try_cast("double"), cleaned.try_cast("decimal(18,4)")
    out = frame.select(
        F.monotonically_increasing_id().alias("rid"),
        F.trim(F.col(f"`{columns.customer}`").cast("string")).alias("customer"),
        F.col(f"`{columns.date}`").cast("string").alias("date_raw"), text.alias("date_text"),
        amount.cast("string").alias("amount_raw"), F.coalesce(*tries).alias("ts"),
        fmt.alias("fmt"), value.alias("value"), exact.alias("amount"))
    return out, formats


def _inferred(rows: Any, formats: list[str]) -> Any:
    """Dates no format read, parsed on the driver by pandas' inference (as the pandas engine
    does), for up to :data:`MAX_INFERRED` distinct strings in file order."""
    from pyspark.sql import functions as F

    if INFERRED not in formats:
        return rows
    left = (rows.where(F.col("ts").isNull() & F.col("date_text").isNotNull())
            .groupBy("date_text").agg(F.min("rid").alias("first")).orderBy("first")
            .limit(MAX_INFERRED).collect())
    if not left:
        return rows
    values = pd.Series([r["date_text"] for r in left], dtype="string")
    parsed = parse_dates_by_format(values, [INFERRED])[0]
    found = [(v, ts.to_pydatetime()) for v, ts in zip(values, parsed, strict=True)
             if not pd.isna(ts)]
    if not found:
        return rows
    spark = rows.sparkSession
    table = spark.createDataFrame(found, "date_text string, inferred timestamp")
    index = formats.index(INFERRED)
    joined = rows.join(F.broadcast(table), "date_text", "left")
    return joined.select(
        *[c for c in rows.columns if c not in ("ts", "fmt")],
        F.coalesce("ts", "inferred").alias("ts"),
        F.when(F.col("fmt").isNull() & F.col("inferred").isNotNull(), F.lit(index))
        .otherwise(F.col("fmt")).alias("fmt"))


def _counts(rows: Any, n_formats: int) -> dict[str, int]:
    """Every count the cleaner needs, in one pass."""
    from pyspark.sql import functions as F

    no_customer = F.col("customer").isNull() | (F.col("customer") == "")
    bad_date = F.col("ts").isNull() & ~no_customer
    bad_value = (F.col("value").isNull() | F.isnan("value")
                 | (F.abs(F.col("value")) == float("inf")))
    bad_amount = bad_value & ~no_customer & ~bad_date
    total = lambda cond: F.sum(F.when(cond, 1).otherwise(0))  # noqa: E731
    aggs = [F.count(F.lit(1)).alias("rows"), total(no_customer).alias("no_customer"),
            total(bad_date).alias("bad_date"), total(bad_amount).alias("bad_amount"),
            total(F.col("date_raw").isNotNull()).alias("date_given"),
            total(F.col("date_raw").isNotNull() & F.col("ts").isNotNull()).alias("date_parsed"),
            total(F.col("amount_raw").isNotNull()).alias("amount_given"),
            total(F.col("amount_raw").isNotNull() & F.col("value").isNotNull()
                  ).alias("amount_parsed"),
            total(~no_customer & ~F.col("customer").rlike(INTEGER)).alias("text_ids"),
            *[total(F.col("fmt") == i).alias(f"fmt{i}") for i in range(n_formats)]]
    return {k: int(v or 0) for k, v in rows.agg(*aggs).first().asDict().items()}


def _examples(rows: Any, condition: Any, column: str) -> list[Any]:
    """The first three values of ``column`` where ``condition`` holds, in file order (a
    missing one as NaN, as pandas shows it)."""
    picked = rows.where(condition).orderBy("rid").select(column).limit(3).collect()
    return [float("nan") if r[0] is None else r[0] for r in picked]


def clean_transactions(frame: Any, columns: ColumnMap, source: str, returns: str,
                       duplicates: str, strict: bool, reader: ReaderOptions
                       ) -> tuple[Any, DataQuality]:
    """customer, ts (timestamp), amount (decimal 18,4) of the usable rows, and the record of
    what cleaning did: the pandas cleaner's counts, messages and refusals."""
    from pyspark.sql import functions as F

    check_policy("returns", returns, RETURN_POLICIES)
    check_policy("duplicates", duplicates, DUPLICATE_POLICIES)
    expected = [columns.customer, columns.date, columns.amount]
    require_columns(frame, expected, source)
    if columns.optional or columns.categorical or columns.order:
        raise TabularInputError("engine=spark builds the RFM features from customer, date and "
                                "amount only; drop columns.order, columns.categorical and the "
                                "optional columns, or use engine=pandas")
    rows, formats = _parsed(frame, columns, reader)
    rows = _inferred(rows, formats).cache()
    n = _counts(rows, len(formats))
    if not n["rows"]:
        raise TabularInputError(f"{source}: the table is empty (no data rows)")
    dq = DataQuality(source=source, rows_read=n["rows"])
    dq.date_formats = {f: n[f"fmt{i}"] for i, f in enumerate(formats) if n[f"fmt{i}"]}
    for role, what in (("date", "dates"), ("amount", "numbers")):
        given, parsed = n[f"{role}_given"], n[f"{role}_parsed"]
        examples = (_examples(rows, F.col(f"{role}_raw").isNotNull(), f"{role}_raw")
                    if given and not parsed else [])
        check_text_column(given, parsed, examples, getattr(columns, role), source, what)
    _count_bad_rows(rows, n, columns, source, strict, dq)
    check_dropped_share(n["no_customer"] + n["bad_date"] + n["bad_amount"], n["rows"], reader,
                        source, dq)
    customer = F.col("customer").cast("long") if not n["text_ids"] else F.col("customer")
    tx = rows.where(F.col("customer").isNotNull() & (F.col("customer") != "")
                    & F.col("ts").isNotNull() & F.col("value").isNotNull()
                    & ~F.isnan("value") & (F.abs(F.col("value")) != float("inf"))
                    ).select(customer.alias("customer"), "ts", "amount")
    if duplicates != "keep":
        deduplicated = tx.dropDuplicates()
        used = tx.count()
        if drop_duplicates(used - deduplicated.count(), duplicates, strict, expected, source,
                           dq):
            tx = deduplicated
    if drop_returns(tx.where(F.col("amount") < 0).count(), returns, source, dq):
        tx = tx.where(F.col("amount") >= 0)
    tx = tx.cache()
    left = tx.agg(F.count(F.lit(1)).alias("rows"),
                  F.countDistinct("customer").alias("customers"),
                  F.first("customer").alias("first")).first()
    check_usable(int(left["rows"]), int(left["customers"]), left["first"], source, dq)
    rows.unpersist()
    return tx, dq


def _count_bad_rows(rows: Any, n: dict[str, int], columns: ColumnMap, source: str,
                    strict: bool, dq: DataQuality) -> None:
    """No id, unparseable dates, unparseable amounts: each row under the first that applies."""
    from pyspark.sql import functions as F

    no_customer = F.col("customer").isNull() | (F.col("customer") == "")
    bad_date = F.col("ts").isNull() & ~no_customer
    bad_value = (F.col("value").isNull() | F.isnan("value")
                 | (F.abs(F.col("value")) == float("inf")))
    total = n["rows"]
    bad_rows(n["no_customer"], total, "no customer id", source, strict, dq)
    fmt = f" with date_format {columns.date_format!r}" if columns.date_format else ""
    bad_rows(n["bad_date"], total, f"unparseable dates{fmt} in column '{columns.date}'",
             source, strict, dq,
             _examples(rows, bad_date, "date_raw") if n["bad_date"] else [])
    bad_rows(n["bad_amount"], total, f"unparseable amounts in column '{columns.amount}'",
             source, strict, dq,
             _examples(rows, bad_value & ~no_customer & ~bad_date, "amount_raw")
             if n["bad_amount"] else [])


def exclude_late_rows(tx: Any, quantile: float, max_gap_days: int, strict: bool, source: str,
                      dq: DataQuality) -> Any:
    """Rows dated more than ``max_gap_days`` after the ``quantile`` of all dates are counted
    and excluded (``strict``: refused), with the pandas engine's message: a few rows keyed
    years ahead would otherwise move the default reference date."""
    from pyspark.sql import functions as F

    from visionseg.tabular.features import account_late_rows

    micros = tx.agg(F.percentile(F.unix_micros("ts"), F.lit(float(quantile)))).first()[0]
    cutoff = (pd.Timestamp(round(micros), unit="us") + pd.Timedelta(days=int(max_gap_days)))
    late = tx.where(F.col("ts") > cutoff.to_pydatetime())
    found = late.agg(F.count(F.lit(1)), F.min("ts"), F.max("ts")).first()
    n_late = int(found[0])
    if not n_late:
        return tx
    account_late_rows(dq, n_late, cutoff, quantile, max_gap_days, (found[1], found[2]),
                      source, strict)
    return tx.where(F.col("ts") <= cutoff.to_pydatetime())
