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


SEGMENTS = (
    PlantedSegment("high-value loyal", 0.2, (600, 730), (0, 10), 2.0, 150.0, "store"),
    PlantedSegment("new", 0.2, (20, 60), (0, 10), 2.0, 45.0, "app"),
    PlantedSegment("at risk", 0.2, (500, 730), (150, 220), 1.0, 80.0, "web"),
    PlantedSegment("dormant", 0.2, (600, 730), (420, 560), 0.4, 25.0, "web"),
    PlantedSegment("occasional", 0.2, (500, 730), (0, 30), 0.35, 15.0, "store"),
)
CHANNELS = ("store", "web", "app")


def planted_transactions(
    n_customers: int,
    seed: int = 0,
    end: str = "2024-12-31",
    segments: tuple[PlantedSegment, ...] = SEGMENTS,
    channel_noise: float = 0.2,
    id_prefix: str | None = "C",
) -> tuple[pd.DataFrame, pd.Series]:
    """Transactions (``customer_id``, ``date``, ``amount``, ``channel``) and the planted
    segment of every customer (a Series indexed by customer id).

    ``channel_noise`` is the share of orders whose channel is drawn at random instead of the
    segment's own. ``id_prefix=None`` gives integer ids (cheaper at ten million rows).
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
    order = rng.permutation(n_total)
    tx = tx.iloc[order].reset_index(drop=True)
    names = np.asarray([s.name for s in segments], dtype=object)
    return tx, pd.Series(names[truth], index=pd.Index(ids, name="customer"), name="planted")
