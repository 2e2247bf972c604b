"""Where a chosen rule goes: a decision YAML, a calibrated checkpoint, and which rule wins.

A calibrated checkpoint is the source checkpoint whose model card has ``decision`` set to
the chosen rule and ``calibration`` saying how it was chosen; evaluate.py, infer.py,
serve.py and export.py use that rule with no extra flags. A rule given on the command
line (``decision.*`` or ``decision=NAME``) replaces the carried rule as a whole: the user's
explicit word wins (:func:`visionseg.export.loader.rule_for_run` decides and logs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from visionseg.core.verdict import PartRule
from visionseg.io.atomic import write_text


def write_rule_yaml(path: str | os.PathLike, rule: PartRule, comment: Sequence[str] = ()) -> Path:
    """The rule as a ``configs/decision`` file (atomically), with ``comment`` lines on top."""
    head = "".join(f"# {line}\n" for line in comment)
    write_text(path, head + yaml.safe_dump(rule.to_dict(), sort_keys=False))
    return Path(path)


def write_calibrated_checkpoint(source: str | os.PathLike, target: str | os.PathLike,
                                rule: PartRule, provenance: Mapping[str, Any]) -> Path:
    """A copy of checkpoint ``source`` carrying ``rule``, written atomically to ``target``."""
    from visionseg.models.checkpoint import update_card

    update_card(source, target, decision=rule, calibration=dict(provenance))
    return Path(target)


@dataclass(frozen=True)
class RuleChoice:
    """The rule a run uses and where it came from (for the log and the summary)."""

    rule: PartRule
    source: str


def choose_rule(carried: PartRule | None, configured: PartRule, overridden: bool,
                carrier: str) -> RuleChoice:
    """The carried rule unless the command line set ``decision``; else the configured one."""
    if carried is None:
        return RuleChoice(configured, "config")
    if overridden:
        return RuleChoice(configured, f"command line (replaces the rule carried by {carrier})")
    return RuleChoice(carried, carrier)


def decision_overridden(argv: Sequence[str] | None = None) -> bool:
    """True when the command line sets the ``decision`` node or one of its keys: Hydra's
    task overrides while Hydra runs, else ``argv`` when given."""
    if argv is None:
        try:
            from hydra.core.hydra_config import HydraConfig

            argv = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
        except ImportError:  # pragma: no cover - hydra is a dependency
            argv = []
    keys = (a.partition("=")[0].lstrip("+~") for a in argv)
    return any(k == "decision" or k.startswith("decision.") for k in keys)
