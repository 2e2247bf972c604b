"""Build methods and post-processing chains by name from ``configs/method`` and
``configs/postprocess``, the same way in infer.py, evaluate.py and train.py."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import OmegaConf

from visionseg.core.errors import ConfigError

# Command-line keys that name a Hydra config group folder (so Hydra would take them for a
# group choice) -> the config key that holds them.
ALIASES = {"postprocess": "chains"}


def apply_aliases(argv: Sequence[str], aliases: dict[str, str] | None = None) -> list[str]:
    """``postprocess=[a,b]`` -> ``chains=[a,b]``: the config key for a name Hydra reserves."""
    aliases = ALIASES if aliases is None else aliases
    out = list(argv[:1])
    for arg in argv[1:]:
        key, sep, value = arg.partition("=")
        out.append(f"{aliases[key]}={value}" if sep and key in aliases else arg)
    return out


def config_dir() -> Path:
    """The project's ``configs/`` folder (next to train.py)."""
    root = os.environ.get("VISIONSEG_ROOT")
    base = Path(root) if root else Path(__file__).resolve().parents[1]
    return base / "configs"


def _load(group: str, name: str) -> Any:
    path = config_dir() / group / f"{name}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))
        raise ConfigError(f"{group}={name}: no {path}; available: {', '.join(available)}")
    return OmegaConf.load(path)


def build_baseline(name: str, classes: Sequence[str], **overrides: Any):
    """Instantiate ``configs/method/<name>.yaml`` as a Method for ``classes``."""
    cfg = _load("method", name)
    return instantiate(cfg, classes=list(classes), **overrides)


def build_chain(names: str | Iterable[str] | None):
    """Instantiate and concatenate ``configs/postprocess/<name>.yaml`` step lists."""
    from visionseg.postprocess.chain import Chain

    if names is None:
        names = []
    elif isinstance(names, str):
        names = [names]
    steps = []
    for name in names:
        steps.extend(instantiate(_load("postprocess", name)) or [])
    return Chain(steps)
