"""Segment names from absolute, documented business rules (``configs/tabular/naming/``).

Every customer gets the classic RFM quintile scores (1..5 against all customers: 5 = most
recent, most frequent, highest spend) and its recency and tenure in **purchase cycles**: days
divided by the data's own cycle, the median days between orders of customers with two or
more orders. A segment is described by the medians of these fields; the first rule of the
naming file whose every condition holds names it and gives its action. Two segments never
share a name: the first ``distinguish`` dimension that tells them apart adds its words
("lapsing occasional buyers (frequent)" vs "(occasional)"). The rule text is kept with the
name so the report can show why a segment is called what it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from visionseg.tabular.algorithms.base import NOISE
from visionseg.tabular.errors import TabularInputError

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "configs" / "tabular" / "naming" / "rfm.yaml"
RFM = ("recency_days", "frequency", "monetary")
SCORE_FIELDS = ("recency_cycles", "tenure_cycles", "r_score", "f_score", "m_score")
FIELD_TEXT = {"recency_cycles": "recency", "tenure_cycles": "tenure", "r_score": "R score",
              "f_score": "F score", "m_score": "M score"}
NOISE_NAME = "noise (fits no segment)"
NOISE_ACTION = "review individually: these customers fit no segment"
Bounds = tuple[float | None, float | None]


@dataclass(frozen=True)
class Rule:
    name: str
    when: dict[str, Bounds]
    action: str


@dataclass(frozen=True)
class NamingRules:
    """The rules of one naming file, in order."""

    source: str
    rules: tuple[Rule, ...]
    distinguish: dict[str, dict[str, Bounds]]
    fallback_action: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> NamingRules:
        """Read and check a naming file; one clear line naming the file for any problem."""
        path = Path(path) if path else DEFAULT_RULES
        if not path.is_file():
            raise TabularInputError(f"naming.rules={path}: file not found")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise TabularInputError(f"naming.rules={path}: not valid YAML ({exc})") from None
        if not isinstance(raw, Mapping) or not isinstance(raw.get("rules"), list):
            raise TabularInputError(f"naming.rules={path}: needs a 'rules:' list")
        rules = tuple(_rule(item, path, i) for i, item in enumerate(raw["rules"]))
        distinguish = {str(field): {str(w): _bounds(b, path, f"distinguish.{field}.{w}")
                                    for w, b in dict(words).items()}
                       for field, words in dict(raw.get("distinguish") or {}).items()}
        return cls(str(path), rules, distinguish,
                   str(raw.get("fallback_action", "tailor offers to what sets them apart")))


def _bounds(value: Any, path: Path, where: str) -> Bounds:
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                  for v in value))
    if not ok:
        raise TabularInputError(f"naming.rules={path}: {where} must be [low, high] with numbers "
                                f"or null, not {value!r}")
    return (None if value[0] is None else float(value[0]),
            None if value[1] is None else float(value[1]))


def _rule(item: Any, path: Path, index: int) -> Rule:
    if not isinstance(item, Mapping) or not item.get("name"):
        raise TabularInputError(f"naming.rules={path}: rule {index + 1} needs a name")
    when = {str(field): _bounds(b, path, f"rule '{item['name']}' {field}")
            for field, b in dict(item.get("when") or {}).items()}
    return Rule(str(item["name"]), when, str(item.get("action", "")))


def purchase_cycle(features: pd.DataFrame) -> float:
    """Median days between orders of repeat customers (all customers' median recency if
    nobody ordered twice); the yardstick for recency and tenure."""
    repeat = features["frequency"] >= 2
    values = features.loc[repeat, "interpurchase_days"] if repeat.any() else \
        features["recency_days"]
    cycle = float(np.nanmedian(values.to_numpy(dtype="float64")))
    return cycle if cycle > 0 else 1.0


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1..5 by the customer's percentile rank (ties share a score)."""
    pct = values.rank(pct=True, method="average")
    score = np.clip(np.ceil(pct * 5), 1, 5)
    return score if higher_is_better else 6 - score


def customer_scores(features: pd.DataFrame) -> tuple[pd.DataFrame, float | None]:
    """The features plus the naming fields, and the purchase cycle (None without RFM)."""
    if any(c not in features for c in RFM):
        return features, None
    cycle = purchase_cycle(features) if "interpurchase_days" in features else 1.0
    out = features.copy()
    out["recency_cycles"] = features["recency_days"] / cycle
    if "tenure_days" in features:
        out["tenure_cycles"] = features["tenure_days"] / cycle
    out["r_score"] = quintile_score(features["recency_days"], higher_is_better=False)
    out["f_score"] = quintile_score(features["frequency"])
    out["m_score"] = quintile_score(features["monetary"])
    return out, cycle


def _holds(value: float, bounds: Bounds) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def rule_text(rule: Rule, cycle: float | None) -> str:
    """'recency <= 2 cycles (<= 73 days), F score >= 4' for the report."""
    parts = []
    for field, (low, high) in rule.when.items():
        label = FIELD_TEXT.get(field, field)
        unit = " cycles" if field.endswith("_cycles") else ""
        for sign, bound in (("≥", low), ("≤", high)):
            if bound is None:
                continue
            days = f" ({sign} {bound * cycle:.0f} days)" if unit and cycle else ""
            parts.append(f"{label} {sign} {bound:g}{unit}{days}")
    return f"rule '{rule.name}': " + (", ".join(parts) if parts else "always")


@dataclass(frozen=True)
class SegmentName:
    """A segment's name, suggested action and the rule it came from."""

    name: str
    action: str
    rule: str


def _first_rule(medians: pd.Series, rules: NamingRules) -> Rule | None:
    for rule in rules.rules:
        if all(f in medians and _holds(float(medians[f]), b) for f, b in rule.when.items()):
            return rule
    return None


def describe_z(z_row: pd.Series, top: int = 3) -> str:
    """'high monetary (+1.8 sd), low recency_days (-1.2 sd)' for the largest |z|."""
    order = z_row.abs().sort_values(ascending=False).index[:top]
    return ", ".join(f"{'high' if z_row[c] > 0 else 'low'} {c} ({z_row[c]:+.1f} sd)"
                     for c in order)


def _words(medians: pd.Series, words: Mapping[str, Bounds]) -> str | None:
    return next((w for w, b in words.items() if _holds(float(medians), b)), None)


def _disambiguate(names: dict[int, str], medians: pd.DataFrame, rules: NamingRules) -> None:
    """Give segments that share a name the first distinguishing words that differ."""
    for name in {n for n in names.values()}:
        group = [s for s, n in names.items() if n == name]
        if len(group) < 2:
            continue
        for field, words in rules.distinguish.items():
            if field not in medians:
                continue
            found = {s: _words(medians.loc[s, field], words) for s in group}
            if None not in found.values() and len(set(found.values())) == len(group):
                for s in group:
                    names[s] = f"{name} ({found[s]})"
                break
        else:  # nothing tells them apart in words: the measure where they differ most
            _rank_words(names, name, group, medians)


RANK_WORDS = {"monetary": ("higher spend", "lower spend", "spend"),
              "recency_days": ("more recent", "less recent", "recency"),
              "frequency": ("more orders", "fewer orders", "orders")}


def _rank_words(names: dict[int, str], name: str, group: list[int],
                medians: pd.DataFrame) -> None:
    """'(higher spend)' / '(lower spend)' on the measure with the largest relative spread."""
    fields = [f for f in RANK_WORDS if f in medians]
    if not fields:
        for i, s in enumerate(sorted(group)):
            names[s] = f"{name} (group {i + 1} of {len(group)})"
        return
    values = medians.loc[group, fields]
    spread = (values.max() - values.min()) / values.abs().max().replace(0, 1)
    field = str(spread.idxmax())
    high, low, noun = RANK_WORDS[field]
    ascending = field == "recency_days"  # fewer days is "more recent"
    order = values[field].sort_values(ascending=ascending).index
    for rank, s in enumerate(order):
        if len(group) == 2:
            names[s] = f"{name} ({high if rank == 0 else low})"
        else:
            names[s] = f"{name} ({noun} rank {rank + 1} of {len(group)})"


def name_segments(features: pd.DataFrame, labels: np.ndarray, z: pd.DataFrame,
                  rules: NamingRules) -> dict[int, SegmentName]:
    """``{segment: SegmentName}`` for every segment of ``labels`` (noise included)."""
    scored, cycle = customer_scores(features)
    numeric = scored.select_dtypes("number")
    medians = numeric.groupby(labels).median()
    names: dict[int, str] = {}
    chosen: dict[int, Rule | None] = {}
    for seg in medians.index:
        if seg == NOISE:
            continue
        rule = _first_rule(medians.loc[seg], rules) if cycle is not None else None
        chosen[int(seg)] = rule
        names[int(seg)] = rule.name if rule else describe_z(z.loc[seg], top=2)
    _disambiguate(names, medians, rules)
    result = {}
    for seg, name in names.items():
        rule = chosen[seg]
        if rule is not None:
            result[seg] = SegmentName(name, rule.action or rules.fallback_action,
                                      rule_text(rule, cycle))
        else:
            why = ("no rule of the naming file matched" if cycle is not None
                   else "no RFM features")
            result[seg] = SegmentName(name, f"{rules.fallback_action}: {name}",
                                      f"{why}; named after its most distinctive features")
    if NOISE in medians.index:
        result[NOISE] = SegmentName(NOISE_NAME, NOISE_ACTION, "density-based noise")
    return result


def segment_medians(features: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Per segment, the medians of the naming fields (for the report's naming table)."""
    scored, _ = customer_scores(features)
    cols = [c for c in ("recency_days", "recency_cycles", "frequency", "monetary",
                        "tenure_cycles", "r_score", "f_score", "m_score") if c in scored]
    return scored[cols].groupby(labels).median()

