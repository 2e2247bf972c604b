"""Command-line checks shared by the top-level scripts (train.py, evaluate.py, infer.py,
serve.py, export.py), and the one user-error handler they use.

The handler itself, :func:`~visionseg.core.errors.user_errors` (one ``error:`` line, exit
code 2), lives in the core so that the ``python -m`` commands of lower layers
(``visionseg.data.convert``, ``visionseg.monitor``) use it too; it is re-exported here.
"""

from __future__ import annotations

from visionseg.core.errors import EXIT_USER_ERROR, exit_code, user_errors

__all__ = ["EXIT_USER_ERROR", "check_arguments", "exit_code", "user_errors"]


def check_arguments(argv: list[str]) -> None:
    """Command-line group choices that name no config file: one ``error:`` line, exit 2."""
    from visionseg.registry import check_group_choices

    with user_errors():
        check_group_choices(argv)
