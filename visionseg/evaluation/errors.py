"""User-facing evaluation errors: printed as one message by evaluate.py, no traceback."""


class EvaluationError(ValueError):
    """Evaluation cannot start as asked (settings, names, classes, overlapping splits)."""
