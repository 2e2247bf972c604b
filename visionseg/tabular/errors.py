"""The one error type for bad tabular input: the CLIs print its message, never a traceback."""

from __future__ import annotations


class TabularInputError(ValueError):
    """Input that cannot be segmented as asked; the message names the file and the problem."""
