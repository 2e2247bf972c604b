"""Features beyond recency, frequency and money, from optional columns when they are mapped.

From the transactions of the observation window (shares are of rows, i.e. order lines):

- ``columns.discount`` (amount or flag): ``discount_share``, the share of rows bought with
  a discount, and ``discount_only``, 1 when every row was;
- ``columns.returns`` (flag or refunded amount): ``return_rate``, the share of rows returned;
- ``columns.category``: ``category_count``, distinct categories bought, and
  ``category_share_<c>`` for each of the ``features.top_categories`` most common ones;
- ``columns.channel``: ``channel_share_<c>`` for each of the ``features.top_categories`` most
  common channels.

A customer-level table (``customer_table.input``, joined on ``customer_table.key``) adds its
``numeric`` columns (age, support contacts, NPS, ...) and ``categorical`` columns (region,
acquisition channel, ...) as they are; customers missing from it get the median (numeric)
or "missing" (categorical) through the usual preprocessing. Every one of these features is
clustered, profiled, and can be used by the naming rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from visionseg.tabular.cleaning import ColumnMap, require_columns
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.io import ReaderOptions, parse_amounts, read_table


def _slug(value: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", str(value)).strip("_").lower() or "blank"


@dataclass(frozen=True)
class ExtraColumns:
    """Which extra features a fit built, so scoring builds the same ones."""

    top_categories: tuple[str, ...] = ()
    top_channels: tuple[str, ...] = ()
    table_numeric: tuple[str, ...] = ()
    table_categorical: tuple[str, ...] = ()


def _shares(tx: pd.DataFrame, role: str, keep: tuple[str, ...]) -> pd.DataFrame:
    rows = tx.groupby("customer", sort=False).size()
    out = {}
    for value in keep:
        hits = tx[role].eq(value).groupby(tx["customer"], sort=False).sum()
        out[f"{role}_share_{_slug(value)}"] = hits / rows
    return pd.DataFrame(out)


def transaction_features(tx: pd.DataFrame, columns: ColumnMap, top_n: int,
                         extra: ExtraColumns | None = None) -> tuple[pd.DataFrame, ExtraColumns]:
    """Per-customer extra features from the mapped optional columns (index = customer).

    ``extra`` fixes the categories and channels (scoring uses the fitted ones)."""
    grouped = tx.groupby("customer", sort=False)
    out = pd.DataFrame(index=grouped.size().index)
    roles = columns.optional
    if "discount" in roles:
        discounted = (tx["discount"] > 0).groupby(tx["customer"], sort=False)
        out["discount_share"] = discounted.mean()
        out["discount_only"] = discounted.all().astype("float64")
    if "returns" in roles:
        out["return_rate"] = (tx["returns"] > 0).groupby(tx["customer"], sort=False).mean()
    categories = channels = ()
    if "category" in roles:
        out["category_count"] = grouped["category"].nunique().astype("float64")
        categories = (extra.top_categories if extra else
                      tuple(tx["category"].value_counts().index[:top_n]))
        out = out.join(_shares(tx, "category", categories))
    if "channel" in roles:
        channels = (extra.top_channels if extra else
                    tuple(tx["channel"].value_counts().index[:top_n]))
        out = out.join(_shares(tx, "channel", channels))
    out.index.name = "customer"
    found = ExtraColumns(tuple(categories), tuple(channels),
                         extra.table_numeric if extra else (),
                         extra.table_categorical if extra else ())
    return out.astype("float64"), found


def join_customer_table(features: pd.DataFrame, tcfg: Mapping[str, Any]
                        ) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """``features`` with the customer table's columns joined on the customer id."""
    if not tcfg["input"]:
        return features, (), ()
    source = str(tcfg["input"])
    table = read_table(source, ReaderOptions())
    numeric = tuple(str(c) for c in tcfg["numeric"])
    categorical = tuple(str(c) for c in tcfg["categorical"])
    if not numeric and not categorical:
        raise TabularInputError(f"customer_table.input={source}: name its columns with "
                                "customer_table.numeric=[...] and/or customer_table.categorical")
    require_columns(table, [tcfg["key"], *numeric, *categorical], source)
    clash = sorted(set(numeric + categorical) & set(features.columns))
    if clash:
        raise TabularInputError(f"{source}: columns {clash} clash with built features; "
                                "rename them in the customer table")
    keys = table[tcfg["key"]]
    keys = keys.astype(features.index.dtype) if features.index.dtype.kind in "iu" and \
        keys.dtype.kind in "iuf" else keys.astype(str).str.strip()
    if keys.duplicated().any():
        raise TabularInputError(f"{source}: customer ids repeat in column '{tcfg['key']}'")
    joined = pd.DataFrame(index=pd.Index(keys.to_numpy(), name="customer"))
    for col in numeric:
        values = parse_amounts(table[col])
        if values.isna().all():
            raise TabularInputError(f"{source}: column '{col}' holds no numbers")
        joined[col] = values.to_numpy()
    for col in categorical:
        joined[col] = table[col].astype("string").fillna("missing").to_numpy(dtype=object)
    out = features.join(joined, how="left")
    for col in categorical:
        out[col] = out[col].fillna("missing")
    return out, numeric, categorical


def matched_share(features: pd.DataFrame, numeric: tuple[str, ...],
                  categorical: tuple[str, ...]) -> float:
    """Share of customers the customer table described."""
    if not numeric and not categorical:
        return float("nan")
    cols = list(numeric) or list(categorical)
    present = features[cols].notna().any(axis=1) if numeric else \
        features[cols].ne("missing").any(axis=1)
    return float(np.mean(present))
