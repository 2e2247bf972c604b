"""User-facing evaluation errors: printed as one message by evaluate.py, no traceback."""

from visionseg.core.errors import UserError


class EvaluationError(UserError):
    """Evaluation cannot start as asked (settings, names, classes, overlapping splits)."""
