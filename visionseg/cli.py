"""Shared command-line behaviour: user errors become one clear message and exit code 2.

Every error a user can fix (a setting, a file, a checkpoint, a data set) derives from
:class:`visionseg.core.errors.UserError`, so one handler serves every entry point,
the tabular side included, without importing the apps.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from visionseg.core.errors import UserError

EXIT_USER_ERROR = 2

log = logging.getLogger("visionseg")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors caused by input (data, checkpoints, weights, settings) into one
    ``error:`` line on stderr and exit code 2, not a traceback."""
    try:
        yield
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None


def check_arguments(argv: list[str]) -> None:
    """Command-line group choices that name no config file: one ``error:`` line, exit 2."""
    from visionseg.registry import check_group_choices

    with user_errors():
        check_group_choices(argv)
