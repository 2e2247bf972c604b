"""The one error type for bad tabular input: the CLIs print its message, never a traceback.

It is a :class:`visionseg.core.errors.UserError`, so every handler of the package that turns
user errors into ``error: ...`` and exit code 2 covers it too.
"""

from __future__ import annotations

from visionseg.core.errors import UserError


class TabularInputError(UserError):
    """Input that cannot be segmented as asked; the message names the file and the problem."""
