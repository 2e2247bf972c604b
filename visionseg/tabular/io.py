"""Reading transaction and customer tables, mapping their columns, and validating them.

Every problem a user can fix is a :class:`TabularInputError` naming the file and what is
wrong. Problems that only cost some rows (unparseable dates or amounts, duplicate rows,
returns) are counted in a :class:`DataQuality` record that the report shows; with
``strict=True`` they fail instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular.errors import TabularInputError

PARQUET_SUFFIXES = {".parquet", ".pq"}
RETURN_POLICIES = ("net", "drop", "error")
DUPLICATE_POLICIES = ("drop", "keep", "error")
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


@dataclass(frozen=True)
class ColumnMap:
    """Which input columns hold what.

    Transactions need ``customer``, ``date`` and ``amount``; ``order`` (an invoice id) makes
    several rows one order. ``categorical`` columns become per-customer attributes (their most
    frequent value). A customer table needs ``customer`` plus ``numeric``/``categorical``, and
    may name a ``revenue`` column for the profiles (clustered only if also in ``numeric``).
    """

    customer: str = "customer_id"
    date: str = "date"
    amount: str = "amount"
    date_format: str | None = None
    order: str | None = None
    revenue: str | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> ColumnMap:
        values = {k: v for k, v in dict(cfg or {}).items() if v is not None}
        for key in ("numeric", "categorical"):
            if key in values:
                values[key] = tuple(str(c) for c in values[key])
        for key in ("customer", "date", "amount", "order", "revenue"):
            if key in values:
                values[key] = str(values[key])
        return cls(**values)


@dataclass
class DataQuality:
    """What cleaning did to the input, for the report."""

    source: str
    rows_read: int = 0
    rows_used: int = 0
    customers: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)


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


def require_columns(frame: pd.DataFrame, expected: Sequence[str], source: str) -> None:
    """Fail with the expected and the found column names when any expected one is missing."""
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise TabularInputError(
            f"{source}: missing column(s) {missing}; expected {list(expected)}, "
            f"found {list(frame.columns)}. Map them with columns.<role>=<name> "
            "(e.g. columns.customer=CustomerID), or set reader.sep / reader.header if the "
            "file was split wrongly."
        )


def parse_dates(values: pd.Series, date_format: str | None) -> pd.Series:
    """Parse to ``datetime64``; unparseable entries become NaT (never an exception)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values
    if values.dtype.kind == "f" and np.all(np.mod(values.dropna().to_numpy(), 1) == 0):
        values = values.astype("Int64")
    text = values.astype("string")
    if date_format:
        return pd.to_datetime(text, format=date_format, errors="coerce")
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


def _bad_rows(count: int, total: int, what: str, source: str, strict: bool, dq: DataQuality,
              examples: Sequence[Any] = ()) -> None:
    if count == 0:
        return
    sample = f" (e.g. {', '.join(repr(v) for v in list(examples)[:3])})" if len(examples) else ""
    text = f"{count} of {total} rows have {what}{sample}"
    if strict:
        raise TabularInputError(f"{source}: {text}; strict=true refuses them "
                                "(set strict=false to drop and count them)")
    dq.note(f"{text}: dropped")


def clean_transactions(
    frame: pd.DataFrame,
    columns: ColumnMap,
    source: str,
    returns: str = "net",
    duplicates: str = "drop",
    strict: bool = False,
    reader: ReaderOptions | None = None,
) -> tuple[pd.DataFrame, DataQuality]:
    """Validate and normalise a transactions table.

    Returns a frame with columns ``customer`` (text ids stripped, integer ids kept), ``date``
    (datetime64), ``amount`` (float64), ``order`` and the mapped categorical columns, plus the
    data-quality record. ``returns`` says what negative amounts are: ``net`` (kept, so they
    reduce the customer's revenue), ``drop`` or ``error``. ``duplicates`` handles fully
    identical rows. ``reader`` gives the decimal and thousands separators of text amounts.
    """
    reader = reader or ReaderOptions()
    if returns not in RETURN_POLICIES:
        raise TabularInputError(f"returns must be one of {RETURN_POLICIES}, not {returns!r}")
    if duplicates not in DUPLICATE_POLICIES:
        raise TabularInputError(
            f"duplicates must be one of {DUPLICATE_POLICIES}, not {duplicates!r}")
    expected = [columns.customer, columns.date, columns.amount, *columns.categorical]
    if columns.order:
        expected.append(columns.order)
    require_columns(frame, expected, source)
    dq = DataQuality(source=source, rows_read=len(frame))
    total = len(frame)
    if total == 0:
        raise TabularInputError(f"{source}: the table is empty (no data rows)")

    customer = frame[columns.customer]
    no_customer = customer.isna()
    if customer.dtype.kind in "OUT" or isinstance(customer.dtype, pd.StringDtype):
        no_customer |= customer.astype("string").str.strip().eq("").fillna(True)
    dates = parse_dates(frame[columns.date], columns.date_format)
    amounts = parse_amounts(frame[columns.amount], reader.decimal, reader.thousands)
    bad_date = dates.isna().to_numpy()
    bad_amount = (amounts.isna() | ~np.isfinite(amounts.fillna(0.0))).to_numpy()
    _bad_rows(int(no_customer.sum()), total, "no customer id", source, strict, dq)
    fmt = f" with date_format {columns.date_format!r}" if columns.date_format else ""
    _bad_rows(int(bad_date.sum()), total, f"unparseable dates{fmt} in column '{columns.date}'",
              source, strict, dq, frame[columns.date][bad_date].head(3).tolist())
    _bad_rows(int(bad_amount.sum()), total, f"unparseable amounts in column '{columns.amount}'",
              source, strict, dq, frame[columns.amount][bad_amount].head(3).tolist())
    keep = ~(no_customer.to_numpy() | bad_date | bad_amount)

    out = pd.DataFrame({
        "customer": _ids(customer[keep]),
        "date": dates[keep].to_numpy(),
        "amount": amounts[keep].to_numpy(),
    })
    if columns.order:
        out["order"] = frame[columns.order][keep].astype("str").to_numpy()
    for col in columns.categorical:
        out[col] = _category_values(frame[col][keep])

    if duplicates != "keep":
        dup = duplicate_rows(out)
        n_dup = int(dup.sum())
        if n_dup and (duplicates == "error" or strict):
            raise TabularInputError(
                f"{source}: {n_dup} duplicate rows (identical in {expected}); set "
                "duplicates=drop to drop them or duplicates=keep if they are real repeat orders")
        if n_dup:
            out = out[~dup].reset_index(drop=True)
            dq.note(f"{n_dup} duplicate rows dropped (duplicates=drop)")

    negative = out["amount"].to_numpy() < 0
    n_neg = int(negative.sum())
    if n_neg:
        if returns == "error":
            raise TabularInputError(
                f"{source}: {n_neg} rows have negative amounts (returns); set returns=net to "
                "subtract them from the customer's revenue or returns=drop to ignore them")
        if returns == "drop":
            out = out[~negative].reset_index(drop=True)
            dq.note(f"{n_neg} rows with negative amounts (returns) dropped (returns=drop)")
        else:
            dq.note(f"{n_neg} rows with negative amounts (returns) netted against revenue "
                    "(returns=net)")
    if out.empty:
        raise TabularInputError(
            f"{source}: no usable rows left after cleaning ({'; '.join(dq.notes)})")
    dq.rows_used = len(out)
    dq.customers = int(out["customer"].nunique())
    if dq.customers < 2:
        raise TabularInputError(
            f"{source}: only one customer ({out['customer'].iloc[0]!r}) in the usable rows; "
            "segmentation needs at least two (check columns.customer)")
    return out, dq


def duplicate_rows(frame: pd.DataFrame) -> np.ndarray:
    """True for each row identical to an earlier one (like ``DataFrame.duplicated``).

    Fast on ten million rows: a 64-bit hash of the numeric, date and factorised id columns
    finds the few candidate rows, and only those are compared exactly, on every column.
    """
    quick = pd.DataFrame({
        col: values if values.dtype.kind in "iufMmb" else pd.factorize(values)[0]
        for col, values in frame.items()
        if col == "customer" or values.dtype.kind in "iufMmb"
    })
    hashes = pd.util.hash_pandas_object(quick, index=False).to_numpy()
    candidates = np.flatnonzero(pd.Series(hashes).duplicated(keep=False).to_numpy())
    mask = np.zeros(len(frame), dtype=bool)
    if len(candidates):
        mask[candidates] = frame.iloc[candidates].duplicated().to_numpy()
    return mask


def clean_customers(
    frame: pd.DataFrame, columns: ColumnMap, source: str, strict: bool = False,
    reader: ReaderOptions | None = None,
) -> tuple[pd.DataFrame, DataQuality]:
    """Validate an already aggregated customer table (one row per customer).

    Returns a frame indexed by customer id holding the numeric columns as float64 and
    the categorical ones as str. Rows with unparseable numbers are dropped and counted.
    """
    reader = reader or ReaderOptions()
    if not columns.numeric and not columns.categorical:
        raise TabularInputError(
            f"{source}: input_kind=customers needs columns.numeric and/or columns.categorical "
            f"(found columns {list(frame.columns)})")
    numeric_columns = list(dict.fromkeys(
        [*columns.numeric, *([columns.revenue] if columns.revenue else [])]))
    expected = [columns.customer, *numeric_columns, *columns.categorical]
    require_columns(frame, expected, source)
    dq = DataQuality(source=source, rows_read=len(frame))
    total = len(frame)
    ids = frame[columns.customer]
    no_id = ids.isna().to_numpy()
    _bad_rows(int(no_id.sum()), total, "no customer id", source, strict, dq)
    keep = ~no_id
    numeric = {}
    for col in numeric_columns:
        values = parse_amounts(frame[col], reader.decimal, reader.thousands)
        bad = (values.isna() & frame[col].notna()).to_numpy() | ~np.isfinite(values.fillna(0.0))
        _bad_rows(int(bad.sum()), total, f"unparseable numbers in column '{col}'", source,
                  strict, dq, frame[col][bad].head(3).tolist())
        keep &= ~bad
        numeric[col] = values
    ids = pd.Series(_ids(ids[keep]))
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        examples = ids[dup].unique()[:3].tolist()
        raise TabularInputError(
            f"{source}: {int(dup.sum())} rows share a customer id (e.g. {examples}); a customer "
            "table needs one row per customer (use input_kind=transactions for raw orders)")
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="customer"))
    for col, values in numeric.items():
        out[col] = values[keep].to_numpy()
    for col in columns.categorical:
        out[col] = _category_values(frame[col][keep])
    if out.empty:
        raise TabularInputError(f"{source}: no usable rows left after cleaning")
    if len(out) < 2:
        raise TabularInputError(
            f"{source}: only one customer ({out.index[0]!r}); segmentation needs at least two")
    dq.rows_used = dq.customers = len(out)
    return out, dq


def _category_values(values: pd.Series) -> np.ndarray:
    """Categorical values as plain Python strings; missing becomes ``"missing"``."""
    text = values.astype("string").str.strip().fillna("missing")
    return text.replace("", "missing").astype(object).to_numpy()


def _ids(values: pd.Series) -> np.ndarray:
    """Customer ids: integers stay integers (fast to group), text is stripped."""
    if values.dtype.kind in "iu":
        return values.to_numpy()
    if values.dtype.kind == "f" and np.all(np.mod(values.dropna().to_numpy(), 1) == 0):
        return values.astype("int64").to_numpy()
    return values.astype("str").str.strip().to_numpy()
