"""Errors caused by what the user gave (a setting, a file): shown as one line, exit code 2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


class UserError(ValueError):
    """Base of every error a user can fix; the message names the setting or file."""


class ConfigError(UserError):
    """A configuration value that is out of range or names nothing usable."""


def reject_unknown(value: Mapping[str, Any], known: Iterable[str], node: str,
                   error: type[UserError] = ConfigError) -> None:
    """One clear error naming the keys of a config node that no setting has."""
    known = sorted(known)
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise error(f"unknown {node} setting(s) {unknown}; known: {known}")


def settings_from(cls: type[T], value: Mapping[str, Any] | None, node: str) -> T:
    """A settings dataclass from a config mapping (None = the defaults); unknown keys are one
    error naming them, and the dataclass range-checks the values."""
    value = dict(value or {})
    reject_unknown(value, (f.name for f in fields(cls)), node)  # type: ignore[arg-type]
    return cls(**value)
