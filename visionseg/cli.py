"""Shared command-line behaviour: user errors become one clear message and exit code 2."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from visionseg.core.errors import ConfigError
from visionseg.data.folder import DatasetError
from visionseg.inference.inputs import InputError
from visionseg.io.images import ImageReadError
from visionseg.models.checkpoint import CheckpointError
from visionseg.models.smp.network import WeightsUnavailableError

USER_ERRORS = (
    DatasetError,
    ImageReadError,
    CheckpointError,
    WeightsUnavailableError,
    ConfigError,
    InputError,
)

log = logging.getLogger("visionseg")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors caused by input (data, checkpoints, weights) into a message, not a trace."""
    try:
        yield
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
