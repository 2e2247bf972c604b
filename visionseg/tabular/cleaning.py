"""Validating transaction and customer tables and mapping their columns.

Problems that only cost some rows (unparseable dates or amounts, duplicate rows, returns)
are counted in a :class:`DataQuality` record shown on the console and in the report; with
``strict=True`` they fail instead. A column that holds only text where numbers or dates
belong is named in the error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import ReaderOptions, parse_amounts, parse_dates_by_format

RETURN_POLICIES = ("net", "drop", "error")
OPTIONAL_ROLES = ("discount", "returns", "category", "channel")
FLAG_WORDS = {"true": 1.0, "yes": 1.0, "false": 0.0, "no": 0.0}
DUPLICATE_POLICIES = ("drop", "keep", "error")


@dataclass(frozen=True)
class ColumnMap:
    """Which input columns hold what.

    Transactions need ``customer``, ``date`` and ``amount``; ``order`` (an invoice id) makes
    several rows one order. ``categorical`` columns become per-customer attributes (their most
    frequent value). A customer table needs ``customer`` plus ``numeric``/``categorical``, and
    may name a ``revenue`` column for the profiles (clustered only if also in ``numeric``).
    The optional transaction columns ``discount`` (amount or flag), ``returns`` (flag or
    refunded amount), ``category`` and ``channel`` become the features of
    :mod:`visionseg.tabular.extra_features`.
    """

    customer: str = "customer_id"
    date: str = "date"
    amount: str = "amount"
    date_format: str | tuple[str, ...] | None = None  # one format, several, or None: documented
    order: str | None = None
    revenue: str | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    discount: str | None = None
    returns: str | None = None
    category: str | None = None
    channel: str | None = None

    @property
    def optional(self) -> dict[str, str]:
        """The mapped optional transaction columns: role -> column name."""
        return {role: name for role in OPTIONAL_ROLES
                if (name := getattr(self, role)) is not None}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> ColumnMap:
        values = {k: v for k, v in dict(cfg or {}).items() if v is not None}
        if isinstance(values.get("date_format"), (list, tuple)):
            values["date_format"] = tuple(str(f) for f in values["date_format"])
        for key in ("numeric", "categorical"):
            if key in values:
                values[key] = tuple(str(c) for c in values[key])
        for key in ("customer", "date", "amount", "order", "revenue", *OPTIONAL_ROLES):
            if key in values:
                values[key] = str(values[key])
        return cls(**values)


@dataclass
class DataQuality:
    """What cleaning did to the input: every dropped or adjusted row counted, for the console
    and the report."""

    source: str
    rows_read: int = 0
    rows_used: int = 0
    customers: int = 0
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    adjusted: dict[str, int] = field(default_factory=dict)
    reference_date: str | None = None  # the date the features were measured at, when dated
    date_formats: dict[str, int] = field(default_factory=dict)  # format -> rows it read

    def note(self, text: str) -> None:
        self.notes.append(text)

    def drop(self, reason: str, rows: int) -> None:
        """Count ``rows`` removed for ``reason``."""
        if rows:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(rows)

    def adjust(self, reason: str, rows: int) -> None:
        """Count ``rows`` kept but changed or reinterpreted for ``reason``."""
        if rows:
            self.adjusted[reason] = self.adjusted.get(reason, 0) + int(rows)

    def row_counts(self) -> list[tuple[str, str, int]]:
        """``(dropped|adjusted, reason, rows)`` for every count."""
        return ([("dropped", r, n) for r, n in self.dropped.items()]
                + [("adjusted", r, n) for r, n in self.adjusted.items()])

    def console_lines(self) -> list[str]:
        total = sum(self.dropped.values())
        lines = [f"{self.source}: {self.rows_read} rows read, {total} dropped, "
                 f"{self.rows_used} used"]
        if len(self.date_formats) > 1:  # one format is the normal case, not worth a line
            lines.append("  dates read by format: " + ", ".join(
                f"{n} as {fmt}" for fmt, n in self.date_formats.items()))
        lines += [f"  {kind} {n} rows: {reason}" for kind, reason, n in self.row_counts()]
        return lines


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


def bad_rows(count: int, total: int, what: str, source: str, strict: bool, dq: DataQuality,
              examples: Sequence[Any] = ()) -> None:
    if count == 0:
        return
    sample = f" (e.g. {', '.join(repr(v) for v in list(examples)[:3])})" if len(examples) else ""
    text = f"{count} of {total} rows have {what}{sample}"
    if strict:
        raise TabularInputError(f"{source}: {text}; strict=true refuses them "
                                "(set strict=false to drop and count them)")
    dq.drop(f"{what}{sample}", count)


def clean_transactions(
    frame: pd.DataFrame,
    columns: ColumnMap,
    source: str,
    returns: str = "net",
    duplicates: str = "drop",
    strict: bool = False,
    reader: ReaderOptions | None = None,
    min_customers: int = 2,
) -> tuple[pd.DataFrame, DataQuality]:
    """Validate and normalise a transactions table.

    Returns a frame with columns ``customer`` (text ids stripped, integer ids kept), ``date``
    (datetime64), ``amount`` (float64), ``order`` and the mapped categorical columns, plus the
    data-quality record. ``returns`` says what negative amounts are: ``net`` (kept, so they
    reduce the customer's revenue), ``drop`` or ``error``. ``duplicates`` handles fully
    identical rows. ``reader`` gives the decimal and thousands separators of text amounts
    and the share of unparseable rows that may be dropped. ``min_customers`` is 2 to fit a
    segmentation and 1 to score with a saved one (one customer is a valid batch).
    """
    reader = reader or ReaderOptions()
    check_policy("returns", returns, RETURN_POLICIES)
    check_policy("duplicates", duplicates, DUPLICATE_POLICIES)
    expected = [columns.customer, columns.date, columns.amount, *columns.categorical,
                *columns.optional.values()]
    if columns.order:
        expected.append(columns.order)
    require_columns(frame, expected, source)
    if len(frame) == 0:
        raise TabularInputError(f"{source}: the table is empty (no data rows)")
    dq = DataQuality(source=source, rows_read=len(frame))
    out = _parsed_rows(frame, columns, source, strict, reader, dq)
    out = _handle_duplicates(out, duplicates, strict, expected, source, dq)
    out = _handle_returns(out, returns, source, dq)
    check_usable(len(out), int(out["customer"].nunique()),
                 out["customer"].iloc[0] if len(out) else None, source, dq, min_customers)
    return out, dq


def check_usable(rows: int, customers: int, first: Any, source: str, dq: DataQuality,
                 min_customers: int = 2) -> None:
    """Record the rows and customers left; refuse none, or fewer customers than
    ``min_customers`` (``first``: one of them, for the message). Shared by both engines."""
    if not rows:
        raise TabularInputError(
            f"{source}: no usable rows left after cleaning "
            f"({'; '.join(f'{n} rows: {r}' for _, r, n in dq.row_counts())})")
    dq.rows_used, dq.customers = int(rows), int(customers)
    if customers < min_customers:
        raise TabularInputError(
            f"{source}: only one customer ({first!r}) in the usable rows; "
            "segmentation needs at least two (check columns.customer)")


def check_dropped_share(dropped: int, total: int, reader: ReaderOptions, source: str,
                        dq: DataQuality) -> None:
    """Refuse a run that would silently lose more than ``reader.max_dropped_share`` of the
    rows as unparseable: that many bad rows means a wrong setting, not a few typos."""
    limit = float(reader.max_dropped_share)
    if total and dropped / total > limit:
        reasons = "; ".join(f"{n} rows: {r}" for r, n in dq.dropped.items())
        raise TabularInputError(
            f"{source}: {dropped} of {total} rows ({dropped / total:.0%}) cannot be parsed, "
            f"more than reader.max_dropped_share={limit:g} ({reasons}); fix the file or the "
            "columns.*/reader.* settings, or raise reader.max_dropped_share to drop them")


def check_policy(key: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise TabularInputError(f"{key} must be one of {tuple(allowed)}, not {value!r}")


def _all_text(values: pd.Series, parsed: pd.Series, column: str, source: str,
              what: str) -> None:
    """A column whose every non-empty value fails to parse holds text: say so, by name."""
    given = values.notna().to_numpy()
    examples = values[given].head(3).tolist()
    check_text_column(int(given.sum()), int(parsed.notna().to_numpy()[given].sum()), examples,
                      column, source, what)


def check_text_column(given: int, parsed: int, examples: Sequence[Any], column: str,
                      source: str, what: str) -> None:
    """Refuse a column with no values, or whose ``given`` values all fail to parse (none of
    them ``parsed``): the wrong column is mapped. Shared by both engines."""
    if not given:
        raise TabularInputError(f"{source}: column '{column}' has no values (every entry is "
                                "empty or a missing-value marker such as NA)")
    if not parsed:
        raise TabularInputError(
            f"{source}: column '{column}' holds text, not {what} (e.g. "
            f"{', '.join(repr(v) for v in examples)}); map the right column with "
            f"columns.<role>=<name> or fix the file")


def _parsed_rows(frame: pd.DataFrame, columns: ColumnMap, source: str, strict: bool,
                 reader: ReaderOptions, dq: DataQuality) -> pd.DataFrame:
    """Customer, date, amount (and order, categoricals) of the rows that parse."""
    total = len(frame)
    customer = frame[columns.customer]
    no_customer = customer.isna()
    if customer.dtype.kind in "OUT" or isinstance(customer.dtype, pd.StringDtype):
        no_customer |= customer.astype("string").str.strip().eq("").fillna(True)
    dates, dq.date_formats = parse_dates_by_format(frame[columns.date], columns.date_format)
    amounts = parse_amounts(frame[columns.amount], reader.decimal, reader.thousands)
    _all_text(frame[columns.date], dates, columns.date, source, "dates")
    _all_text(frame[columns.amount], amounts, columns.amount, source, "numbers")
    # each dropped row is counted once, under the first of these reasons that applies
    no_customer = no_customer.to_numpy()
    bad_date = dates.isna().to_numpy() & ~no_customer
    bad_amount = ((amounts.isna() | ~np.isfinite(amounts.fillna(0.0))).to_numpy()
                  & ~no_customer & ~bad_date)
    bad_rows(int(no_customer.sum()), total, "no customer id", source, strict, dq)
    fmt = f" with date_format {columns.date_format!r}" if columns.date_format else ""
    bad_rows(int(bad_date.sum()), total, f"unparseable dates{fmt} in column '{columns.date}'",
              source, strict, dq, frame[columns.date][bad_date].head(3).tolist())
    bad_rows(int(bad_amount.sum()), total, f"unparseable amounts in column '{columns.amount}'",
              source, strict, dq, frame[columns.amount][bad_amount].head(3).tolist())
    keep = ~(no_customer | bad_date | bad_amount)
    check_dropped_share(int((~keep).sum()), total, reader, source, dq)
    out = pd.DataFrame({
        "customer": _ids(customer[keep]),
        "date": dates[keep].to_numpy(),
        "amount": amounts[keep].to_numpy(),
    })
    if columns.order:
        out["order"] = frame[columns.order][keep].astype("str").to_numpy()
    for col in columns.categorical:
        out[col] = _category_values(frame[col][keep])
    for role, col in columns.optional.items():
        values = frame[col][keep]
        if role in ("category", "channel"):
            out[role] = _category_values(values)
        else:  # an amount or a flag; empty means none
            out[role] = _flag_or_amount(values, col, source, reader)
    return out


def _flag_or_amount(values: pd.Series, column: str, source: str,
                    reader: ReaderOptions) -> np.ndarray:
    """Numbers as they are, true/yes as 1 and false/no as 0, empty as 0."""
    if values.dtype.kind == "b":
        return values.astype("float64").to_numpy()
    words = values.astype("string").str.strip().str.lower().map(FLAG_WORDS)
    numbers = parse_amounts(values, reader.decimal, reader.thousands)
    parsed = numbers.fillna(pd.Series(words, index=values.index).astype("float64"))
    given = values.notna() & values.astype("string").str.strip().ne("")
    if given.any() and parsed[given.to_numpy()].isna().all():
        _all_text(values[given], parsed[given], column, source, "numbers or yes/no flags")
    return parsed.fillna(0.0).to_numpy(dtype="float64")


def _handle_duplicates(out: pd.DataFrame, duplicates: str, strict: bool,
                       expected: Sequence[str], source: str, dq: DataQuality) -> pd.DataFrame:
    if duplicates == "keep":
        return out
    dup = duplicate_rows(out)
    if drop_duplicates(int(dup.sum()), duplicates, strict, expected, source, dq):
        out = out[~dup].reset_index(drop=True)
    return out


def drop_duplicates(n_dup: int, duplicates: str, strict: bool, expected: Sequence[str],
                    source: str, dq: DataQuality) -> bool:
    """Whether to drop the ``n_dup`` duplicate rows (counted in ``dq``); refuses them under
    ``duplicates=error`` or ``strict``. Shared by both engines."""
    if not n_dup or duplicates == "keep":
        return False
    if duplicates == "error" or strict:
        raise TabularInputError(
            f"{source}: {n_dup} duplicate rows (identical in {list(expected)}); set "
            "duplicates=drop to drop them or duplicates=keep if they are real repeat orders")
    dq.drop("duplicate rows (duplicates=drop)", n_dup)
    return True


def _handle_returns(out: pd.DataFrame, returns: str, source: str,
                    dq: DataQuality) -> pd.DataFrame:
    negative = out["amount"].to_numpy() < 0
    if drop_returns(int(negative.sum()), returns, source, dq):
        return out[~negative].reset_index(drop=True)
    return out


def drop_returns(n_neg: int, returns: str, source: str, dq: DataQuality) -> bool:
    """Whether to drop the ``n_neg`` rows with negative amounts (``returns=drop``); counts
    them as dropped or netted in ``dq``, refuses them under ``returns=error``. Shared by both
    engines."""
    if not n_neg:
        return False
    if returns == "error":
        raise TabularInputError(
            f"{source}: {n_neg} rows have negative amounts (returns); set returns=net to "
            "subtract them from the customer's revenue or returns=drop to ignore them")
    if returns == "drop":
        dq.drop("negative amounts (returns; returns=drop)", n_neg)
        return True
    dq.adjust("negative amounts netted against revenue as returns (returns=net)", n_neg)
    return False


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
    reader: ReaderOptions | None = None, min_customers: int = 2,
) -> tuple[pd.DataFrame, DataQuality]:
    """Validate an already aggregated customer table (one row per customer).

    Returns a frame indexed by customer id holding the numeric columns as float64 and
    the categorical ones as str. Rows with unparseable numbers are dropped and counted (up
    to ``reader.max_dropped_share``); ``min_customers`` is 1 when scoring.
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
    bad_rows(int(no_id.sum()), total, "no customer id", source, strict, dq)
    keep = ~no_id
    numeric = {}
    for col in numeric_columns:
        values = parse_amounts(frame[col], reader.decimal, reader.thousands)
        _all_text(frame[col], values, col, source, "numbers")
        bad = (values.isna() & frame[col].notna()).to_numpy() | ~np.isfinite(values.fillna(0.0))
        bad_rows(int(bad.sum()), total, f"unparseable numbers in column '{col}'", source,
                  strict, dq, frame[col][bad].head(3).tolist())
        keep &= ~bad
        numeric[col] = values
    check_dropped_share(int((~keep).sum()), total, reader, source, dq)
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
    if len(out) < min_customers:
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
