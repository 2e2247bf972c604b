"""How a 16-bit image becomes the 8-bit image every method sees: one policy, four modes.

Real 16-bit files rarely use 0..65535: a 12-bit camera writes 0..4095, a microscope may
write 0..235. Mapping 0..65535 linearly makes those images almost black, so the default is:

- ``auto``: 0..2^bits-1, with ``bits`` the file's significant bits when it says (PNG
  ``sBIT``), else the fewest of 8, 10, 12, 14, 16 bits that hold its largest value. A
  training run resolves ``auto`` once over its whole training split into a fixed ``range``
  (one mapping for every image of that camera), stored in the checkpoint.
- ``range``: ``low..high`` fixed (``high=4095`` for a 12-bit camera): what to force.
- ``stretch``: the image's own 0.5-99.5 percentile range (contrast varies per image).
- ``full``: 0..65535 (what checkpoints written before this policy were trained with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from visionseg.core.errors import ConfigError, reject_unknown
from visionseg.core.method import Method
from visionseg.core.model_card import ModelCard

MODES = ("auto", "range", "stretch", "full")
STANDARD_BITS = (8, 10, 12, 14, 16)
STRETCH_PERCENTILES = (0.5, 99.5)


def bits_holding(maximum: int) -> int:
    """The fewest standard bit depths (8, 10, 12, 14, 16) that hold ``maximum``."""
    return next(b for b in STANDARD_BITS if maximum < 2**b)


@dataclass(frozen=True)
class Scale16:
    """A 16-bit to 8-bit policy (see the module docstring); ``low``/``high`` are used by
    ``range`` only. Range-checked when built."""

    mode: str = "auto"
    low: int = 0
    high: int = 65535

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"image16.mode must be one of {list(MODES)}, got {self.mode!r}")
        if not (isinstance(self.low, int) and isinstance(self.high, int)
                and 0 <= self.low < self.high <= 65535):
            raise ConfigError(
                "image16.low and image16.high must be integers with 0 <= low < high <= 65535,"
                f" got low {self.low!r} and high {self.high!r}"
            )

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None, default: Scale16 | None = None) -> Scale16:
        """From a config node; ``None`` (or ``mode: null``) gives ``default`` (auto)."""
        value = dict(value or {})
        reject_unknown(value, ("mode", "low", "high"), "image16")
        if value.get("mode") is None:
            return default or cls()
        return cls(**value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def resolved(self, maximum: int, bits: int | None = None) -> Scale16:
        """``auto`` fixed to a ``range`` for data whose largest value is ``maximum`` (and
        whose files declare ``bits`` significant bits, if any); other modes unchanged."""
        if self.mode != "auto":
            return self
        depth = max(bits or 0, bits_holding(int(maximum)))
        return Scale16("range", 0, 2**depth - 1)

    def apply(self, array: np.ndarray, bits: int | None = None) -> np.ndarray:
        """``array`` (uint16, any shape) as uint8; ``bits``: the file's significant bits."""
        if self.mode == "auto":
            return self.resolved(int(array.max(initial=0)), bits).apply(array)
        if self.mode == "stretch":
            lo, hi = np.percentile(array, STRETCH_PERCENTILES)
            low, high = int(lo), max(int(np.ceil(hi)), int(lo) + 1)
        elif self.mode == "full":
            low, high = 0, 65535
        else:
            low, high = self.low, self.high
        levels = np.arange(65536, dtype=np.float32)
        lut = np.clip((levels - low) * (255.0 / (high - low)) + 0.5, 0, 255).astype(np.uint8)
        return lut[array]


def png_significant_bits(data: np.ndarray | bytes) -> int | None:
    """The largest colour value of a PNG's ``sBIT`` chunk (bits a sensor really gave), or
    None for other formats and PNGs without one. Reads chunk headers up to the image data."""
    raw = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    if bytes(raw[:8]) != b"\x89PNG\r\n\x1a\n":
        return None
    pos = 8
    while pos + 8 <= len(raw):
        length = int.from_bytes(bytes(raw[pos : pos + 4]), "big")
        kind = bytes(raw[pos + 4 : pos + 8])
        if kind in (b"IDAT", b"IEND"):
            return None
        if kind == b"sBIT":
            colour = raw[pos + 8 : pos + 8 + (1 if length <= 2 else 3)]
            bits = int(colour.max(initial=0))
            return bits if 1 <= bits <= 16 else None
        pos += 12 + length
    return None


def card_scale16(card: ModelCard) -> Scale16:
    """How the model of ``card`` read its 16-bit training images: its ``image16``;
    ``full`` (0..65535) for models trained before the policy existed."""
    return Scale16.from_dict(card.image16) if card.image16 else Scale16("full")


def trained_scale16(method: Method) -> Scale16 | None:
    """How a trained model's training images were read (from the card it carries), or
    None for a method without a card (a baseline)."""
    return None if method.card is None else card_scale16(method.card)


def reading_policy(methods: Sequence[Method]) -> Scale16:
    """The one 16-bit policy to read a split with for ``methods`` evaluated together: the
    trained models' own (they must agree), else ``auto``."""
    policies = {p for p in map(trained_scale16, methods) if p is not None}
    if len(policies) > 1:
        raise ConfigError(
            "the checkpoints read 16-bit images differently "
            f"({sorted(str(p.to_dict()) for p in policies)}): evaluate them separately"
        )
    return policies.pop() if policies else Scale16()
