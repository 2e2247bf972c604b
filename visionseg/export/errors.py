"""Export and exported-model errors: one line, exit code 2."""

from __future__ import annotations

from visionseg.core.errors import UserError

#: What to install when onnx / onnxruntime are missing.
INSTALL_HINT = 'pip install -e ".[onnx]"'


class ExportError(UserError):
    """The model cannot be exported as asked, or an exported model cannot be used."""


def require_onnx(what: str, packages: tuple[str, ...] = ("onnx", "onnxruntime")) -> None:
    """ExportError naming the extra to install when one of ``packages`` is missing."""
    import importlib.util

    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        raise ExportError(f"{what} needs {' and '.join(missing)}, not installed here: "
                          f"{INSTALL_HINT}")
