"""Reading a transactions file into Spark with the pandas engine's reader options.

``reader.sep`` (a delimiter, a name, or ``whitespace``: each line read whole and split on
runs of blanks), ``reader.header`` (false: columns ``0, 1, 2, ...``), ``reader.encoding``
(bytes that do not decode are the same one-line error as pandas, never silent U+FFFD) and
pandas' missing-value markers (``NA``, ``null``, ...) read the same on both engines. Every
text column stays a string; :mod:`.cleaning` parses it as the pandas cleaner does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import (
    PARQUET_SUFFIXES,
    SEPARATORS,
    ReaderOptions,
    check_encoding,
    encoding_message,
    first_bad_line,
)

# pandas.read_csv's default missing-value markers (pandas._libs.parsers.STR_NA_VALUES)
NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
             "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
WHITESPACE = r"\s+"
_JAVA_CHARSETS = {"iso8859-1": "ISO-8859-1", "utf-8": "UTF-8", "ascii": "US-ASCII",
                  "utf-16": "UTF-16", "utf-8-sig": "UTF-8"}


def java_charset(encoding: str) -> str:
    """The JVM's name for a Python encoding name (``latin-1`` -> ``ISO-8859-1``)."""
    name = check_encoding(encoding)
    if name in _JAVA_CHARSETS:
        return _JAVA_CHARSETS[name]
    if name.startswith("iso8859-"):
        return "ISO-8859-" + name.split("-", 1)[1]
    if name.startswith("cp125"):
        return "windows-" + name[2:]
    return name.upper()


def read_transactions(spark: Any, path: str, reader: ReaderOptions) -> Any:
    """The raw table as a Spark DataFrame (text or Parquet, chosen like the pandas engine)."""
    if not Path(path).exists():
        raise TabularInputError(f"{path}: file not found")
    fmt = reader.format
    if fmt == "auto":
        fmt = "parquet" if Path(path).suffix.lower() in PARQUET_SUFFIXES else "csv"
    if fmt == "parquet":
        frame = spark.read.parquet(str(path))
    elif fmt == "csv":
        frame = _read_text(spark, path, reader)
    else:
        raise TabularInputError(f"{path}: reader.format must be auto, csv or parquet, not {fmt}")
    if not frame.columns:
        raise TabularInputError(f"{path}: the table is empty")
    return frame


def _read_text(spark: Any, path: str, reader: ReaderOptions) -> Any:
    """Delimited or whitespace-separated text, every column a string, NA markers null."""
    from pyspark.sql import functions as F

    sep = SEPARATORS.get(reader.sep, reader.sep)
    charset = java_charset(reader.encoding)
    base = (spark.read.option("header", str(reader.header).lower()).option("encoding", charset)
            .option("mode", "PERMISSIVE"))
    if sep == WHITESPACE:
        frame = _split_whitespace(base.option("sep", "\u0001").option("quote", "\u0000")
                                  .csv(str(path)), reader.header, path)
    else:
        frame = (base.option("sep", sep).option("escape", '"')
                 .option("ignoreLeadingWhiteSpace", "true").csv(str(path)))
        names = [c.strip() for c in frame.columns] if reader.header else [
            str(i) for i in range(len(frame.columns))]
        frame = frame.toDF(*names)
    _check_decoded(frame, path, reader.encoding)
    return frame.select(*[F.when(F.col(f"`{c}`").isin(*NA_VALUES), None)
                          .otherwise(F.col(f"`{c}`")).alias(c) for c in frame.columns])


def _split_whitespace(lines: Any, header: bool, path: str) -> Any:
    """Each line split on runs of blanks (leading and trailing ones ignored), as pandas'
    ``sep=r"\\s+"``; a line with more fields than the header is refused like pandas does."""
    from pyspark.sql import functions as F

    if not lines.columns:
        return lines
    first = lines.columns[0]
    parts = F.split(F.regexp_replace(F.col(f"`{first}`"), r"^\s+|\s+$", ""), WHITESPACE)
    if header:
        names = first.split()
    else:
        head = lines.first()
        names = [str(i) for i in range(len(head[0].split()) if head else 0)]
    split = lines.select(parts.alias("parts"))
    longer = split.where(F.size("parts") > len(names)).limit(1).collect()
    if longer:
        raise TabularInputError(
            f"{path}: cannot be read as csv: a line has {len(longer[0]['parts'])} fields where "
            f"the first line has {len(names)} (reader.sep=whitespace)")
    return split.select(*[F.col("parts")[i].alias(n) for i, n in enumerate(names)])


def _check_decoded(frame: Any, path: str, encoding: str) -> None:
    """Spark replaces bytes that do not decode with U+FFFD; pandas refuses them: so do we,
    with pandas' message, when the file holds such a line."""
    from pyspark.sql import functions as F

    if not frame.columns:
        return
    text = F.concat_ws("\u0001", *[F.col(f"`{c}`") for c in frame.columns])
    if frame.where(text.contains("\ufffd")).limit(1).count() and first_bad_line(path, encoding):
        raise TabularInputError(encoding_message(Path(path), encoding))
