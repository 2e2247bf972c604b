"""Reading transaction and customer tables: CSV/text or Parquet, and parsing dates and amounts.

Every problem a user can fix is a :class:`TabularInputError` naming the file and what is
wrong; parsing never raises on a bad value (it becomes NaT/NaN for the cleaner to count).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular.errors import TabularInputError

PARQUET_SUFFIXES = {".parquet", ".pq"}
_CURRENCY = r"[\s$€£¥]"
SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "whitespace": r"\s+",
              "\\t": "\t"}


@dataclass(frozen=True)
class ReaderOptions:
    """How to parse the file.

    ``sep`` is a delimiter or a name: ``comma``, ``semicolon``, ``tab``, ``pipe``, or
    ``whitespace`` (runs of blanks); names spare users Hydra's quoting of ``;`` and tabs.
    """

    sep: str = ","
    header: bool = True
    format: str = "auto"
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> ReaderOptions:
        return cls(**{k: v for k, v in dict(cfg or {}).items() if v is not None})


def read_table(path: str | Path, options: ReaderOptions) -> pd.DataFrame:
    """Read a CSV/text or Parquet file into a DataFrame with string column names."""
    path = Path(path)
    if not path.is_file():
        raise TabularInputError(f"{path}: file not found")
    fmt = options.format
    if fmt == "auto":
        fmt = "parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "csv"
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "csv":
            sep = SEPARATORS.get(options.sep, options.sep)
            frame = pd.read_csv(
                path,
                sep=sep,
                header=0 if options.header else None,
                encoding=options.encoding,
                decimal=options.decimal,
                thousands=options.thousands,
                skipinitialspace=sep != r"\s+",
            )
        else:
            raise TabularInputError(
                f"{path}: reader.format must be auto, csv or parquet, not {fmt}")
    except pd.errors.EmptyDataError:
        raise TabularInputError(f"{path}: the table is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        if isinstance(exc, TabularInputError):
            raise
        raise TabularInputError(f"{path}: cannot be read as {fmt}: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise TabularInputError(f"{path}: the table is empty (no data rows)")
    return frame


def parse_dates(values: pd.Series, date_format: str | None) -> pd.Series:
    """Parse to ``datetime64``; unparseable entries become NaT (never an exception)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values
    if values.dtype.kind == "f" and np.all(np.mod(values.dropna().to_numpy(), 1) == 0):
        values = values.astype("Int64")
    text = values.astype("string")
    if date_format:
        return pd.to_datetime(text, format=date_format, errors="coerce")
    with warnings.catch_warnings():  # mixed formats parse one by one; the cleaner counts failures
        warnings.filterwarnings("ignore", message="Could not infer format")
        return pd.to_datetime(text, errors="coerce")


def parse_amounts(values: pd.Series, decimal: str = ".", thousands: str | None = None
                  ) -> pd.Series:
    """Parse to float; currency symbols, blanks and ``thousands`` separators are stripped,
    ``decimal`` becomes a point; what still is no number becomes NaN."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.replace(_CURRENCY, "", regex=True)
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")
