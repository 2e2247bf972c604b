"""Errors caused by what the user gave (a setting, a file): shown as one line, exit code 2."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")

#: Exit code of every command on a user error.
EXIT_USER_ERROR = 2


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


def report_user_error(err: BaseException) -> int:
    """Print ``error: <err>`` on stderr; returns :data:`EXIT_USER_ERROR`."""
    print(f"error: {err}", file=sys.stderr)
    return EXIT_USER_ERROR


@contextlib.contextmanager
def user_errors(*also: type[BaseException]) -> Iterator[None]:
    """The one handler of every entry point: a :class:`UserError` (or one of ``also``, e.g.
    ``OSError`` for a command whose files are all the user's) becomes one ``error:`` line on
    stderr and ``SystemExit(2)``, not a traceback."""
    try:
        yield
    except (UserError, *also) as err:
        raise SystemExit(report_user_error(err)) from None


def exit_code(task: Callable[[], int], *also: type[BaseException]) -> int:
    """``task()``'s exit code, or 2 after one ``error:`` line (:func:`user_errors`): for the
    ``python -m`` commands, whose ``main`` returns its code."""
    try:
        with user_errors(*also):
            return task()
    except SystemExit as stop:
        return int(stop.code or 0)
