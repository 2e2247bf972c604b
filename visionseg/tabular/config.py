"""Composing the Hydra configs of the tabular CLIs and running them without tracebacks.

The configs live in ``configs/tabular`` of the repository (found from this file, so the CLIs
work from any working directory); command-line arguments are Hydra overrides
(``key=value``, ``algorithm=gmm``). The compose API is used instead of ``@hydra.main`` so a
run creates no ``outputs/`` folder or log files: the only files written are the outputs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from visionseg.tabular.errors import TabularInputError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "tabular"
EXIT_USER_ERROR = 2


def load_config(name: str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Compose ``configs/tabular/<name>.yaml`` with ``overrides``; a plain, resolved dict.

    Raises TabularInputError for unknown keys, bad override syntax or missing required keys.
    """
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=name, overrides=list(overrides))
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise TabularInputError(
                f"missing required setting(s): {', '.join(f'{m}=...' for m in missing)}")
        return OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise TabularInputError(f"bad configuration: {exc}") from None


def run_cli(task: Callable[[list[str]], int], argv: Sequence[str] | None, usage: str) -> int:
    """Run ``task(overrides)``; user errors print one message and return exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(usage)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return task(args)
    except TabularInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted; no output was written for this step", file=sys.stderr)
        return 130
