"""Customer features from transactions: RFM and the measures that put it in context.

All features are measured at an explicit reference date from the transactions of the
observation window ``[observation_start, reference_date)``:

- ``recency_days``: days from the last purchase to the reference date;
- ``frequency``: number of orders (rows, or distinct ``order`` ids when mapped);
- ``monetary``: net revenue (returns subtract when ``returns=net``), summed exactly at four
  decimals;
- ``tenure_days``: days from the first purchase to the reference date;
- ``orders_per_month``: orders per month of tenure (tenure floored at one month), so a
  customer who joined last month is not mistaken for a weak one;
- ``avg_order_value``: monetary / frequency;
- ``interpurchase_days``: mean days between consecutive orders; for a one-order customer the
  tenure (the gap so far without a second order, a lower bound of the true gap).

An optional validation window ``[reference_date, validation_end)`` follows: its
transactions never enter the features, they only say afterwards who came back and spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from visionseg.tabular.cleaning import DataQuality
from visionseg.tabular.errors import TabularInputError

FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "orders_per_month",
    "avg_order_value",
    "interpurchase_days",
)
DAYS_PER_MONTH = 365.25 / 12
AMOUNT_SCALE = 10_000  # revenue is summed exactly in units of 0.0001


def revenue_sums(amounts: pd.Series, grouped) -> np.ndarray:
    """Per group, the exact sum of the amounts at 4 decimals, rounded once to a double.

    Summing integers of 0.0001 makes the result independent of the order of the rows, so
    the Spark engine (an exact decimal sum) gives bit-identical revenue.
    """
    units = pd.Series(np.round(amounts.to_numpy(dtype="float64") * AMOUNT_SCALE)
                      .astype(np.int64), index=amounts.index)
    return units.groupby(grouped.ngroup(), sort=True).sum().to_numpy(dtype="float64") \
        / AMOUNT_SCALE


@dataclass(frozen=True)
class Windows:
    """The time windows of one run (validation_end is None without a validation window)."""

    reference_date: pd.Timestamp
    observation_start: pd.Timestamp | None = None
    validation_end: pd.Timestamp | None = None

    def describe(self) -> str:
        start = self.observation_start.date() if self.observation_start is not None else "start"
        text = f"observation [{start}, {self.reference_date.date()})"
        if self.validation_end is not None:
            text += f", validation [{self.reference_date.date()}, {self.validation_end.date()})"
        return text


def exclude_late_rows(tx: pd.DataFrame, quantile: float, max_gap_days: int, strict: bool,
                      source: str, dq: DataQuality) -> pd.DataFrame:
    """Drop rows dated more than ``max_gap_days`` after the ``quantile`` of all dates.

    A few rows keyed years ahead (a typo in the year, a test order) would otherwise move the
    default reference date and make every real customer look dormant. They are counted and
    excluded; with ``strict`` the run fails instead.
    """
    dates = tx["date"]
    cutoff = dates.quantile(quantile) + pd.Timedelta(days=int(max_gap_days))
    late = (dates > cutoff).to_numpy()
    n_late = int(late.sum())
    if not n_late:
        return tx
    account_late_rows(dq, n_late, cutoff, quantile, max_gap_days,
                      (dates[late].min(), dates[late].max()), source, strict)
    return tx[~late].reset_index(drop=True)


def account_late_rows(dq: DataQuality, n_late: int, cutoff: pd.Timestamp, quantile: float,
                      max_gap_days: int, span: tuple[pd.Timestamp, pd.Timestamp], source: str,
                      strict: bool) -> None:
    """The one message and accounting of rows dated after ``cutoff`` (both engines):
    refused under ``strict``, else dropped from ``dq``'s rows used."""
    text = (f"{n_late} rows dated after {cutoff.date()} ({max_gap_days} days past the "
            f"{quantile:.0%} quantile of the dates; the earliest {span[0].date()}, the latest "
            f"{span[1].date()})")
    if strict:
        raise TabularInputError(f"{source}: {text}; strict=true refuses them (fix the dates or "
                                "set strict=false to exclude them)")
    dq.drop(f"{text}: would have moved the reference date", n_late)
    dq.rows_used = max(dq.rows_used - n_late, 0)


def resolve_windows(
    dates: pd.Series,
    reference_date: str | pd.Timestamp | None = None,
    observation_months: int | None = None,
    validation_months: int = 0,
) -> Windows:
    """Fix the reference date and windows.

    Without ``reference_date`` it is the day after the last transaction, moved back by
    ``validation_months`` when a validation window is asked for (the last months are held out).
    """
    last = pd.Timestamp(dates.max())
    if reference_date is None:
        ref = last.normalize() + pd.Timedelta(days=1)
        if validation_months:
            ref = ref - pd.DateOffset(months=int(validation_months))
    else:
        try:
            ref = pd.Timestamp(reference_date)
        except (ValueError, TypeError):
            raise TabularInputError(
                f"features.reference_date={reference_date!r} is not a date") from None
    start = ref - pd.DateOffset(months=int(observation_months)) if observation_months else None
    end = ref + pd.DateOffset(months=int(validation_months)) if validation_months else None
    return Windows(reference_date=ref, observation_start=start, validation_end=end)


def split_windows(tx: pd.DataFrame, windows: Windows, source: str, min_customers: int = 2
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Transactions of the observation window and (if any) of the validation window.

    ``min_customers`` is 2 to fit a segmentation and 1 to score with a saved one."""
    dates = tx["date"]
    in_obs = dates < windows.reference_date
    if windows.observation_start is not None:
        in_obs &= dates >= windows.observation_start
    observed = tx[in_obs]
    if observed.empty:
        raise TabularInputError(
            f"{source}: no transactions in the {windows.describe()} (data span "
            f"{dates.min().date()} to {dates.max().date()}); check features.reference_date, "
            "features.observation_months and features.validation_months")
    if observed["customer"].nunique() < min_customers:
        raise TabularInputError(
            f"{source}: only one customer in the {windows.describe()}; segmentation needs two")
    validation = None
    if windows.validation_end is not None:
        validation = tx[(dates >= windows.reference_date) & (dates < windows.validation_end)]
    return observed, validation


def build_rfm(
    tx: pd.DataFrame, reference_date: pd.Timestamp, categorical: Sequence[str] = ()
) -> pd.DataFrame:
    """One row per customer (index ``customer``) with :data:`FEATURES` and categoricals.

    ``tx`` holds the cleaned columns ``customer``, ``date``, ``amount`` (and ``order``); every
    date must be before ``reference_date``.
    """
    modes = _modes(tx, categorical) if categorical else None
    if "order" in tx.columns:
        tx = (tx.groupby(["customer", "order"], sort=False, observed=True)
              .agg(date=("date", "min"), amount=("amount", "sum")).reset_index())
    grouped = tx.groupby("customer", sort=False)
    span = grouped["date"].agg(["min", "max"])
    customers = span.index
    frequency = grouped.size().to_numpy(dtype="float64")
    monetary = revenue_sums(tx["amount"], grouped)
    ref = np.datetime64(pd.Timestamp(reference_date).to_datetime64())
    day = np.timedelta64(1, "D")
    recency = (ref - span["max"].to_numpy()) / day
    tenure = (ref - span["min"].to_numpy()) / day
    with np.errstate(divide="ignore", invalid="ignore"):
        interpurchase = np.where(frequency > 1, (tenure - recency) / (frequency - 1), tenure)
    out = pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "monetary": monetary,
            "tenure_days": tenure,
            "orders_per_month": frequency / np.maximum(tenure / DAYS_PER_MONTH, 1.0),
            "avg_order_value": monetary / frequency,
            "interpurchase_days": interpurchase,
        },
        index=pd.Index(customers.to_numpy(), name="customer"),
    )
    if modes is not None:
        modes = modes.set_index("customer")
        for col in categorical:
            out[col] = modes[col].reindex(out.index).to_numpy(dtype=object)
    return out


def _modes(tx: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    """Each customer's most frequent value of each categorical column (ties: smallest value)."""
    result = pd.DataFrame({"customer": pd.unique(tx["customer"])})
    for col in categorical:
        counts = (tx.groupby(["customer", col], sort=True, observed=True).size()
                  .rename("n").reset_index()
                  .sort_values(["customer", "n"], ascending=[True, False], kind="stable")
                  .drop_duplicates("customer")[["customer", col]])
        result = result.merge(counts, on="customer", how="left")
    return result


def validation_outcomes(validation: pd.DataFrame | None, customers: pd.Index) -> pd.DataFrame:
    """Per customer of ``customers``: orders and revenue in the validation window, and active."""
    if validation is None:
        return pd.DataFrame(index=customers)
    grouped = validation.groupby("customer", sort=False).agg(
        validation_orders=("amount", "size"), validation_revenue=("amount", "sum"))
    grouped = grouped.reindex(customers, fill_value=0)
    grouped["validation_active"] = grouped["validation_orders"] > 0
    return grouped
