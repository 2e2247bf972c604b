"""Optional columns (discount, returns, category, channel, a customer table) become features
that are clustered, profiled and named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visionseg.tabular.cleaning import ColumnMap, clean_transactions
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.extra_features import transaction_features
from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.score import main as score_main
from visionseg.tabular.synthetic import DISCOUNT_HUNTERS, SEGMENTS, planted_transactions

FAST = ["stability.rounds=0", "k_selection.gap_references=0", "report.sample=200",
        "k_selection.stability_rounds=0"]
COLUMNS = ["columns.discount=discount", "columns.returns=returned", "columns.category=category",
           "columns.channel=channel"]


def test_extra_features_by_hand():
    raw = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b"],
        "date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-05", "2024-01-06"],
        "amount": [10, 20, 30, 5, 5],
        "off": ["yes", "no", "", "2.5", "1"],
        "back": [0, 1, 0, 0, 0],
        "cat": ["x", "y", "x", "z", "z"],
    })
    columns = ColumnMap(discount="off", returns="back", category="cat")
    tx, _ = clean_transactions(raw, columns, "t.csv")
    features, extra = transaction_features(tx, columns, top_n=2)
    assert features.loc["a", "discount_share"] == pytest.approx(1 / 3)
    assert (features.loc["a", "discount_only"], features.loc["b", "discount_only"]) == (0, 1)
    assert features.loc["a", "return_rate"] == pytest.approx(1 / 3)
    assert features["category_count"].to_dict() == {"a": 2.0, "b": 1.0}
    assert extra.top_categories == ("x", "z")
    assert features.loc["a", "category_share_x"] == pytest.approx(2 / 3)
    assert features.loc["b", "category_share_z"] == 1.0
    with pytest.raises(TabularInputError, match="column 'cat' holds text, not numbers or yes/no"):
        clean_transactions(raw, ColumnMap(discount="cat"), "t.csv")


def test_optional_columns_drive_profiles_names_and_scoring(tmp_path, fit_cfg):
    segments = (*SEGMENTS[:3], DISCOUNT_HUNTERS)
    tx, truth = planted_transactions(400, seed=3, segments=segments, extras=True)
    path = tmp_path / "tx.csv"
    tx.to_csv(path, index=False)
    customers = truth.index.to_numpy()
    nps = np.where(truth.to_numpy() == "at risk", 3, 9)
    table = tmp_path / "customers.csv"
    pd.DataFrame({"customer_id": customers[:-10], "nps": nps[:-10],
                  "region": np.where(np.arange(len(customers) - 10) % 2, "north", "south")}
                 ).to_csv(table, index=False)
    result = fit_segmentation(fit_cfg(
        f"input={path}", *COLUMNS, f"customer_table.input={table}",
        "customer_table.numeric=[nps]", "customer_table.categorical=[region]", "k=4", *FAST))
    numeric = result.model.numeric
    assert {"discount_share", "discount_only", "return_rate", "category_count", "nps",
            "category_share_fashion", "channel_share_web"} <= set(numeric)
    assert "region" in result.model.categorical
    assert "discount_share_median" in result.profiles
    found = result.assignments.set_index("customer").loc[truth.index, "name"]
    majority = pd.crosstab(truth, found).idxmax(axis=1)
    assert majority["discount hunters"] == "discount hunters"
    assert majority["at risk"] == "unhappy customers"
    assert any("customer table" in note and "98%" in note for note in result.quality.notes)

    result.model.save(tmp_path / "model.joblib")
    scores = tmp_path / "scores.csv"
    assert score_main([f"model={tmp_path / 'model.joblib'}", f"input={path}",
                       f"output={scores}"]) == 0
    scored = pd.read_csv(scores).set_index("customer").sort_index()
    fitted = result.assignments.set_index("customer").sort_index()
    assert (scored["segment"] == fitted["segment"]).mean() > 0.99
