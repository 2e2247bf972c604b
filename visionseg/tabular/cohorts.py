"""Cohort retention and order-value distributions, overall and per segment.

A cohort is the month of a customer's first purchase; month offset m counts calendar months
since then. The retention table gives, per cohort, the share of its customers who bought in
month m (m = 0 is 100% by definition). Months after the end of the data are left empty (NaN),
not counted as lost customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from visionseg.tabular.algorithms.base import NOISE


def _month_index(dates: pd.Series) -> np.ndarray:
    return (dates.dt.year.to_numpy(dtype=np.int64) * 12 + dates.dt.month.to_numpy(dtype=np.int64)
            - 1)


def retention_table(tx: pd.DataFrame, segments: pd.Series | None = None,
                    max_months: int = 12) -> pd.DataFrame:
    """Long-to-wide retention: one row per (segment, cohort) with ``customers`` and ``m0`` ..
    ``m{max_months}`` shares. ``segments`` maps customer id -> segment; without it the single
    segment is ``"all"``. Customers without a segment are left out."""
    codes, customers = pd.factorize(tx["customer"], sort=False)
    month = _month_index(tx["date"])
    first = np.full(len(customers), np.iinfo(np.int64).max)
    np.minimum.at(first, codes, month)
    offset = month - first[codes]
    keep = offset <= max_months
    pairs = np.sort(codes[keep].astype(np.int64) * (max_months + 1) + offset[keep])
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    cust, off = pairs // (max_months + 1), pairs % (max_months + 1)
    if segments is None:
        seg_of = np.zeros(len(customers), dtype=object)
        seg_of[:] = "all"
    else:
        seg_of = segments.reindex(customers).to_numpy(dtype=object)
    active = pd.DataFrame({"segment": seg_of[cust], "cohort": first[cust], "offset": off})
    active = active[pd.notna(active["segment"])]
    counts = active.groupby(["segment", "cohort", "offset"]).size().unstack("offset",
                                                                            fill_value=0)
    counts = counts.reindex(columns=range(max_months + 1), fill_value=0)
    size = counts[0]
    shares = counts.div(size.replace(0, np.nan), axis=0)
    cohort_of_row = shares.index.get_level_values("cohort").to_numpy()
    unobserved = cohort_of_row[:, None] + np.arange(max_months + 1)[None, :] > month.max()
    shares = shares.mask(unobserved)
    shares.columns = [f"m{m}" for m in shares.columns]
    shares.insert(0, "customers", size)
    shares = shares.reset_index()
    shares["cohort"] = [f"{c // 12:04d}-{c % 12 + 1:02d}" for c in shares["cohort"]]
    return shares


def order_values(tx: pd.DataFrame, segments: pd.Series, high_value: float = 100.0
                 ) -> pd.DataFrame:
    """Per segment: number of orders, order value mean and deciles/quartiles, and the share
    of orders above ``high_value``."""
    if "order" in tx.columns:
        tx = tx.groupby(["customer", "order"], sort=False).agg(amount=("amount", "sum"))
        tx = tx.reset_index()
    seg = segments.reindex(tx["customer"]).to_numpy()
    values = tx["amount"].to_numpy(dtype="float64")
    frame = pd.DataFrame({"segment": seg, "amount": values})
    frame = frame[pd.notna(frame["segment"])]
    grouped = frame.groupby("segment")["amount"]
    table = grouped.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
    table.columns = ["p10", "p25", "median", "p75", "p90"]
    table.insert(0, "mean", grouped.mean())
    table.insert(0, "orders", grouped.size())
    table[f"share_above_{high_value:g}"] = (frame["amount"] > high_value).groupby(
        frame["segment"]).mean()
    table.index.name = "segment"
    order = sorted(table.index, key=lambda s: (s == NOISE, s))
    return table.reindex(order).reset_index()
