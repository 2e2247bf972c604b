"""Synthetic transactions with planted customer segments, for tests, demos and benchmarks.

Each planted segment has its own active period (when customers start and stop buying),
purchase rate and order value, so that its RFM profile is distinct: the segmentation should
recover the plant. Generation is vectorised: ten million rows take a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PlantedSegment:
    """A segment's behaviour; times are in days before the end of the data."""

    name: str
    weight: float
    start_days: tuple[float, float]
    stop_days: tuple[float, float]
    orders_per_month: float
    order_value: float
    channel: str
    discount_rate: float = 0.1
    return_rate: float = 0.03
    category: str = "home"


SEGMENTS = (
    PlantedSegment("high-value loyal", 0.2, (600, 730), (0, 10), 2.0, 150.0, "store"),
    PlantedSegment("new", 0.2, (20, 60), (0, 10), 2.0, 45.0, "app"),
    PlantedSegment("at risk", 0.2, (500, 730), (150, 220), 1.0, 80.0, "web"),
    PlantedSegment("dormant", 0.2, (600, 730), (420, 560), 0.4, 25.0, "web"),
    PlantedSegment("occasional", 0.2, (500, 730), (0, 30), 0.35, 15.0, "store"),
)
CHANNELS = ("store", "web", "app")
CATEGORIES = ("home", "fashion", "electronics", "garden")
DISCOUNT_HUNTERS = PlantedSegment("discount hunters", 0.2, (300, 600), (0, 20), 1.2, 40.0, "web",
                                  discount_rate=0.9, category="fashion")


def planted_transactions(
    n_customers: int,
    seed: int = 0,
    end: str = "2024-12-31",
    segments: tuple[PlantedSegment, ...] = SEGMENTS,
    channel_noise: float = 0.2,
    id_prefix: str | None = "C",
    extras: bool = False,
) -> tuple[pd.DataFrame, pd.Series]:
    """Transactions (``customer_id``, ``date``, ``amount``, ``channel``) and the planted
    segment of every customer (a Series indexed by customer id).

    ``channel_noise`` is the share of orders whose channel is drawn at random instead of the
    segment's own. ``id_prefix=None`` gives integer ids (cheaper at ten million rows).
    ``extras=True`` adds ``discount`` (amount off), ``returned`` (0/1) and ``category`` columns
    drawn with each segment's rates (its own category on 70% of the rows).
    """
    rng = np.random.default_rng(seed)
    weights = np.array([s.weight for s in segments], dtype=float)
    truth = rng.choice(len(segments), size=n_customers, p=weights / weights.sum())
    seg_start = np.array([s.start_days for s in segments])[truth]
    seg_stop = np.array([s.stop_days for s in segments])[truth]
    start = rng.uniform(seg_start[:, 0], seg_start[:, 1])
    stop = np.minimum(rng.uniform(seg_stop[:, 0], seg_stop[:, 1]), start)
    rate = np.array([s.orders_per_month for s in segments])[truth]
    expected = rate * (start - stop) / 30.4375
    n_orders = 1 + rng.poisson(np.maximum(expected - 1, 0))
    n_total = int(n_orders.sum())

    owner = np.repeat(np.arange(n_customers), n_orders)
    first_row = np.r_[0, np.cumsum(n_orders)[:-1]]
    position = np.arange(n_total) - np.repeat(first_row, n_orders)
    u = rng.uniform(size=n_total)
    u[position == 0] = 0.0
    last = position == np.repeat(n_orders - 1, n_orders)
    u[last & (position > 0)] = 1.0
    days_before_end = start[owner] - u * (start[owner] - stop[owner])
    end_ts = pd.Timestamp(end)
    dates = end_ts - pd.to_timedelta(np.floor(days_before_end).astype("int64"), unit="D")

    value = np.array([s.order_value for s in segments])[truth]
    amount = np.round(rng.lognormal(np.log(value[owner]), 0.3), 2)
    own_channel = np.array([CHANNELS.index(s.channel) for s in segments])[truth][owner]
    random_channel = rng.integers(0, len(CHANNELS), size=n_total)
    channel = np.where(rng.uniform(size=n_total) < channel_noise, random_channel, own_channel)

    ids = (np.char.add(id_prefix, np.char.zfill(np.arange(n_customers).astype(str), 7))
           if id_prefix is not None else np.arange(n_customers))
    tx = pd.DataFrame({
        "customer_id": ids[owner],
        "date": dates,
        "amount": amount,
        "channel": np.asarray(CHANNELS, dtype=object)[channel],
    })
    if extras:
        _add_extras(tx, rng, segments, truth[owner])
    order = rng.permutation(n_total)
    tx = tx.iloc[order].reset_index(drop=True)
    names = np.asarray([s.name for s in segments], dtype=object)
    return tx, pd.Series(names[truth], index=pd.Index(ids, name="customer"), name="planted")


def _add_extras(tx: pd.DataFrame, rng: np.random.Generator,
                segments: tuple[PlantedSegment, ...], seg_of_row: np.ndarray) -> None:
    n = len(tx)
    discounted = rng.uniform(size=n) < np.array([s.discount_rate for s in segments])[seg_of_row]
    tx["discount"] = np.where(discounted, np.round(tx["amount"] * 0.2, 2), 0.0)
    returned = rng.uniform(size=n) < np.array([s.return_rate for s in segments])[seg_of_row]
    tx["returned"] = returned.astype(int)
    own = np.array([CATEGORIES.index(s.category) for s in segments])[seg_of_row]
    other = rng.integers(0, len(CATEGORIES), size=n)
    tx["category"] = np.asarray(CATEGORIES, dtype=object)[
        np.where(rng.uniform(size=n) < 0.7, own, other)]
