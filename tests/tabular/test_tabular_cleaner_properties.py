"""Property-based tests of the transactions cleaner: whatever the table holds, it either
refuses it with a TabularInputError or returns clean rows, and every row read is either used
or counted as dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visionseg.tabular.cleaning import ColumnMap, clean_transactions
from visionseg.tabular.errors import TabularInputError

IDS = st.one_of(st.sampled_from(["a", "b", " c ", "d", "", None]), st.integers(0, 4))
DATES = st.one_of(st.dates(min_value=pd.Timestamp("2020-01-01").date(),
                           max_value=pd.Timestamp("2024-12-31").date()).map(str),
                  st.sampled_from(["not a date", "", "2024-02-30", None]))
AMOUNTS = st.one_of(st.floats(-500, 500), st.sampled_from([float("nan"), float("inf")]),
                    st.sampled_from(["$ 12.50", "abc", "", "-7", None]))
ROWS = st.lists(st.tuples(IDS, DATES, AMOUNTS), min_size=1, max_size=40)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def frame_of(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"], dtype=object)


@SETTINGS
@given(ROWS, st.sampled_from(["net", "drop"]), st.sampled_from(["drop", "keep"]))
def test_clean_rows_are_valid_and_every_row_is_accounted_for(rows, returns, duplicates):
    try:
        out, dq = clean_transactions(frame_of(rows), ColumnMap(), "t.csv", returns, duplicates)
    except TabularInputError as err:
        assert str(err).startswith("t.csv")
        return
    assert dq.rows_read == len(rows)
    assert dq.rows_used == len(out) == dq.rows_read - sum(dq.dropped.values())
    assert out["date"].notna().all()
    assert np.isfinite(out["amount"].to_numpy()).all()
    assert out["customer"].map(lambda c: str(c).strip() != "").all()
    assert dq.customers == out["customer"].nunique() >= 2
    if returns == "drop":
        assert (out["amount"] >= 0).all()
    else:
        assert dq.adjusted.get(next(iter(dq.adjusted), ""), 0) == int((out["amount"] < 0).sum())
    if duplicates == "drop":
        assert not out.duplicated().any()


@SETTINGS
@given(ROWS)
def test_strict_refuses_what_the_lenient_cleaner_drops(rows):
    try:
        _, lenient = clean_transactions(frame_of(rows), ColumnMap(), "t.csv")
    except TabularInputError:
        return
    try:
        clean_transactions(frame_of(rows), ColumnMap(), "t.csv", strict=True)
    except TabularInputError as err:
        assert "strict" in str(err) or "duplicate" in str(err)
        assert lenient.dropped
        return
    assert not lenient.dropped
