"""RFM and the other customer features against a table computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.features import (
    build_rfm,
    resolve_windows,
    split_windows,
    validation_outcomes,
)

TX = pd.DataFrame({
    "customer": ["a", "a", "a", "b", "c", "c", "d"],
    "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-03-01", "2024-02-20",
                            "2024-02-01", "2024-02-05", "2024-03-10"]),
    "amount": [10.0, 20.0, 30.0, 5.0, 100.0, -40.0, 7.5],
    "channel": ["web", "store", "web", "app", "store", "store", "web"],
})


def test_rfm_matches_hand_computed_table():
    windows = resolve_windows(TX["date"])
    assert windows.reference_date == pd.Timestamp("2024-03-11")
    rfm = build_rfm(TX, windows.reference_date, ["channel"]).sort_index()
    # Hand computation, reference date 2024-03-11 (day after the last transaction):
    # a: orders 2024-01-01/01-11/03-01 -> recency 10, tenure 70, mean gap (60 days / 2) = 30
    # b: one order 2024-02-20 -> recency = tenure = 20, gap so far = tenure = 20
    # c: 02-01 and 02-05 (2024 is a leap year), 100 then a return of 40 -> net 60;
    #    recency 35, tenure 39, gap 4
    # d: one order 2024-03-10 -> recency = tenure = 1
    expected = pd.DataFrame({
        "recency_days": [10.0, 20.0, 35.0, 1.0],
        "frequency": [3.0, 1.0, 2.0, 1.0],
        "monetary": [60.0, 5.0, 60.0, 7.5],
        "tenure_days": [70.0, 20.0, 39.0, 1.0],
        "orders_per_month": [3 / (70 / 30.4375), 1.0, 2 / (39 / 30.4375), 1.0],
        "avg_order_value": [20.0, 5.0, 30.0, 7.5],
        "interpurchase_days": [30.0, 20.0, 4.0, 1.0],
    }, index=pd.Index(["a", "b", "c", "d"], name="customer"))
    pd.testing.assert_frame_equal(rfm[expected.columns], expected)
    assert rfm["channel"].tolist() == ["web", "app", "store", "web"]


def test_orders_group_rows_into_one_order():
    tx = TX.assign(order=["o1", "o1", "o2", "o3", "o4", "o5", "o6"])
    rfm = build_rfm(tx, pd.Timestamp("2024-03-11")).sort_index()
    # a's first two rows form order o1 (value 30, date 2024-01-01), o2 is the second order
    assert rfm.loc["a", "frequency"] == 2
    assert rfm.loc["a", "avg_order_value"] == 30.0
    assert rfm.loc["a", "interpurchase_days"] == 60.0


def test_windows_hold_out_validation_months():
    windows = resolve_windows(TX["date"], observation_months=2, validation_months=1)
    assert windows.reference_date == pd.Timestamp("2024-02-11")
    assert windows.observation_start == pd.Timestamp("2023-12-11")
    assert windows.validation_end == pd.Timestamp("2024-03-11")
    observed, validation = split_windows(TX, windows, "tx.csv")
    assert observed["date"].max() < windows.reference_date
    assert sorted(validation["customer"]) == ["a", "b", "d"]
    rfm = build_rfm(observed, windows.reference_date)
    outcomes = validation_outcomes(validation, rfm.index)
    # observed: a (01-01, 01-11) and c (02-01, 02-05); only a buys again (03-01, 30.0);
    # b and d first buy inside the validation window, so they are not segmented
    assert sorted(rfm.index) == ["a", "c"]
    assert rfm.loc["a", "recency_days"] == 31.0
    assert outcomes.loc["a", "validation_revenue"] == 30.0
    assert bool(outcomes.loc["a", "validation_active"])
    assert not bool(outcomes.loc["c", "validation_active"])
    assert outcomes.loc["c", "validation_revenue"] == 0.0


def test_empty_observation_window_is_a_clear_error():
    windows = resolve_windows(TX["date"], reference_date="2023-06-01")
    with pytest.raises(TabularInputError, match="no transactions in the observation"):
        split_windows(TX, windows, "tx.csv")


def test_datetime_resolution_does_not_matter():
    """pandas 3 reads datetime64[us]; the same dates in [ns] or [s] give the same features."""
    ref = pd.Timestamp("2024-03-11")
    base = build_rfm(TX, ref)
    for unit in ("s", "ns"):
        other = build_rfm(TX.assign(date=TX["date"].astype(f"datetime64[{unit}]")), ref)
        np.testing.assert_allclose(other.to_numpy(), base.to_numpy())
