"""Segment names from the documented rules: hand-made segments, uniqueness, returns-only
customers, and a user's own naming file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.naming import (
    NamingRules,
    name_segments,
    purchase_cycle,
    quintile_score,
)


def segment_table(specs: dict[int, dict[str, float]], size: int = 20) -> tuple[pd.DataFrame,
                                                                               np.ndarray]:
    """``size`` identical customers per segment with the given features."""
    rows, labels = [], []
    for seg, spec in specs.items():
        rows += [spec] * size
        labels += [seg] * size
    frame = pd.DataFrame(rows)
    frame["avg_order_value"] = frame["monetary"] / frame["frequency"]
    return frame, np.array(labels)


def names_of(features: pd.DataFrame, labels: np.ndarray, rules: NamingRules | None = None):
    z = pd.DataFrame(0.0, index=np.unique(labels), columns=features.columns)
    return name_segments(features, labels, z, rules or NamingRules.load())


def spec(recency, frequency, monetary, tenure=400.0, interpurchase=30.0):
    return {"recency_days": recency, "frequency": frequency, "monetary": monetary,
            "tenure_days": tenure, "interpurchase_days": interpurchase}


def test_purchase_cycle_and_quintile_scores_by_hand():
    features = pd.DataFrame({"frequency": [1, 2, 3, 5], "interpurchase_days": [400, 20, 30, 50],
                             "recency_days": [10, 20, 30, 40]})
    assert purchase_cycle(features) == 30.0  # median over repeat customers only
    assert quintile_score(pd.Series([1.0, 2, 3, 4, 5])).tolist() == [1, 2, 3, 4, 5]
    assert quintile_score(pd.Series([1.0, 2, 3, 4, 5]), higher_is_better=False).tolist() == \
        [5, 4, 3, 2, 1]


def test_rules_name_segments_against_the_purchase_cycle():
    features, labels = segment_table({
        0: spec(10, 12, 900),                      # recent, frequent, high spend
        1: spec(300, 2, 150, interpurchase=40),    # 10 cycles: gone
        2: spec(100, 6, 500),                      # 3.3 cycles, good spender: at risk
        3: spec(5, 1, 40, tenure=5, interpurchase=5),  # young one-order customers
        4: spec(20, 3, 60),                        # active, light
    })
    named = names_of(features, labels)
    cycle = purchase_cycle(features)
    assert cycle == 30.0
    assert {s: n.name for s, n in named.items()} == {
        0: "champions", 1: "dormant", 2: "valuable customers at risk", 3: "new customers",
        4: "active occasional buyers"}
    assert "recency ≤ 2 cycles (≤ 60 days)" in named[0].rule
    assert named[2].action.startswith("win them back")


def test_names_are_never_shared_and_returns_only_customers_are_named_so():
    features, labels = segment_table({
        0: spec(300, 9, 700), 1: spec(350, 1, 30, interpurchase=350),
        2: spec(20, 2, -45.0), 3: spec(15, 8, 800)})
    named = {s: n.name for s, n in names_of(features, labels).items()}
    assert named[2] == "net returners"
    assert len(set(named.values())) == len(named)
    # two dormant segments told apart by the first dimension that differs in words
    assert named[0] != named[1] and named[0].startswith(("lost high spenders", "dormant"))


def test_identical_looking_segments_get_distinct_names():
    features, labels = segment_table({0: spec(10, 5, 300), 1: spec(11, 5, 290)})
    named = {s: n.name for s, n in names_of(features, labels).items()}
    assert named[0] != named[1]
    assert named[0].startswith(named[1].split(" (")[0])


def test_a_user_naming_file(tmp_path):
    rules = tmp_path / "mine.yaml"
    rules.write_text("rules:\n  - name: big fish\n    when: {monetary: [500, null]}\n"
                     "    action: call them\n  - name: everyone else\n    action: newsletter\n")
    features, labels = segment_table({0: spec(10, 12, 900), 1: spec(20, 2, 50)})
    named = names_of(features, labels, NamingRules.load(rules))
    assert (named[0].name, named[0].action) == ("big fish", "call them")
    assert named[1].name == "everyone else" and "always" in named[1].rule
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    when: {monetary: [high, null]}\n")
    with pytest.raises(TabularInputError, match=r"bad.yaml: rule 'x' monetary must be"):
        NamingRules.load(bad)
    with pytest.raises(TabularInputError, match="naming.rules=.*missing.yaml: file not found"):
        NamingRules.load(tmp_path / "missing.yaml")


def test_when_no_words_differ_the_largest_relative_difference_names_them():
    from visionseg.tabular.naming import _rank_words

    medians = pd.DataFrame({"monetary": [44.0, 67.0], "recency_days": [464.0, 428.0],
                            "frequency": [2.0, 2.0]}, index=[4, 5])
    names = {4: "dormant", 5: "dormant"}
    _rank_words(names, "dormant", [4, 5], medians)
    assert names == {4: "dormant (lower spend)", 5: "dormant (higher spend)"}
