"""Errors caused by what the user gave (a setting, a file): shown as one line, exit code 2."""

from __future__ import annotations


class UserError(ValueError):
    """Base of every error a user can fix; the message names the setting or file."""


class ConfigError(UserError):
    """A configuration value that is out of range or names nothing usable."""
