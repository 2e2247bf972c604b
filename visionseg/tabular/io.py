"""Reading transaction and customer tables: CSV/text or Parquet, and parsing dates and amounts.

Every problem a user can fix is a :class:`TabularInputError` naming the file and what is
wrong; parsing never raises on a bad value (it becomes NaT/NaN for the cleaner to count).
"""

from __future__ import annotations

import codecs
import warnings
from collections.abc import Mapping, Sequence
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
# columns.date_format=null: each date is tried against these, in order (docs/tabular.md);
# whatever none of them reads is left to pandas' own inference
DATE_FORMATS = ("ISO8601", "%d/%m/%Y", "%d.%m.%Y")
INFERRED = "inferred"


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
    max_dropped_share: float = 0.05  # more unparseable rows than this share fail the run

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
    if fmt == "csv":
        check_encoding(options.encoding)
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
    except UnicodeDecodeError as exc:
        raise TabularInputError(encoding_message(path, options.encoding, exc)) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        if isinstance(exc, TabularInputError):
            raise
        raise TabularInputError(f"{path}: cannot be read as {fmt}: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise TabularInputError(f"{path}: the table is empty (no data rows)")
    return frame


def encoding_message(path: Path, encoding: str, exc: UnicodeDecodeError | None = None) -> str:
    """One line naming the file, the first line that does not decode, and the setting to
    change: pandas' own message gives a byte offset in some buffer, which helps nobody.
    ``exc`` (pandas' error) names the byte when no single line fails (both engines)."""
    line, byte = _first_bad_line(Path(path), encoding)
    where = (f"line {line} (byte 0x{byte:02x})" if line or exc is None
             else f"byte 0x{exc.object[exc.start]:02x}")
    hint = ("reader.encoding=latin-1" if encoding.lower().replace("_", "-") in ("utf-8", "utf8")
            else "reader.encoding=utf-8 or reader.encoding=latin-1")
    return (f"{path}: {where} is not valid {encoding} text (reader.encoding={encoding}); "
            f"set {hint} if the file was written in that encoding")


def check_encoding(encoding: str) -> str:
    """The codec's canonical Python name; one line for a name Python does not know."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise TabularInputError(f"reader.encoding={encoding} is not a known text encoding "
                                "(e.g. utf-8, latin-1, cp1252)") from None


def first_bad_line(path: str | Path, encoding: str) -> int:
    """The number of the first line of ``path`` that does not decode (0: all do)."""
    return _first_bad_line(Path(path), encoding)[0]


def _first_bad_line(path: Path, encoding: str) -> tuple[int, int]:
    """``(line number, offending byte)`` of the first line that does not decode; (0, 0)
    when every line decodes on its own."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return number, raw[exc.start]
    return 0, 0


def parse_dates(values: pd.Series, date_format: str | Sequence[str] | None) -> pd.Series:
    """Parse to ``datetime64``; unparseable entries become NaT (never an exception)."""
    return parse_dates_by_format(values, date_format)[0]


def parse_dates_by_format(values: pd.Series, date_format: str | Sequence[str] | None
                          ) -> tuple[pd.Series, dict[str, int]]:
    """Parse to ``datetime64`` and count the entries each format read.

    ``date_format`` is one strftime format, a list of them (tried in order, each on what the
    earlier ones left), or None for :data:`DATE_FORMATS` and then pandas' inference. Each
    entry is tried against every format on its own, so a file mixing ISO dates and
    dd/mm/yyyy is read whole: inferring one format from the first value drops the rest.
    Unparseable entries become NaT (never an exception).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_localize(None) if values.dt.tz is not None else values
        return parsed, {"datetime": int(parsed.notna().sum())}
    if values.dtype.kind == "f" and np.all(np.mod(values.dropna().to_numpy(), 1) == 0):
        values = values.astype("Int64")
    text = values.astype("string")
    formats = (list(DATE_FORMATS) + [INFERRED] if not date_format
               else [date_format] if isinstance(date_format, str) else list(date_format))
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    counts: dict[str, int] = {}
    for fmt in formats:
        todo = parsed.isna() & text.notna()
        if not todo.any():
            break
        found = _to_datetime(text[todo], fmt)
        if isinstance(found.dtype, pd.DatetimeTZDtype):
            found = found.dt.tz_convert(None)
        counts[fmt] = int(found.notna().sum())
        parsed[todo] = found.astype("datetime64[us]")
    return parsed, {f: n for f, n in counts.items() if n}


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    """``pd.to_datetime`` with one format (or ``inferred``), failures as NaT."""
    if fmt != INFERRED:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    with warnings.catch_warnings():  # inference parses one by one; the cleaner counts failures
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
