"""What a calibration found for one method: stored in metrics.json, read by the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from visionseg.calibration.grid import Target
from visionseg.core.verdict import PartRule

#: Key of the calibration results in metrics.json.
METRICS_KEY = "calibration"


@dataclass
class PartCounts:
    """A part-level confusion matrix ``[[ok->OK, ok->NG], [ng->OK, ng->NG]]``."""

    matrix: list[list[int]]

    @property
    def good(self) -> int:
        return int(sum(self.matrix[0]))

    @property
    def defective(self) -> int:
        return int(sum(self.matrix[1]))

    @property
    def false_rejects(self) -> int:
        return int(self.matrix[0][1])

    @property
    def escapes(self) -> int:
        return int(self.matrix[1][0])

    @property
    def false_reject_rate(self) -> float:
        return self.false_rejects / self.good if self.good else float("nan")

    @property
    def escape_rate(self) -> float:
        return self.escapes / self.defective if self.defective else float("nan")

    @classmethod
    def of(cls, matrix: np.ndarray | list) -> PartCounts:
        return cls([[int(v) for v in row] for row in np.asarray(matrix).tolist()])


@dataclass
class MethodCalibration:
    """One method's sweep on the calibration split, its chosen rule, and the evaluated
    split's part counts under the configured rule and under the chosen one."""

    method: str
    target: Target
    split: str
    chain: str
    chosen: PartRule
    chosen_counts: PartCounts  # on the calibration split
    default_counts: PartCounts  # the configured rule, on the calibration split
    curve: list[tuple[float, float]]  # (false-reject rate, escape rate) per swept rule
    evaluated_split: str
    evaluated_default: PartCounts
    evaluated_chosen: PartCounts
    rule_file: str = ""
    checkpoint: str | None = None  # the calibrated checkpoint written, if any
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "target": {"kind": self.target.kind, "rate": self.target.rate},
            "split": self.split,
            "chain": self.chain,
            "chosen": self.chosen.to_dict(),
            "chosen_counts": self.chosen_counts.matrix,
            "default_counts": self.default_counts.matrix,
            "curve": [list(p) for p in self.curve],
            "evaluated_split": self.evaluated_split,
            "evaluated_default": self.evaluated_default.matrix,
            "evaluated_chosen": self.evaluated_chosen.matrix,
            "rule_file": self.rule_file,
            "checkpoint": self.checkpoint,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> MethodCalibration:
        return cls(
            method=str(value["method"]),
            target=Target(str(value["target"]["kind"]), float(value["target"]["rate"])),
            split=str(value["split"]),
            chain=str(value["chain"]),
            chosen=PartRule.from_dict(value["chosen"]),
            chosen_counts=PartCounts.of(value["chosen_counts"]),
            default_counts=PartCounts.of(value["default_counts"]),
            curve=[(float(a), float(b)) for a, b in value["curve"]],
            evaluated_split=str(value["evaluated_split"]),
            evaluated_default=PartCounts.of(value["evaluated_default"]),
            evaluated_chosen=PartCounts.of(value["evaluated_chosen"]),
            rule_file=str(value.get("rule_file") or ""),
            checkpoint=value.get("checkpoint"),
            notes=[str(n) for n in value.get("notes") or []],
        )
