"""The model card: everything a trained model carries to the line, typed and versioned.

A checkpoint keeps it in its ``visionseg`` section and an export copies it whole into
``model.json``; this module alone knows its keys. Version 1 is the free dict checkpoints
held before the card (no ``schema_version`` key): it is read by mapping its keys, so old
checkpoints still load. Any missing, unknown or mistyped field is one :class:`ModelCardError`
naming the field and where the card came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from visionseg.core.errors import UserError
from visionseg.core.tile_settings import TileSettings
from visionseg.core.verdict import PartRule

#: Bumped when a field changes meaning; 1 is the free dict written before the card.
SCHEMA_VERSION = 2
#: Model settings a checkpoint's method starts from (Mask R-CNN's thresholds).
METHOD_SETTINGS = ("score_threshold", "mask_threshold")


class ModelCardError(UserError):
    """A model card with a missing, unknown or mistyped field; the message names it."""


@dataclass(frozen=True)
class Provenance:
    """What wrote the card: package versions and when (UTC, ISO 8601)."""

    versions: dict[str, str | None]
    created: str


@dataclass(frozen=True)
class ModelCard:
    """What a trained model needs besides its weights, from training to the line.

    ``module``: the LightningModule class that wrote it; ``net``: its network config (with
    the normalisation ``mean``/``std``); ``image_size``: the training crop size;
    ``image16``: how 16-bit training images were read (``Scale16.to_dict()``; None: before
    the policy, 0..65535); ``tile``: the tiles an export was made for; ``decision``: the
    calibrated part rule (None: not calibrated) and ``calibration`` how it was chosen;
    ``drift_reference`` / ``expected_ng_rate``: the line reference (monitor's own dicts);
    ``method_settings``: defaults of the model's method (Mask R-CNN's thresholds).
    """

    module: str
    classes: list[str]
    net: dict[str, Any] = field(default_factory=dict)
    image_size: int | list[int] | None = None
    image16: dict[str, Any] | None = None
    tile: TileSettings | None = None
    decision: PartRule | None = None
    calibration: dict[str, Any] | None = None
    drift_reference: dict[str, Any] | None = None
    expected_ng_rate: dict[str, Any] | None = None
    method_settings: dict[str, float] = field(default_factory=dict)
    provenance: Provenance | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def mean(self) -> list[float] | None:
        """The normalisation mean (0..1 per channel) the network was trained with."""
        return self.net.get("mean")

    @property
    def std(self) -> list[float] | None:
        """The normalisation standard deviation the network was trained with."""
        return self.net.get("std")

    def with_changes(self, **changes: Any) -> ModelCard:
        """A copy with ``changes`` (typed field values), checked like a card that is read."""
        return ModelCard.from_dict(replace(self, **changes).to_dict(), "the changed model card")

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, numbers and strings: weights-only loading and JSON read it."""
        return {
            "schema_version": self.schema_version,
            "module": self.module,
            "classes": list(self.classes),
            "net": dict(self.net),
            "image_size": self.image_size,
            "image16": self.image16,
            "tile": None if self.tile is None else {
                "size": self.tile.size, "overlap": self.tile.overlap,
                "max_megapixels": self.tile.max_megapixels},
            "decision": None if self.decision is None else self.decision.to_dict(),
            "calibration": self.calibration,
            "drift_reference": self.drift_reference,
            "expected_ng_rate": self.expected_ng_rate,
            "method_settings": dict(self.method_settings),
            "provenance": None if self.provenance is None else {
                "versions": dict(self.provenance.versions), "created": self.provenance.created},
        }

    @classmethod
    def from_dict(cls, value: Any, where: str = "model card") -> ModelCard:
        """The card of ``value`` (version 1 or 2); ModelCardError naming a bad field."""
        if not isinstance(value, Mapping):
            raise ModelCardError(f"{where}: the model card is a {type(value).__name__}, "
                                 "not a mapping")
        version = value.get("schema_version", 1)
        if version == 1:
            value = _from_version_1(value)
        elif version != SCHEMA_VERSION:
            raise ModelCardError(f"{where}: model card schema_version {version!r}, this "
                                 f"visionseg reads 1 and {SCHEMA_VERSION}; update visionseg")
        _check_fields(value, where)
        return cls(
            module=value["module"], classes=list(value["classes"]), net=dict(value["net"]),
            image_size=value.get("image_size"), image16=value.get("image16"),
            tile=_typed(where, "tile", value.get("tile"), TileSettings.from_dict),
            decision=_typed(where, "decision", value.get("decision"), PartRule.from_dict),
            calibration=value.get("calibration"), drift_reference=value.get("drift_reference"),
            expected_ng_rate=value.get("expected_ng_rate"),
            method_settings=dict(value.get("method_settings") or {}),
            provenance=_typed(where, "provenance", value.get("provenance"),
                              lambda v: Provenance(dict(v["versions"]), str(v["created"]))),
        )


#: Every field: the types its value may have (``None`` in the tuple: optional).
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "module": (str,),
    "classes": (list, tuple),
    "net": (dict,),
    "image_size": (int, list, tuple, type(None)),
    "image16": (dict, type(None)),
    "tile": (dict, type(None)),
    "decision": (dict, type(None)),
    "calibration": (dict, type(None)),
    "drift_reference": (dict, type(None)),
    "expected_ng_rate": (dict, type(None)),
    "method_settings": (dict,),
    "provenance": (dict, type(None)),
}
REQUIRED = ("schema_version", "module", "classes", "net")


def _check_fields(value: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(value) - set(FIELD_TYPES))
    if unknown:
        raise ModelCardError(f"{where}: unknown model card field(s) {unknown}; known: "
                             f"{sorted(FIELD_TYPES)}")
    missing = [name for name in REQUIRED if name not in value]
    if missing:
        raise ModelCardError(f"{where}: model card lacks field(s) {missing}")
    for name, types in FIELD_TYPES.items():
        item = value.get(name)
        if isinstance(item, bool) or not isinstance(item, types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ModelCardError(f"{where}: model card field {name!r} must be {expected}, "
                                 f"got {type(item).__name__} {item!r:.60}")
    if not value["classes"] or not all(isinstance(c, str) for c in value["classes"]):
        raise ModelCardError(f"{where}: model card field 'classes' must be a non-empty list "
                             f"of names, got {value['classes']!r:.80}")


def _typed(where: str, name: str, value: Any, parse: Any) -> Any:
    """``parse(value)`` (None stays None), its errors as one ModelCardError naming ``name``."""
    if value is None:
        return None
    try:
        return parse(value)
    except (UserError, KeyError, TypeError, ValueError) as err:
        raise ModelCardError(f"{where}: model card field {name!r} is malformed: {err}") from err


def _from_version_1(value: Mapping[str, Any]) -> dict[str, Any]:
    """The free dict of checkpoints written before the card, as a version 2 card's fields;
    an absent ``image16`` means those checkpoints read 16-bit images as 0..65535."""
    old = dict(value)
    card: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "net": {}}
    card["method_settings"] = {k: old.pop(k) for k in METHOD_SETTINGS if k in old}
    old.pop("schema_version", None)
    card.update(old)
    return card

